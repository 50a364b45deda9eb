// Package dialect names the three databases Weber speaks: SQLite,
// PostgreSQL and MySQL (MariaDB included). A Dialect is the one value the
// rest of the code passes around; it knows its migration folder, ent's
// name for it, its database/sql driver and the environment variables that
// point at its dev and test servers. Parse and FromScheme are the only
// places that read a dialect's name from text.
package dialect

import (
	"fmt"
	"strings"
)

// Dialect is a database dialect. Its value is the migration folder's name
// ("sqlite", "postgres", "mysql"), which is also how the CLI, its JSON and
// the docs name it.
type Dialect string

// The dialects Weber keeps a history for.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
	MySQL    Dialect = "mysql"
)

// All returns every dialect, in the order Weber lists them.
func All() []Dialect { return []Dialect{SQLite, Postgres, MySQL} }

// Parse reads a dialect's name in any accepted spelling, case and spaces
// ignored: the folder names, ent's names ("sqlite3") and the aliases
// "postgresql", "pg", "pgx" and "mariadb".
func Parse(s string) (Dialect, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "sqlite", "sqlite3":
		return SQLite, nil
	case "postgres", "postgresql", "pg", "pgx":
		return Postgres, nil
	case "mysql", "mariadb":
		return MySQL, nil
	}
	return "", fmt.Errorf("unknown dialect %q: use sqlite, postgres or mysql", s)
}

// FromScheme returns the dialect of a database URL's scheme (sqlite://,
// sqlite3://, file://, postgres://, postgresql://, mysql://, mariadb://),
// case ignored; ok is false for any other scheme.
func FromScheme(scheme string) (d Dialect, ok bool) {
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3", "file":
		return SQLite, true
	case "postgres", "postgresql":
		return Postgres, true
	case "mysql", "mariadb":
		return MySQL, true
	}
	return "", false
}

// String returns the dialect's name, its folder name.
func (d Dialect) String() string { return string(d) }

// Folder returns the name of the dialect's migration folder under the
// migrations root, e.g. "postgres" for migrations/postgres.
func (d Dialect) Folder() string { return string(d) }

// Ent returns ent's name for the dialect (entgo.io/ent/dialect): "sqlite3",
// "postgres" or "mysql".
func (d Dialect) Ent() string {
	if d == SQLite {
		return "sqlite3"
	}
	return string(d)
}

// Driver returns the database/sql driver name Weber opens the dialect with
// (registered by internal/dbconn): "sqlite", "pgx" or "mysql".
func (d Dialect) Driver() string {
	if d == Postgres {
		return "pgx"
	}
	return string(d)
}

// DevURLVar names the environment variable that gives the dialect's dev
// server, where scratch databases may be created and dropped; "" for
// SQLite, which uses memory.
func (d Dialect) DevURLVar() string {
	switch d {
	case Postgres:
		return "WEBER_DEV_POSTGRES_URL"
	case MySQL:
		return "WEBER_DEV_MYSQL_URL"
	}
	return ""
}

// TestURLVar names the environment variable that gives the dialect's test
// server to the test suite; "" for SQLite, which needs none.
func (d Dialect) TestURLVar() string {
	switch d {
	case Postgres:
		return "WEBER_TEST_POSTGRES_URL"
	case MySQL:
		return "WEBER_TEST_MYSQL_URL"
	}
	return ""
}
