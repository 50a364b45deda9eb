// Package data holds the example app's data migrations written in Go, one
// file per migration, each with its own snapshot of the typed client (a
// folder named after the migration, generated from the models as they
// were at its revision), so that later model changes never break it.
// Migrations hands them to the engine by the names their
// `-- weber:go NAME` files give.
package data

import "github.com/weber-framework/weber/engine"

// Migrations returns the data migrations by name.
func Migrations() map[string]engine.DataMigration {
	return map[string]engine.DataMigration{
		"split_user_names":     SplitUserNames(),
		"publish_dated_drafts": PublishDatedDrafts(),
	}
}
