package data

import (
	"context"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/engine"
	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/ent/post"
)

// PublishDatedDrafts is the frozen data migration publish_dated_drafts: a
// post that has a publication date but is still a draft (the old editor
// set the date without the status) is published. `weberctl db revision
// --data publish_dated_drafts --frozen` recorded the statement this runs
// through the typed client, once per dialect, into the files
// migrations/*/20261206..._publish_dated_drafts.sql; upgrades run that SQL,
// not this code. (ent's UpdateDefault also sets updated_at: the recording
// holds the moment it was made, and the files declare the column.)
//
// It changes rows in bulk and reads none: there are no rows when it is
// recorded. Once its files are written it is not needed to upgrade
// anything: when a later change of the models stops it compiling, delete it
// and its line in data.go.
func PublishDatedDrafts() engine.DataMigration {
	return engine.DataMigration{Frozen: func(ctx context.Context, drv dialect.Driver) error {
		c := ent.NewClient(ent.Driver(drv))
		return c.Post.Update().
			Where(post.StatusEQ(post.StatusDraft), post.PublishedAtNotNil()).
			SetStatus(post.StatusPublished).
			Exec(ctx)
	}}
}
