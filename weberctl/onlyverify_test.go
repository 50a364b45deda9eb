package weberctl

import (
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// A migration that keeps every table and column but rewrites the values in
// one of them is valid SQL with nothing to drop: db lint, db check and the
// upgrade's pre-flight all let it through, and a real upgrade of a populated
// database applies it and loses every name. db verify is the check that
// catches it before it ships.
func TestOnlyVerifyCatchesAValueRewrite(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		dc := dialectCaseOf(b)
		dir := history(t)
		url, u := upgraded(t, dc, dir)
		execSQL(t, u, "INSERT INTO users (created_at, updated_at, name, email, role) VALUES "+
			"('2026-01-01 00:00:00', '2026-01-01 00:00:00', 'Ada', 'ada@example.com', 'member')")
		// One revision: the same version in every kept dialect (db check
		// refuses folders that disagree).
		for _, folder := range []string{"sqlite", "postgres", "mysql"} {
			writeMigration(t, dc.vars, dir, folder, "20991231000000_rewrite_names.sql", "UPDATE users SET name = 'x';\n")
		}

		if r := runCLI(t, dc.vars, "db", "lint", "--dir", dir, "--dialect", dc.folder); r.code != 0 {
			t.Fatalf("db lint refused the rewrite (exit %d): the test's premise is gone\n%s%s", r.code, r.stdout, r.stderr)
		}
		if r := checkIn(t, dc, dir); r.code != 0 {
			t.Fatalf("db check refused the rewrite (exit %d): the test's premise is gone\n%s%s", r.code, r.stdout, r.stderr)
		}
		if r := runCLI(t, dc.vars, "db", "upgrade", "--dir", dir, "--database-url", url); r.code != 0 {
			t.Fatalf("db upgrade's pre-flight refused the rewrite (exit %d): the test's premise is gone\n%s", r.code, r.stderr)
		}
		var name string
		db, err := dbconn.Open(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRowContext(t.Context(), "SELECT name FROM users WHERE email = 'ada@example.com'").Scan(&name); err != nil || name != "x" {
			t.Fatalf("after the upgrade name = %q, %v; want the rewritten 'x'", name, err)
		}

		r := runCLI(t, dc.vars, "db", "verify", "--dir", dir, "--dialect", dc.folder, "--rows", "5")
		if r.code != exitFailure || !strings.Contains(r.stderr, "users.name") {
			t.Fatalf("db verify let the rewrite through: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
	})
}
