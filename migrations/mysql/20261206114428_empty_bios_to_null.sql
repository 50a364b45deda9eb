-- A data migration in SQL (the small kind: see docs/migrations.md, "Data
-- migrations"): a bio left empty reads as no bio.
-- weber:touches users.bio

UPDATE `users` SET `bio` = NULL WHERE `bio` = '';
