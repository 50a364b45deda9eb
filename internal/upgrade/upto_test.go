package upgrade

import (
	"fmt"
	"slices"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
)

// TestUpTo checks, by table, the choice of the files an upgrade runs from
// the directory, the recorded revisions and --to: no database is needed.
func TestUpTo(t *testing.T) {
	path := writeDir(t, dialect.SQLite,
		file{"1_a.sql", "CREATE TABLE a (id int);\n"},
		file{"2_b.sql", "CREATE TABLE b (id int);\nCREATE TABLE b2 (id int);\n"},
		file{"3_c.sql", "CREATE TABLE c (id int);\n"},
		file{"4_d.sql", "CREATE TABLE d (id int);\n"},
	)
	dir, err := migdir.OpenDialect(path, dialect.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	done := func(v string) *revstore.Revision {
		f := dir.Find(v)
		return &revstore.Revision{Version: v, Description: f.Description, Applied: len(f.Stmts), Total: len(f.Stmts), Hash: f.Hash}
	}
	partial := func(v string, applied int) *revstore.Revision {
		r := done(v)
		r.Applied, r.Error = applied, "boom"
		return r
	}
	cases := []struct {
		name  string
		revs  []*revstore.Revision
		to    string
		steps []string // version@first statement (1-based)
		left  []string
	}{
		{name: "fresh database, every file", steps: []string{"1@1", "2@1", "3@1", "4@1"}},
		{name: "fresh database, to 2", to: "2", steps: []string{"1@1", "2@1"}, left: []string{"3", "4"}},
		{name: "up to date", revs: []*revstore.Revision{done("1"), done("2"), done("3"), done("4")}},
		{name: "pending after the current", revs: []*revstore.Revision{done("1"), done("2")}, steps: []string{"3@1", "4@1"}},
		{name: "to the current version", revs: []*revstore.Revision{done("1"), done("2")}, to: "2", left: []string{"3", "4"}},
		{name: "partial resumed first", revs: []*revstore.Revision{done("1"), partial("2", 1)}, steps: []string{"2@2", "3@1", "4@1"}},
		{name: "partial resumed, to its version", revs: []*revstore.Revision{done("1"), partial("2", 1)}, to: "2", steps: []string{"2@2"}, left: []string{"3", "4"}},
		{name: "out of order among the pending", revs: []*revstore.Revision{done("1"), done("3")}, steps: []string{"2@1", "4@1"}},
		{name: "out of order, to stops before the newer", revs: []*revstore.Revision{done("1"), done("3")}, to: "3", steps: []string{"2@1"}, left: []string{"4"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			steps, left := upTo(analyze(dir, c.revs), c.to)
			var gotSteps, gotLeft []string
			for _, s := range steps {
				gotSteps = append(gotSteps, fmt.Sprintf("%s@%d", s.file.Version, s.from+1))
			}
			for _, f := range left {
				gotLeft = append(gotLeft, f.Version)
			}
			if !slices.Equal(gotSteps, c.steps) {
				t.Errorf("steps = %v, want %v", gotSteps, c.steps)
			}
			if !slices.Equal(gotLeft, c.left) {
				t.Errorf("left = %v, want %v", gotLeft, c.left)
			}
		})
	}
}
