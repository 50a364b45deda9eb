-- 20261206125757_publish_dated_drafts: the frozen data migration publish_dated_drafts, recorded for PostgreSQL
-- by `weberctl db revision --data publish_dated_drafts --frozen` from migrations/data/publish_dated_drafts.go.
-- Upgrades run these statements, in one transaction. Review them; once the
-- file is applied anywhere, never edit it: write a new one.
-- weber:touches posts.status, posts.updated_at

UPDATE "posts" SET "updated_at" = '2026-12-06 12:57:57.819018+00:00', "status" = 'published' WHERE "posts"."status" = 'draft' AND "posts"."published_at" IS NOT NULL;
