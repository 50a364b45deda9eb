package weberctl

// ISSUE 13: `db seed` and `db reset`. Reset then seed twice gives the same
// rows, through the real binary on every backend; a production database
// is neither seeded nor reset without --force-production.

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// seedDump returns every row of the tables the example app's seed writes,
// every column included (timestamps too), one line per row.
func seedDump(t *testing.T, db *sql.DB) string {
	t.Helper()
	return testdb.Dump(t, db, testdb.SeedTables...)
}

func TestE2EResetThenSeedTwice(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "ensure")
		db := p.open()
		p.insertUsers(db, 2) // rows of the user's own, which reset removes
		db.Close()

		r := p.must("db", "reset", "--yes")
		for _, want := range []string{"Dropped ", "Upgraded ", "Seeded ", "created 3 users, 4 tags, 4 posts"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("db reset: stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		db = p.open()
		after := seedDump(t, db)
		if n := p.count(db, "SELECT COUNT(*) FROM users"); n != 3 {
			t.Errorf("%d users after reset, want the seed's 3 (the hand-made ones dropped)", n)
		}
		if p.historyLen() == 0 {
			t.Errorf("no revisions after reset: the schema must come from the migration history")
		}
		for i := range 2 {
			r := p.must("db", "seed")
			if !strings.HasPrefix(r.stdout, "Nothing to seed") {
				t.Errorf("seed %d after reset: want nothing to seed, got:\n%s", i+1, r.stdout)
			}
			if got := seedDump(t, db); got != after {
				t.Fatalf("seed %d changed the rows:\nafter reset:\n%s\nafter seed:\n%s", i+1, after, got)
			}
		}
	})
}

func TestE2EProductionRefusesSeedAndReset(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		if r := p.runEnv([]string{"WEBER_ENV=production"}, "db", "ensure"); r.code != 0 {
			t.Fatalf("ensure: %s", r.stderr)
		}
		r := p.run("db", "seed")
		if r.code != 1 || !strings.Contains(r.stderr, "refusing to seed") || !strings.Contains(r.stderr, "--force-production") {
			t.Fatalf("seed of a production database: exit %d, stderr %q", r.code, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		r = p.run("db", "reset", "--yes")
		if r.code != 1 || !strings.Contains(r.stderr, "--force-production") {
			t.Fatalf("reset of a production database: exit %d, stderr %q", r.code, r.stderr)
		}
		db := p.open()
		if n := p.count(db, "SELECT COUNT(*) FROM users"); n != 0 {
			t.Errorf("%d users after the refusals, want none", n)
		}
		if !p.exists() || p.historyLen() == 0 {
			t.Fatal("the production database lost its history after a refused reset")
		}
		p.must("db", "seed", "--force-production")
		// The environment comes from the mark: no development draft.
		if n := p.count(db, "SELECT COUNT(*) FROM posts"); n != 3 {
			t.Errorf("%d posts after seed --force-production, want the 3 published ones", n)
		}
	})
}

// In-process: a refused seed or reset changes nothing, and reset off a
// terminal needs --yes.
func TestSeedAndResetRefusals(t *testing.T) {
	t.Parallel()
	url := sqliteURL(t)
	vars := map[string]string{"WEBER_DATABASE_URL": url}
	dir := []string{"--dir", "../migrations"}
	if r := runCLI(t, vars, append([]string{"db", "reset", "--yes"}, dir...)...); r.code != 0 {
		t.Fatalf("reset --yes: exit %d: %s", r.code, r.stderr)
	}
	posts := func() int {
		t.Helper()
		return countRows(t, url, "SELECT COUNT(*) FROM posts")
	}
	if n := posts(); n != 4 {
		t.Fatalf("%d posts after reset, want 4 (3 published, 1 development draft)", n)
	}
	if r := runCLI(t, vars, append([]string{"db", "reset"}, dir...)...); r.code != 1 || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("reset off a terminal without --yes: exit %d, stderr %q", r.code, r.stderr)
	}
	// A migration folder that cannot rebuild the database: nothing dropped.
	if r := runCLI(t, vars, "db", "reset", "--yes", "--dir", t.TempDir()); r.code != 1 || !strings.Contains(r.stderr, "nothing was dropped") {
		t.Errorf("reset with no usable history: exit %d, stderr %q", r.code, r.stderr)
	}
	if n := posts(); n != 4 {
		t.Fatalf("%d posts after a refused reset, want the 4 still there", n)
	}
	mustExec(t, url, "DELETE FROM posts")
	prod := map[string]string{"WEBER_DATABASE_URL": url, "WEBER_ENV": "production"}
	for _, args := range [][]string{{"db", "seed"}, {"db", "reset", "--yes"}} {
		r := runCLI(t, prod, append(args, dir...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "production") || !strings.Contains(r.stderr, "--force-production") {
			t.Errorf("%v with WEBER_ENV=production: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if n := posts(); n != 0 {
		t.Errorf("%d posts after refused runs, want 0: nothing may be seeded", n)
	}
	if r := runCLI(t, vars, "db", "mark", "--env", "production", "--force"); r.code != 0 {
		t.Fatalf("mark: %s", r.stderr)
	}
	if r := runCLI(t, vars, "db", "seed"); r.code != 1 || !strings.Contains(r.stderr, `marked as a "production" database`) {
		t.Errorf("seed of a database marked production: exit %d, stderr %q", r.code, r.stderr)
	}
	if n := posts(); n != 0 {
		t.Errorf("%d posts after a refused seed, want 0", n)
	}
}

// countRows runs a COUNT query on the database url names.
func countRows(t *testing.T, url, query string) int {
	t.Helper()
	db := openURL(t, url)
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// mustExec runs a statement on the database url names.
func mustExec(t *testing.T, url, stmt string) {
	t.Helper()
	db := openURL(t, url)
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

func openURL(t *testing.T, url string) *sql.DB {
	t.Helper()
	u, err := dbconn.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	db, err := dbconn.Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// `db reset --json` prints one JSON document, and nothing else, for the
// script that resets a database and wants to know what it got.
func TestE2EResetJSON(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "ensure")
		r := p.must("db", "reset", "--yes", "--json")
		var v resetView
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("db reset --json: stdout is not one JSON document: %v\n%s", err, r.stdout)
		}
		if !v.Dropped || len(v.Upgrade.Files) == 0 || v.Upgrade.After == "" || v.Seed == nil || v.Seed.Created.get("users") != 3 {
			t.Fatalf("db reset --json = %+v; want dropped, the history applied and 3 users seeded", v)
		}
		if strings.Contains(r.stdout, "Dropped ") || strings.Contains(r.stdout, "Seeded ") {
			t.Fatalf("db reset --json printed text beside the JSON:\n%s", r.stdout)
		}
	})
}
