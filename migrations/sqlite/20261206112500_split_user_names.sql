-- weber:go split_user_names
-- weber:touches users.first_name, users.last_name

-- Fills first_name and last_name from name in batches, with the Go data
-- migration split_user_names (migrations/data/split_user_names.go).
