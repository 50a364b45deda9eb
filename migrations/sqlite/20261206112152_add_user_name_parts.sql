-- Add column "first_name" to table: "users"
ALTER TABLE `users` ADD COLUMN `first_name` text NULL;
-- Add column "last_name" to table: "users"
ALTER TABLE `users` ADD COLUMN `last_name` text NULL;
