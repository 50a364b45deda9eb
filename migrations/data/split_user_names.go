package data

import (
	"context"
	"strings"

	"github.com/weber-framework/weber/engine"
	"github.com/weber-framework/weber/migrations/data/split_user_names/ent"
	"github.com/weber-framework/weber/migrations/data/split_user_names/ent/user"
)

// SplitUserNames fills users.first_name and users.last_name from
// users.name (revision split_user_names, `-- weber:go split_user_names`):
// the first word is the first name, the rest the last name. It walks the
// users by id, BatchSize at a time, with the client of its own snapshot
// (split_user_names/ent), so later changes to the models do not touch it.
func SplitUserNames() engine.DataMigration {
	return engine.DataMigration{BatchSize: 500, Batch: splitUserNames}
}

func splitUserNames(ctx context.Context, b engine.DataBatch) (engine.DataBatchDone, error) {
	c := ent.NewClient(ent.Driver(b.Driver))
	users, err := c.User.Query().
		Where(user.IDGT(int(b.After))).
		Order(ent.Asc(user.FieldID)).
		Limit(b.Size).
		Select(user.FieldID, user.FieldName).
		All(ctx)
	if err != nil {
		return engine.DataBatchDone{}, err
	}
	done := engine.DataBatchDone{Through: b.After, Done: len(users) < b.Size}
	for _, u := range users {
		first, last := SplitName(u.Name)
		if err := c.User.UpdateOneID(u.ID).SetFirstName(first).SetLastName(last).Exec(ctx); err != nil {
			return engine.DataBatchDone{}, err
		}
		done.Through, done.Rows = int64(u.ID), done.Rows+1
	}
	return done, nil
}

// SplitName splits a full name at its first run of spaces: "Ada King
// Lovelace" is "Ada" and "King Lovelace"; a single word has no last name.
func SplitName(name string) (first, last string) {
	first, last, _ = strings.Cut(strings.TrimSpace(name), " ")
	return first, strings.TrimSpace(last)
}
