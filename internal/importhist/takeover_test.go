package importhist_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/importhist"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"github.com/weber-framework/weber/internal/upgrade"
)

// migrated returns a database where tool applied the first n steps of the
// history, and the imported Weber folder.
func migrated(t *testing.T, b testserver.Backend, tool string, n int) (*sql.DB, *dbconn.URL, *migdir.Dir) {
	t.Helper()
	steps := history(b.Name)
	dir, _ := importInto(t, tool, b.Name, writeHistory(t, tool, steps))
	db, u := testserver.NewEmpty(t, b, nil)
	applyAsTool(t, clientDB(t, b, u), b.Name, tool, steps, n)
	d, err := migdir.OpenDialect(dir, u.Dialect)
	must(t, err)
	return db, u, d
}

func exec(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
}

// noRevisions asserts that a refused take-over recorded nothing.
func noRevisions(t *testing.T, db *sql.DB, u *dbconn.URL) {
	t.Helper()
	store, err := revstore.New(u.Dialect)
	must(t, err)
	if ok, err := store.Exists(context.Background(), db); err != nil || ok {
		t.Fatalf("a refused take-over created %s (err %v)", revstore.Table, err)
	}
}

func TestTakeOverRefusals(t *testing.T) {
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		ctx := context.Background()

		t.Run("dirty golang-migrate", func(t *testing.T) {
			db, u, d := migrated(t, b, "golang-migrate", 2)
			exec(t, db, "UPDATE schema_migrations SET dirty = true")
			_, err := importhist.TakeOver(ctx, db, u, d, importhist.TakeOverOptions{Tool: importhist.GolangMigrate})
			refusal(t, err, importhist.KindDirty, "version 2", "dirty", "migrate force")
			noRevisions(t, db, u)
		})
		t.Run("golang-migrate at a version with no file", func(t *testing.T) {
			db, u, d := migrated(t, b, "golang-migrate", 2)
			exec(t, db, "UPDATE schema_migrations SET version = 7")
			_, err := importhist.TakeOver(ctx, db, u, d, importhist.TakeOverOptions{Tool: importhist.GolangMigrate})
			refusal(t, err, importhist.KindUnknownVersion, "version 7")
			noRevisions(t, db, u)
		})
		t.Run("golang-migrate with two rows", func(t *testing.T) {
			db, u, d := migrated(t, b, "golang-migrate", 2)
			exec(t, db, "INSERT INTO schema_migrations (version, dirty) VALUES (1, false)")
			_, err := importhist.TakeOver(ctx, db, u, d, importhist.TakeOverOptions{Tool: importhist.GolangMigrate})
			refusal(t, err, importhist.KindUnknownVersion, "2 rows")
			noRevisions(t, db, u)
		})
		t.Run("goose applied nothing", func(t *testing.T) {
			db, u, d := migrated(t, b, "goose", 0)
			res, err := importhist.TakeOver(ctx, db, u, d, importhist.TakeOverOptions{Tool: importhist.Goose})
			must(t, err)
			if len(res.Recorded) != 0 || res.AlreadyRecorded || len(res.Pending) != len(d.Files) {
				t.Fatalf("recorded %v (already %v), pending %v: want nothing recorded and every file pending", res.Recorded, res.AlreadyRecorded, res.Pending)
			}
			noRevisions(t, db, u)
		})
		t.Run("version not in the files", func(t *testing.T) {
			db, u, d := migrated(t, b, "dbmate", 2)
			exec(t, db, "INSERT INTO schema_migrations (version) VALUES ('20991231000000')")
			_, err := importhist.TakeOver(ctx, db, u, d, importhist.TakeOverOptions{Tool: importhist.Dbmate})
			refusal(t, err, importhist.KindUnknownVersion, "20991231000000", d.Path)
			noRevisions(t, db, u)
		})
		t.Run("no version table", func(t *testing.T) {
			db, u, d := migrated(t, b, "goose", 1)
			_, err := importhist.TakeOver(ctx, db, u, d, importhist.TakeOverOptions{Tool: importhist.Goose, Table: "goose_versions"})
			refusal(t, err, importhist.KindNoTable, "goose_versions", "--table")
			noRevisions(t, db, u)
		})
		t.Run("goose gap and rollback", func(t *testing.T) {
			// goose applied 1, 2, 3, then rolled 2 back (a row with
			// is_applied false): 2 is pending, behind 3.
			db, u, d := migrated(t, b, "goose", 3)
			exec(t, db, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (2, false)")
			res, err := importhist.TakeOver(ctx, db, u, d, importhist.TakeOverOptions{Tool: importhist.Goose})
			must(t, err)
			type took struct{ Recorded, Behind []string }
			want := took{[]string{d.Files[0].Name, d.Files[2].Name}, []string{d.Files[1].Name}}
			if diff := cmp.Diff(want, took{res.Recorded, res.Behind}); diff != "" {
				t.Fatalf("want files 1 and 3 recorded, 2 behind (-want +got):\n%s", diff)
			}
		})
		t.Run("a different Weber history", func(t *testing.T) {
			db, u, d := migrated(t, b, "golang-migrate", 3)
			_, err := upgrade.Upgrade(ctx, db, u, d.Path, upgrade.Options{Baseline: d.Files[0].Version, To: d.Files[0].Version})
			must(t, err)
			_, err = importhist.TakeOver(ctx, db, u, d, importhist.TakeOverOptions{Tool: importhist.GolangMigrate})
			refusal(t, err, importhist.KindHistory, d.Files[1].Name)
		})
	})
}
