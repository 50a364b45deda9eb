package devdb_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// newURL returns the URL of a database on b that does not exist yet and
// is removed when the test ends (testserver.NewURL); on SQLite, a file in a
// folder that does not exist yet either.
func newURL(t *testing.T, b testserver.Backend) *dbconn.URL {
	t.Helper()
	var o *testserver.Options
	if b.URL == "" {
		o = &testserver.Options{Name: filepath.Join("sub", "weber.db")}
	}
	return testserver.NewURL(t, b, o)
}

// open opens u for the test's own queries and closes it at the end.
func open(t *testing.T, u *dbconn.URL) *sql.DB {
	t.Helper()
	db, err := dbconn.Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, db *sql.DB, stmt string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), stmt, args...); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// insertUsers inserts n users through plain SQL.
func insertUsers(t *testing.T, db *sql.DB, dia string, n int) {
	t.Helper()
	q := "INSERT INTO users (name, email, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
	if dia == dialect.Postgres {
		q = "INSERT INTO users (name, email, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)"
	}
	now := time.Now().UTC().Truncate(time.Second)
	for i := range n {
		exec(t, db, q, fmt.Sprintf("user %d", i), fmt.Sprintf("user%d@example.com", i), "member", now, now)
	}
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o644)
}
