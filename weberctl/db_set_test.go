package weberctl

import (
	"encoding/json"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/google/go-cmp/cmp"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/migdir"
)

// A DBA ran the second file by hand; `db set` records it without running
// it, `db history` shows it as set, and the next upgrade has nothing to do.
// A version whose schema the database does not have is refused unless
// --force.
func TestE2ESetRecordsWhatWasDoneByHand(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.env = devEnv()
		const first, second = "20261127011300", "20261127014341"
		if p.u.Dialect != dialect.SQLite {
			if _, err := dbconn.EnsureDatabase(t.Context(), p.u); err != nil {
				t.Fatal(err)
			}
		}
		p.must("db", "upgrade", "--to", first)
		runByHand(t, p, second)

		if r := p.run("db", "set", "0"); r.code != 1 || !strings.Contains(r.stderr, "the live schema is not the history's at an empty schema") {
			t.Fatalf("db set 0 on a database with tables: exit %d, %s: want a mismatch refusal", r.code, r.stderr)
		}
		if r := p.run("db", "set", "20261127014300"); r.code != 1 || !strings.Contains(r.stderr, "nearest: "+second) {
			t.Fatalf("db set of an unknown version: exit %d, %s: want the nearest version named", r.code, r.stderr)
		}
		r := p.must("db", "set", "--json", second)
		var v setView
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatal(err)
		}
		want := setView{Database: p.u.Redacted(), Dialect: p.u.Dialect, From: first, To: second, Marked: []string{second + "_add_view_count_and_tag_description.sql"},
			Unmarked: []string{}, Compared: true, Differences: []string{}}
		if diff := cmp.Diff(want, v); diff != "" {
			t.Errorf("db set --json (-want +got):\n%s", diff)
		}
		h := p.must("db", "history", "--json")
		var revs []revisionView
		if err := json.Unmarshal([]byte(h.stdout), &revs); err != nil {
			t.Fatal(err)
		}
		if len(revs) != 2 || revs[1].State != "set" || revs[0].State != "applied" {
			t.Errorf("history after db set: %+v: want the first applied, the second set", revs)
		}
		up := p.must("db", "upgrade", "--to", second)
		if !strings.Contains(up.stdout, "Nothing to do: the database is at version "+second) {
			t.Errorf("upgrade after db set:\n%s", up.stdout)
		}
		// Going back in the record with --force: the second file loses its
		// record, the schema is untouched.
		back := p.must("db", "set", "--force", first)
		if !strings.Contains(back.stdout, "no longer recorded (the next upgrade runs it): "+second) ||
			!strings.Contains(back.stdout, "Forced: the live schema differs") {
			t.Errorf("db set --force back:\n%s", back.stdout)
		}
		if n := p.historyLen(); n != 1 {
			t.Errorf("history has %d revisions after setting back to the first, want 1", n)
		}
	})
}

// runByHand runs the statements of the file with version v on the
// project's database, as a DBA with a client would.
func runByHand(t *testing.T, p *project, v string) {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(p.folder(), v+"_*.sql"))
	if len(matches) != 1 {
		t.Fatalf("no single file of version %s in %s", v, p.folder())
	}
	text, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := migdir.Statements(p.u.Dialect, string(text))
	if err != nil {
		t.Fatal(err)
	}
	db := p.open()
	for _, s := range stmts {
		if _, err := db.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
