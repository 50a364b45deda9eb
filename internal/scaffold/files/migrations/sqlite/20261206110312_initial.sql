-- Create "notes" table
CREATE TABLE `notes` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `title` text NOT NULL, `body` text NOT NULL DEFAULT '', `created_at` datetime NOT NULL);
-- Create index "note_created_at" to table: "notes"
CREATE INDEX `note_created_at` ON `notes` (`created_at`);
