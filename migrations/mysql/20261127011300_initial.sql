-- Create "users" table
CREATE TABLE `users` (`id` bigint NOT NULL AUTO_INCREMENT, `created_at` timestamp NULL, `updated_at` timestamp NULL, `name` varchar(100) NOT NULL, `email` varchar(255) NOT NULL, `role` enum('member','admin') NOT NULL DEFAULT 'member', `bio` varchar(1000) NULL, PRIMARY KEY (`id`), UNIQUE INDEX `email` (`email`), INDEX `user_created_at` (`created_at`)) CHARSET utf8mb4 COLLATE utf8mb4_bin;
-- Create "posts" table
CREATE TABLE `posts` (`id` bigint NOT NULL AUTO_INCREMENT, `created_at` timestamp NULL, `updated_at` timestamp NULL, `title` varchar(200) NOT NULL, `body` longtext NOT NULL DEFAULT '', `status` enum('draft','published') NOT NULL DEFAULT 'draft', `published_at` timestamp NULL, `user_id` bigint NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `posts_users_posts` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE) CHARSET utf8mb4 COLLATE utf8mb4_bin;
-- Create "tags" table
CREATE TABLE `tags` (`id` bigint NOT NULL AUTO_INCREMENT, `name` varchar(50) NOT NULL, PRIMARY KEY (`id`), UNIQUE INDEX `name` (`name`)) CHARSET utf8mb4 COLLATE utf8mb4_bin;
-- Create "post_tags" table
CREATE TABLE `post_tags` (`post_id` bigint NOT NULL, `tag_id` bigint NOT NULL, PRIMARY KEY (`post_id`, `tag_id`), CONSTRAINT `post_tags_post_id` FOREIGN KEY (`post_id`) REFERENCES `posts` (`id`) ON DELETE CASCADE, CONSTRAINT `post_tags_tag_id` FOREIGN KEY (`tag_id`) REFERENCES `tags` (`id`) ON DELETE CASCADE) CHARSET utf8mb4 COLLATE utf8mb4_bin;
