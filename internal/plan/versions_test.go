package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/migdir"
)

// writeFolders lays out root/<folder>/<file> with a valid atlas.sum each.
func writeFolders(t *testing.T, files map[string][]string) string {
	t.Helper()
	root := t.TempDir()
	for folder, names := range files {
		dir := filepath.Join(root, folder)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("SELECT 1;\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := migdir.Rehash(dir); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestVersionProblems(t *testing.T) {
	t.Parallel()
	kept := []string{SQLite, Postgres, MySQL}
	cases := []struct {
		name  string
		files map[string][]string
		want  [][]string // per problem, in order: substrings it must hold
	}{
		{"agree", map[string][]string{
			"sqlite": {"1_a.sql", "2_b.sql"}, "postgres": {"1_a.sql", "2_b.sql"}, "mysql": {"1_a.sql", "2_b.sql"},
		}, nil},
		{"revised one at a time", map[string][]string{
			"sqlite": {"1_a.sql", "2_b.sql"}, "postgres": {"1_a.sql", "3_b.sql"}, "mysql": {"1_a.sql", "2_b.sql"},
		}, [][]string{
			{"version 2 (", "sqlite/2_b.sql", "mysql/2_b.sql) is missing from ", "/postgres: "},
			{"version 3 (", "postgres/3_b.sql) is missing from ", "/sqlite, ", "/mysql: "},
		}},
		{"another name", map[string][]string{
			"sqlite": {"1_a.sql"}, "postgres": {"1_a.sql"}, "mysql": {"1_other.sql"},
		}, [][]string{{"version 1 has different names", "mysql/1_other.sql"}}},
		{"a kept dialect never revised", map[string][]string{
			"sqlite": {"1_a.sql"}, "postgres": {"1_a.sql"},
		}, [][]string{{"version 1 (", ") is missing from ", "/mysql: "}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			root := writeFolders(t, c.files)
			got := versionProblems(root, kept)
			if len(got) != len(c.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(c.want), strings.Join(got, "\n"))
			}
			for i, subs := range c.want {
				for _, w := range subs {
					if !strings.Contains(got[i], w) {
						t.Errorf("problem %d = %q; want it to contain %q", i, got[i], w)
					}
				}
			}
		})
	}
}
