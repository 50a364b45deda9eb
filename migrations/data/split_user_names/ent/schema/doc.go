// Package schema is a frozen copy of the example app's models (ent/schema)
// as they were at revision 20261206112152_add_user_name_parts, from which
// the snapshot client of the data migration split_user_names was
// generated. Never edit it: later model changes go to ent/schema only.
package schema
