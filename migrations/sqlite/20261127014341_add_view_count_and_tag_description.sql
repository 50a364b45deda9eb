-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_posts" table
CREATE TABLE `new_posts` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `title` text NOT NULL, `body` text NOT NULL DEFAULT (''), `status` text NOT NULL DEFAULT ('draft'), `published_at` datetime NULL, `view_count` integer NOT NULL DEFAULT (0), `user_id` integer NOT NULL, CONSTRAINT `posts_users_posts` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE);
-- Copy rows from old table "posts" to new temporary table "new_posts"
INSERT INTO `new_posts` (`id`, `created_at`, `updated_at`, `title`, `body`, `status`, `published_at`, `user_id`) SELECT `id`, `created_at`, `updated_at`, `title`, `body`, `status`, `published_at`, `user_id` FROM `posts`;
-- Drop "posts" table after copying rows
DROP TABLE `posts`;
-- Rename temporary table "new_posts" to "posts"
ALTER TABLE `new_posts` RENAME TO `posts`;
-- Add column "description" to table: "tags"
ALTER TABLE `tags` ADD COLUMN `description` text NULL;
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
