package weberctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// ISSUE 9 item 7, through the binary: a PostgreSQL history that uses
// citext (created on production by the DBA, not by the history) replays in
// lint, status, revision and check once migrations/dev/postgres.sql
// creates the extension on every scratch database; without the file lint
// fails naming the missing type.
func TestE2EDevSetupFileCitext(t *testing.T) {
	t.Parallel()
	skipShort(t)
	p := newProject(t, e2eBackendOf(testserver.Lookup(t, testserver.Postgres)))
	p.env = append(devEnv(), "WEBER_DIALECTS=postgres")
	p.must("db", "ensure")
	db := p.open()
	if _, err := db.ExecContext(t.Context(), "CREATE EXTENSION IF NOT EXISTS citext"); err != nil {
		t.Fatalf("the DBA's part, on the target: %v", err)
	}
	p.addMigration("20991231000000_handles.sql", "CREATE TABLE handles (id bigint NOT NULL PRIMARY KEY, name citext NOT NULL);\n")
	p.must("db", "upgrade")

	const missing = `type "citext" does not exist`
	r := p.run("db", "lint")
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, missing) {
		t.Fatalf("db lint without a dev setup file: exit %d, want it to fail on %q\nstdout: %s\nstderr: %s", r.code, missing, r.stdout, r.stderr)
	}

	setup := filepath.Join(p.dir, "migrations", "dev", "postgres.sql")
	if err := os.MkdirAll(filepath.Dir(setup), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(setup, []byte("CREATE EXTENSION IF NOT EXISTS citext;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.must("db", "lint")
	st := p.must("db", "status", "--json")
	if strings.Contains(st.stdout+st.stderr, "does not exist") || !strings.Contains(st.stdout, `"up_to_date": true`) {
		t.Errorf("db status with the dev setup file:\n%s\n%s", st.stdout, st.stderr)
	}
	// The models do not know the table: revision and check get as far as
	// comparing them with the history, which means the replay worked.
	rev := p.run("db", "revision", "--name", "after_citext")
	if strings.Contains(rev.stdout+rev.stderr, "does not exist") || !strings.Contains(rev.stdout+rev.stderr, "handles") {
		t.Errorf("db revision: exit %d\nstdout: %s\nstderr: %s", rev.code, rev.stdout, rev.stderr)
	}
	t.Logf("db revision: exit %d\n%s%s", rev.code, rev.stdout, rev.stderr)
	chk := p.run("db", "check")
	if strings.Contains(chk.stdout+chk.stderr, "not checked") || !strings.Contains(chk.stdout+chk.stderr, "DROP TABLE handles") {
		t.Errorf("db check: exit %d\nstdout: %s\nstderr: %s", chk.code, chk.stdout, chk.stderr)
	}
}
