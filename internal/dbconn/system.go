package dbconn

import (
	"fmt"
	"strings"

	"entgo.io/ent/dialect"
)

// systemRole says what a database the server keeps for itself is for, and
// whether name (lower case) is one in dialect dia. Dropping one breaks the
// server (MySQL's `mysql` holds the users and grants) or every database
// created after it (PostgreSQL's templates).
func systemRole(dia, name string) (string, bool) {
	switch dia + "/" + name {
	case dialect.MySQL + "/mysql":
		return "it holds the users, grants and settings", true
	case dialect.MySQL + "/sys":
		return "it holds the diagnostic views", true
	case dialect.MySQL + "/performance_schema":
		return "it holds the performance instruments", true
	case dialect.MySQL + "/information_schema":
		return "it is the catalog", true
	case dialect.Postgres + "/postgres":
		return "it is the maintenance database that tools connect to", true
	case dialect.Postgres + "/template0":
		return "it is the pristine template", true
	case dialect.Postgres + "/template1":
		return "it is the template every new database is copied from", true
	}
	return "", false
}

// SystemDatabaseError refuses an operation on a database the server keeps
// for itself. Nothing was opened, created, written or dropped.
type SystemDatabaseError struct {
	// Op is what was refused ("drop", "ensure", "upgrade", ...).
	Op string
	// Database is the URL, password redacted; Name the database's name.
	Database, Name string
	// Holds says what the system database is for.
	Holds string
}

func (e *SystemDatabaseError) Error() string {
	return fmt.Sprintf("refusing to %s %s: %q is a system database of the server (%s) and Weber never %s it: point --database-url (or WEBER_DATABASE_URL) at your application's own database",
		e.Op, e.Database, e.Name, e.Holds, verbOf(e.Op))
}

func verbOf(op string) string {
	if op == "drop" {
		return "drops"
	}
	return "writes to"
}

// SystemDatabase reports whether u names a database the server keeps for
// itself (MySQL/MariaDB: mysql, sys, performance_schema,
// information_schema; PostgreSQL: postgres, template0, template1), and
// what it holds. Names compare case-insensitively: a server with
// lower_case_table_names set maps `MySQL` onto `mysql`. SQLite has none.
func (u *URL) SystemDatabase() (holds string, ok bool) {
	return systemRole(u.Dialect, strings.ToLower(strings.TrimSpace(u.Database)))
}

// RefuseSystem returns a *SystemDatabaseError when op must not run on u
// because u names a system database, and nil otherwise. It decides from the
// URL alone, before any connection. "drop" is refused on every system
// database; any other op (a write: "ensure", "upgrade", "mark", ...) on
// every one but PostgreSQL's `postgres`, which applications may use.
func (u *URL) RefuseSystem(op string) error {
	holds, ok := u.SystemDatabase()
	// PostgreSQL's `postgres` is an ordinary database that many hosted
	// servers and the official Docker image hand out as the only one:
	// Weber writes there, but never drops it.
	shared := u.Dialect == dialect.Postgres && strings.EqualFold(strings.TrimSpace(u.Database), "postgres")
	if !ok || (op != "drop" && shared) {
		return nil
	}
	return &SystemDatabaseError{Op: op, Database: u.Redacted(), Name: u.Database, Holds: holds}
}
