package dbconn_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
)

// The client's command line names the database but never holds the
// password, which goes in the client's environment only.
func TestClientKeepsPasswordOffCommandLine(t *testing.T) {
	const secret = "s3cr%2Ft-pw"
	cases := []struct {
		url      string
		program  string
		pkg      string
		wantArgs []string
		wantEnv  string
	}{
		{"postgres://app:" + secret + "@db.internal:5433/shop?sslmode=require", "psql", "postgresql-client",
			[]string{"--host", "db.internal", "--port", "5433", "--username", "app", "--dbname", "shop", "-c", "select 1"}, "PGPASSWORD=s3cr/t-pw"},
		{"postgres://app@localhost/shop?password=" + secret, "psql", "postgresql-client",
			[]string{"--host", "localhost", "--username", "app", "--dbname", "shop", "-c", "select 1"}, "PGPASSWORD=s3cr/t-pw"},
		{"mysql://root:" + secret + "@localhost/shop", "mariadb", "mariadb-client",
			[]string{"--protocol", "TCP", "--host", "localhost", "--port", "3306", "--user", "root", "--database", "shop", "-c", "select 1"}, "MYSQL_PWD=s3cr/t-pw"},
		{"mysql://root:" + secret + "@x/shop?socket=/run/mysqld/mysqld.sock", "mariadb", "mariadb-client",
			[]string{"--socket", "/run/mysqld/mysqld.sock", "--user", "root", "--database", "shop", "-c", "select 1"}, "MYSQL_PWD=s3cr/t-pw"},
		{"sqlite://var/app.db", "sqlite3", "sqlite3", []string{"var/app.db", "-c", "select 1"}, ""},
	}
	for _, tc := range cases {
		u, err := dbconn.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		c, err := u.Client("-c", "select 1")
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if c.Programs[0] != tc.program || c.Package != tc.pkg {
			t.Errorf("%s: program %v package %q; want %s from %s", u, c.Programs, c.Package, tc.program, tc.pkg)
		}
		if !slices.Equal(c.Args, tc.wantArgs) {
			t.Errorf("%s: args %q; want %q", u, c.Args, tc.wantArgs)
		}
		for _, a := range c.Args {
			if strings.Contains(a, "s3cr") {
				t.Errorf("%s: argument %q holds the password", u, a)
			}
		}
		if tc.wantEnv != "" && !slices.Contains(c.Env, tc.wantEnv) {
			t.Errorf("%s: env %q lacks %s", u, c.Env, tc.wantEnv)
		}
	}
}

// An in-memory SQLite database cannot be opened by another process.
func TestClientRefusesMemory(t *testing.T) {
	u, err := dbconn.Parse("sqlite://:memory:")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Client(); err == nil || !strings.Contains(err.Error(), "sqlite://var/weber.db") {
		t.Errorf("Client on memory: %v; want a refusal naming a file URL", err)
	}
}
