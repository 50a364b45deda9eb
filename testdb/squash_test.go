package testdb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/revstore"
	"github.com/weber-framework/weber/internal/testdb/histgen"
)

// Test databases build from a squashed history: `db squash` replaced files
// 1-40 of a 50-file history by one file, and a test database gets every
// table, with the squashed file and files 41-50 recorded.
func TestSquashedHistoryBuildsTestDatabases(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	devURLs := map[string]string{}
	dialects := []string{plan.SQLite}
	for _, d := range []struct{ folder, ent string }{{plan.SQLite, dialect.SQLite}, {plan.Postgres, dialect.Postgres}, {plan.MySQL, dialect.MySQL}} {
		dir := filepath.Join(root, d.folder)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := histgen.Write(dir, d.ent, 50); err != nil {
			t.Fatal(err)
		}
		if d.folder == plan.SQLite {
			continue
		}
		for _, v := range []string{plan.DevURLVariable(d.folder), strings.Replace(plan.DevURLVariable(d.folder), "_DEV_", "_TEST_", 1)} {
			if u := os.Getenv(v); u != "" && devURLs[d.folder] == "" {
				devURLs[d.folder] = u
				dialects = append(dialects, d.folder)
			}
		}
	}
	if _, err := plan.Squash(t.Context(), plan.SquashOptions{Root: root, Dialects: dialects, DevURLs: devURLs, Through: "20260101000040"}); err != nil {
		t.Fatal(err)
	}
	Each(t, func(t *testing.T, db *DB) {
		if !tableExists(t, db, "t001") || !tableExists(t, db, "t039") || !tableExists(t, db, "t049") {
			t.Fatal("the test database lacks a table of the squashed or later files")
		}
		var n int
		var first string
		q := "SELECT COUNT(*), MIN(version) FROM " + revstore.Table
		if err := db.SQL.QueryRowContext(t.Context(), q).Scan(&n, &first); err != nil {
			t.Fatal(err)
		}
		squashed := false
		for _, d := range dialects {
			squashed = squashed || db.MigrationsDir == filepath.Join(root, d)
		}
		if squashed && (n != 11 || first != "20260101000040") {
			t.Errorf("the revision table holds %d rows from %s, want 11 from the squashed file 20260101000040", n, first)
		}
	}, Migrations(root))
}
