-- Modify "users" table
ALTER TABLE "users" ADD COLUMN "first_name" character varying NULL, ADD COLUMN "last_name" character varying NULL;
