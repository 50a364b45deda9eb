package dialect_test

import (
	"database/sql"
	"strings"
	"testing"

	entdialect "entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/dialect"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want dialect.Dialect
	}{
		{"sqlite", dialect.SQLite},
		{"sqlite3", dialect.SQLite},
		{" SQLite ", dialect.SQLite},
		{"postgres", dialect.Postgres},
		{"postgresql", dialect.Postgres},
		{"pg", dialect.Postgres},
		{"pgx", dialect.Postgres},
		{"PostgreSQL", dialect.Postgres},
		{"mysql", dialect.MySQL},
		{"mariadb", dialect.MySQL},
		{"MariaDB", dialect.MySQL},
	} {
		got, err := dialect.Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "file", "oracle", "sqlite4", "postgres://x"} {
		_, err := dialect.Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) accepted an unknown dialect", in)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "use sqlite, postgres or mysql") {
			t.Errorf("Parse(%q) error %q: want one line naming sqlite, postgres and mysql", in, msg)
		}
	}
}

func TestFromScheme(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want dialect.Dialect
		ok   bool
	}{
		{"sqlite", dialect.SQLite, true},
		{"sqlite3", dialect.SQLite, true},
		{"file", dialect.SQLite, true},
		{"postgres", dialect.Postgres, true},
		{"PostgreSQL", dialect.Postgres, true},
		{"mysql", dialect.MySQL, true},
		{"mariadb", dialect.MySQL, true},
		{"pg", "", false}, // not a URL scheme Weber has ever accepted
		{"http", "", false},
		{"", "", false},
	} {
		got, ok := dialect.FromScheme(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("FromScheme(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestNames pins every name a dialect gives to the outside world: folders
// and JSON (the value), ent, database/sql and the environment.
func TestNames(t *testing.T) {
	for _, tc := range []struct {
		d                                    dialect.Dialect
		folder, ent, driver, devVar, testVar string
	}{
		{dialect.SQLite, "sqlite", entdialect.SQLite, "sqlite", "", ""},
		{dialect.Postgres, "postgres", entdialect.Postgres, "pgx", "WEBER_DEV_POSTGRES_URL", "WEBER_TEST_POSTGRES_URL"},
		{dialect.MySQL, "mysql", entdialect.MySQL, "mysql", "WEBER_DEV_MYSQL_URL", "WEBER_TEST_MYSQL_URL"},
	} {
		got := []string{tc.d.String(), tc.d.Folder(), tc.d.Ent(), tc.d.Driver(), tc.d.DevURLVar(), tc.d.TestURLVar()}
		want := []string{tc.folder, tc.folder, tc.ent, tc.driver, tc.devVar, tc.testVar}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: names %q, want %q", tc.d, got, want)
		}
		if back, err := dialect.Parse(tc.d.Ent()); err != nil || back != tc.d {
			t.Errorf("Parse(%q.Ent()) = %q, %v; want the dialect back", tc.d, back, err)
		}
	}
}

// TestDriverRegistered opens each dialect's driver name: a misspelt one
// fails here, not on a user's first connection.
func TestDriverRegistered(t *testing.T) {
	_ = dbconn.Parse // dbconn registers the three drivers
	for _, d := range dialect.All() {
		db, err := sql.Open(d.Driver(), "")
		if err != nil {
			t.Errorf("%s: driver %q is not registered: %v", d, d.Driver(), err)
			continue
		}
		db.Close()
	}
}

func TestAll(t *testing.T) {
	var names []string
	for _, d := range dialect.All() {
		names = append(names, d.String())
	}
	if got := strings.Join(names, ","); got != "sqlite,postgres,mysql" {
		t.Errorf("All() = %s, want sqlite,postgres,mysql (the order the CLI lists them)", got)
	}
}
