-- Modify "posts" table
ALTER TABLE `posts` ADD COLUMN `view_count` bigint NOT NULL DEFAULT 0;
-- Modify "tags" table
ALTER TABLE `tags` ADD COLUMN `description` varchar(500) NULL;
