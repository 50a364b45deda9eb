package data

import (
	"context"
	"strings"

	"entgo.io/ent/dialect/sql"

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
		// A backfill is no edit of the user: updated_at stays as it is
		// (ent's UpdateOne would set it to now, and `db verify` reports
		// a column the migration does not declare), so the update is
		// built with ent's SQL builder over the snapshot's names.
		q, args := sql.Dialect(b.Dialect).Update(user.Table).
			Set(user.FieldFirstName, first).Set(user.FieldLastName, last).
			Where(sql.EQ(user.FieldID, u.ID)).Query()
		if err := b.Driver.Exec(ctx, q, args, nil); err != nil {
			return engine.DataBatchDone{}, err
		}
		done.Through, done.Rows = int64(u.ID), done.Rows+1
	}
	return done, nil
}

// SplitName splits a full name at its first space: "Ada King Lovelace"
// is "Ada" and "King Lovelace"; a single word has an empty last name. Each
// part is cut to the 100 characters the columns hold (a name written
// before its validator was may be longer: `db verify` found one).
func SplitName(name string) (first, last string) {
	first, last, _ = strings.Cut(strings.TrimSpace(name), " ")
	return cut(first, 100), cut(strings.TrimSpace(last), 100)
}

// cut returns s's first n runes.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
