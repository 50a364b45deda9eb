-- Modify "users" table
ALTER TABLE `users` ADD COLUMN `first_name` varchar(100) NULL, ADD COLUMN `last_name` varchar(100) NULL, ALGORITHM=INSTANT;
