package weberctl

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/flavor"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// mysqlProject is a project on a new MariaDB/MySQL database, or a skip.
func mysqlProject(t *testing.T) *project {
	t.Helper()
	skipShort(t)
	return newProject(t, e2eBackendOf(testserver.Lookup(t, testserver.MySQL)))
}

// TestE2EDefaultCollationShowsNoDrift: a database created with the
// server's default collation (not Weber's utf8mb4_bin) reports no change
// made by hand right after `db upgrade` (issue 9 item 3).
func TestE2EDefaultCollationShowsNoDrift(t *testing.T) {
	t.Parallel()
	p := mysqlProject(t)
	srv, err := dbconn.OpenServer(t.Context(), p.u)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	create := "CREATE DATABASE " + dbconn.QuoteIdent(p.u.Dialect, p.u.Database) + " CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
	if _, err := srv.ExecContext(t.Context(), create); err != nil {
		t.Fatal(err)
	}
	// A table written without COLLATE inherits the database's default.
	p.addMigration("20991231000000_plain.sql", "CREATE TABLE plain (id bigint NOT NULL PRIMARY KEY, name varchar(50) NOT NULL);\n")
	p.must("db", "upgrade")
	r := p.runEnv(devEnv(), "db", "status", "--json", "--skip-models")
	var st struct {
		Live struct {
			Checked     bool              `json:"checked"`
			Clean       bool              `json:"clean"`
			Differences []json.RawMessage `json:"differences"`
		} `json:"live"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("db status --json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	if !st.Live.Checked || !st.Live.Clean {
		t.Fatalf("db status after upgrade on a utf8mb4_general_ci database: live checked=%v clean=%v %s", st.Live.Checked, st.Live.Clean, st.Live.Differences)
	}
}

// otherFlavour opens p's server (closed when the test ends) and returns it
// with its flavour and the other one.
func otherFlavour(t *testing.T, p *project) (srv *sql.DB, server, other flavor.Flavor) {
	t.Helper()
	srv, err := dbconn.OpenServer(t.Context(), p.u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if server, _, err = flavor.Of(t.Context(), srv); err != nil {
		t.Fatal(err)
	}
	other = flavor.MySQL
	if server == flavor.MySQL {
		other = flavor.MariaDB
	}
	return srv, server, other
}

// TestE2EUpgradeRefusesTheOtherFlavour: `db upgrade` refuses a history
// declared for the other flavour in one line naming the folder, and
// applies nothing (scenario "Server flavour").
func TestE2EUpgradeRefusesTheOtherFlavour(t *testing.T) {
	t.Parallel()
	p := mysqlProject(t)
	srv, server, other := otherFlavour(t, p)
	p.addMigration("20991231000000_z.sql", flavor.Header(other)+"\n\nCREATE TABLE z (id bigint NOT NULL PRIMARY KEY);\n")
	create := "CREATE DATABASE " + dbconn.QuoteIdent(p.u.Dialect, p.u.Database)
	if _, err := srv.ExecContext(t.Context(), create); err != nil {
		t.Fatal(err)
	}
	r := p.run("db", "upgrade")
	if diff := cmp.Diff(outcome{Code: 1, StderrLines: 1}, outcomeOf(r, nil, []string{"was written for " + other.Name(), "--dir"})); diff != "" {
		t.Fatalf("db upgrade of a %s history on %s: want one line naming the flavour and --dir (-want +got):\n%s\nstderr: %s", other, server, diff, r.stderr)
	}
	if n := p.count(p.open(), "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'z'"); n != 0 {
		t.Errorf("the refused upgrade created table z")
	}
}

// TestE2ERevisionRefusesTheOtherFlavour: `db revision` on a history
// declared for the other flavour names the setting to change and writes
// nothing, and `db check` fails with the same reason.
func TestE2ERevisionRefusesTheOtherFlavour(t *testing.T) {
	t.Parallel()
	p := mysqlProject(t)
	_, server, other := otherFlavour(t, p)
	p.addMigration("20991231000000_z.sql", flavor.Header(other)+"\n\nCREATE TABLE z (id bigint NOT NULL PRIMARY KEY);\n")
	before := p.historyFiles()
	r := p.runEnv(devEnv(), "db", "revision", "--dialect", "mysql", "--name", "more")
	want := "point WEBER_DEV_MYSQL_URL at a " + other.Name() + " server"
	if r.code == 0 || !strings.Contains(r.stderr, want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Fatalf("db revision on a %s history with a %s dev server: exit %d, stderr %q; want one line containing %q", other, server, r.code, r.stderr, want)
	}
	if after := p.historyFiles(); after != before {
		t.Errorf("db revision wrote files: %d before, %d after", before, after)
	}
	c := p.runEnv(append(devEnv(), "WEBER_DIALECTS=mysql"), "db", "check")
	if c.code == 0 || !strings.Contains(c.stdout+c.stderr, "was written for "+other.Name()) {
		t.Fatalf("db check: exit %d, output %q %q; want the flavour refusal", c.code, c.stdout, c.stderr)
	}
}

// historyFiles counts the .sql files of the project's folder.
func (p *project) historyFiles() int {
	p.t.Helper()
	m, err := filepath.Glob(filepath.Join(p.folder(), "*.sql"))
	if err != nil {
		p.t.Fatal(err)
	}
	return len(m)
}
