package devdb_test

import (
	"testing"

	"entgo.io/ent/dialect"
	"github.com/google/go-cmp/cmp"

	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/internal/devdb"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"github.com/weber-framework/weber/weberschema"
)

// A database that still has a table and a column under the names the
// models declare renamed (RenamedFrom) gets them renamed by ensure, with
// their rows, instead of an empty table and column created beside them.
func TestEnsureMakesDeclaredRenames(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		u := newURL(t, b)
		ctx := t.Context()
		if _, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables}); err != nil {
			t.Fatal(err)
		}
		db := open(t, u)
		insertUsers(t, db, u.Dialect, 3)
		exec(t, db, "UPDATE users SET bio = 'kept'")
		exec(t, db, "INSERT INTO tags (name) VALUES ('go')")
		// The database is older than the models: they renamed old_bio to
		// bio and old_tags to tags.
		exec(t, db, "ALTER TABLE users RENAME COLUMN bio TO old_bio")
		if u.Dialect == dialect.MySQL {
			exec(t, db, "RENAME TABLE tags TO old_tags")
		} else {
			exec(t, db, "ALTER TABLE tags RENAME TO old_tags")
		}
		renames := []weberschema.Rename{{From: "old_tags", To: "tags"}, {Table: "users", From: "old_bio", To: "bio"}}

		res, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables, Renames: renames})
		if err != nil {
			t.Fatalf("ensure: %v", err)
		}
		if diff := cmp.Diff([]string{"old_tags -> tags", "users.old_bio -> users.bio"}, res.Renamed); diff != "" {
			t.Errorf("renamed (-want +got):\n%s", diff)
		}
		if len(res.Tables) != 0 || len(res.Columns) != 0 {
			t.Errorf("ensure created tables %v and columns %v beside the renamed ones", res.Tables, res.Columns)
		}
		var kept, tags int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE bio = 'kept'").Scan(&kept); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM tags WHERE name = 'go'").Scan(&tags); err != nil {
			t.Fatal(err)
		}
		if kept != 3 || tags != 1 {
			t.Errorf("after the renames: %d users with their bio (want 3), %d tags (want 1)", kept, tags)
		}
		again, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables, Renames: renames})
		if err != nil || !again.NothingToDo() {
			t.Errorf("second ensure: %v, %+v", err, again)
		}
	})
}
