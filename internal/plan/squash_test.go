package plan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"
)

// writeSQLiteHistory writes files into root/sqlite with an atlas.sum.
func writeSQLiteHistory(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, SQLite)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ld, err := migrate.NewLocalDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for n, b := range files {
		if err := ld.WriteFile(n, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := ld.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.WriteSumFile(ld, sum); err != nil {
		t.Fatal(err)
	}
	return root
}

// What a squash cannot keep is refused before anything is written: rows
// written by a file (unless DropData, which reports them), and objects
// that are not tables. A squash through the first file is refused too.
func TestSquashRefusesWhatItCannotKeep(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"1_a.sql": "CREATE TABLE a (id integer NOT NULL PRIMARY KEY, name text NOT NULL);\n",
		"3_c.sql": "CREATE TABLE c (id integer NOT NULL PRIMARY KEY);\n",
	}
	for _, tc := range []struct {
		name, file, body string
		dropData         bool
		want             string // "" when the squash succeeds
	}{
		{"data", "2_b.sql", "INSERT INTO a (id, name) VALUES (1, 'x');\n", false, "writes rows"},
		{"data dropped", "2_b.sql", "INSERT INTO a (id, name) VALUES (1, 'x');\n", true, ""},
		{"view", "2_b.sql", "CREATE VIEW v AS SELECT id FROM a;\n", true, "is not a table change"},
		{"tables", "2_b.sql", "ALTER TABLE a ADD COLUMN extra text NULL;\nCREATE INDEX a_name ON a (name);\n", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{tc.file: tc.body}
			for k, v := range base {
				files[k] = v
			}
			root := writeSQLiteHistory(t, files)
			res, err := Squash(context.Background(), SquashOptions{Root: root, Dialects: []string{SQLite}, Through: "3", DropData: tc.dropData})
			got := sqlFiles(t, filepath.Join(root, SQLite))
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.file) {
					t.Fatalf("Squash: %v, want a refusal saying %q and naming %s", err, tc.want, tc.file)
				}
				if len(got) != 3 {
					t.Fatalf("a refused squash left %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			validate(t, filepath.Join(root, SQLite))
			d := res.Dialects[0]
			if len(got) != 1 || filepath.Base(got[0]) != "3_squashed.sql" || len(d.Removed) != 3 || (tc.dropData != (len(d.DroppedData) == 1)) {
				t.Fatalf("squash wrote %v, removed %v, dropped %v", got, d.Removed, d.DroppedData)
			}
		})
	}
	t.Run("first file", func(t *testing.T) {
		t.Parallel()
		root := writeSQLiteHistory(t, base)
		if _, err := Squash(context.Background(), SquashOptions{Root: root, Dialects: []string{SQLite}, Through: "1"}); err == nil || !strings.Contains(err.Error(), "nothing to squash") {
			t.Fatalf("Squash through the first file: %v", err)
		}
	})
}
