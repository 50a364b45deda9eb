package dblock

import (
	"fmt"
	"strings"

	"entgo.io/ent/dialect"
)

// ScriptSQL returns the statements that take and release the migration
// lock of the database named database, for a script run by hand with the
// database's own client: they exclude every weberctl on that database
// while the script runs. SQLite has none ("", ""): its file lock is the
// client's own transaction.
func ScriptSQL(dia, database string) (take, release string) {
	switch dia {
	case dialect.Postgres:
		k := pgKey(database)
		return fmt.Sprintf("SELECT pg_advisory_lock(%d);", k), fmt.Sprintf("SELECT pg_advisory_unlock(%d);", k)
	case dialect.MySQL:
		name := "'" + strings.ReplaceAll(strings.ReplaceAll(mysqlLockName(database), `\`, `\\`), "'", "''") + "'"
		// A year: waits for as long as another weberctl holds it.
		return "SELECT GET_LOCK(" + name + ", 31536000);", "SELECT RELEASE_LOCK(" + name + ");"
	}
	return "", ""
}
