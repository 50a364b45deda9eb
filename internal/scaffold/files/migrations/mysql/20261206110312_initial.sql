-- weber:flavor mariadb

-- Create "notes" table
CREATE TABLE `notes` (`id` bigint NOT NULL AUTO_INCREMENT, `title` varchar(200) NOT NULL, `body` longtext NOT NULL DEFAULT '', `created_at` timestamp NULL, PRIMARY KEY (`id`), INDEX `note_created_at` (`created_at`)) CHARSET utf8mb4 COLLATE utf8mb4_bin;
