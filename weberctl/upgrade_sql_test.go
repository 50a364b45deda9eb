package weberctl

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/go-cmp/cmp"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// scriptClientArgs are the client options that stop a script at its first
// error (mariadb does so by itself when reading its standard input).
var scriptClientArgs = map[string][]string{
	dialect.SQLite:   {"-bail"},
	dialect.Postgres: {"-q", "-v", "ON_ERROR_STOP=1"},
	dialect.MySQL:    nil,
}

// `db upgrade --sql --from 0`, run by hand with the database's own client
// (through `db console`), builds the database `db upgrade` builds: the same
// schema and the same revision records; `db upgrade` then has nothing to
// do. From a database's own version, the script holds only what is pending.
func TestE2EUpgradeSQLRunByHandMatchesUpgrade(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		client := consoleClient(p.u.Dialect)
		if _, err := exec.LookPath(client); err != nil {
			t.Skipf("%s: the client is not installed; install it to run this test", client)
		}
		createEmpty(t, p.u)
		// A script cannot run the Go data migration that comes later in
		// the history: it is refused, and the script stops before it.
		if r := p.run("db", "upgrade", "--sql", "--from", "0"); r.code == 0 || !strings.Contains(r.stderr, "is a Go data migration (-- weber:go split_user_names): a script cannot run it") {
			t.Errorf("--sql over a Go data migration: exit %d, %s", r.code, r.stderr)
		}
		const last = "20261206112152"
		script := p.must("db", "upgrade", "--sql", "--from", "0", "--to", last).stdout
		if !strings.Contains(script, "20261127014341_add_view_count_and_tag_description.sql") {
			t.Fatalf("the script lacks the second file:\n%s", script)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := p.command(ctx, nil, append([]string{"db", "console", "--"}, scriptClientArgs[p.u.Dialect]...)...)
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("running the script with %s: %v\n%s", client, err, out)
		}
		if up := p.must("db", "upgrade", "--to", last); !strings.Contains(up.stdout, "Nothing to do") {
			t.Errorf("db upgrade after the script:\n%s", up.stdout)
		}

		// The same history applied by weberctl, in two steps, the second
		// previewed by --sql from the database's version.
		other := p.otherDatabase(t)
		p.must("db", "upgrade", "--to", "20261127011300", "--database-url", other)
		pending := p.must("db", "upgrade", "--sql", "--to", last, "--database-url", other).stdout
		if strings.Contains(pending, "20261127011300_initial.sql") || !strings.Contains(pending, "2 files after version 20261127011300") {
			t.Errorf("--sql from the database's version: want only the pending file:\n%s", pending)
		}
		p.must("db", "upgrade", "--to", last, "--database-url", other)

		want := p.must("db", "schema", "--live", "--database-url", other).stdout
		got := p.must("db", "schema", "--live").stdout
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("schema built by the script differs from db upgrade's (-upgrade +script):\n%s", diff)
		}
		if diff := cmp.Diff(records(t, p, other), records(t, p, p.url)); diff != "" {
			t.Errorf("revision records differ (-upgrade +script):\n%s", diff)
		}
	})
}

// createEmpty creates the database u names, empty.
func createEmpty(t *testing.T, u *dbconn.URL) {
	t.Helper()
	var err error
	if u.Dialect == dialect.SQLite {
		_, err = dbconn.CreateSQLiteFile(u)
	} else {
		_, err = dbconn.EnsureDatabase(t.Context(), u)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// otherDatabase returns the URL of a second, empty database on the
// project's backend.
func (p *project) otherDatabase(t *testing.T) string {
	t.Helper()
	raw := "sqlite://" + filepath.Join(p.dir, "var", "other.db")
	if p.u.Dialect != dialect.SQLite {
		b := testserver.Lookup(t, map[string]string{dialect.Postgres: "postgres", dialect.MySQL: "mysql"}[p.u.Dialect])
		var err error
		if raw, err = b.URLOf(testserver.NewURL(t, b, nil).Database); err != nil {
			t.Fatal(err)
		}
	}
	u, err := dbconn.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	createEmpty(t, u)
	return raw
}

// record is what must agree between two databases' revision records:
// everything but when, how long, and by which build.
type record struct {
	Version, State string
	Applied, Total int
	Hash           string
	Partial        []string
}

func records(t *testing.T, p *project, url string) []record {
	t.Helper()
	var revs []revisionView
	out := p.must("db", "history", "--json", "--database-url", url).stdout
	if err := json.Unmarshal([]byte(out), &revs); err != nil {
		t.Fatalf("db history --json: %v\n%s", err, out)
	}
	var rs []record
	for _, r := range revs {
		rs = append(rs, record{r.Version, r.State, r.Applied, r.Total, r.Hash, r.PartialHashes})
	}
	return rs
}
