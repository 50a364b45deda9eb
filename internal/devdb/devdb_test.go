package devdb_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
)

// backend is one database engine the suite runs against.
type backend struct {
	name string
	// newURL returns the URL of a database that does not exist yet and is
	// removed when the test ends.
	newURL func(t *testing.T) *dbconn.URL
}

// backends returns SQLite always, and PostgreSQL and MySQL when
// WEBER_TEST_POSTGRES_URL / WEBER_TEST_MYSQL_URL are set.
func backends(t *testing.T) []backend {
	t.Helper()
	bs := []backend{{name: "sqlite", newURL: func(t *testing.T) *dbconn.URL {
		t.Helper()
		u, err := dbconn.Parse("sqlite://" + filepath.Join(t.TempDir(), "sub", "weber.db"))
		if err != nil {
			t.Fatal(err)
		}
		return u
	}}}
	for _, s := range []struct{ name, env string }{{"postgres", "WEBER_TEST_POSTGRES_URL"}, {"mysql", "WEBER_TEST_MYSQL_URL"}} {
		raw := os.Getenv(s.env)
		if raw == "" {
			continue
		}
		bs = append(bs, backend{name: s.name, newURL: func(t *testing.T) *dbconn.URL {
			t.Helper()
			base, err := dbconn.Parse(raw)
			if err != nil {
				t.Fatalf("%s: %v", s.env, err)
			}
			u := base.WithDatabase("weber_test_" + randomHex(t))
			t.Cleanup(func() {
				if _, err := dbconn.DropDatabase(context.WithoutCancel(t.Context()), u); err != nil {
					t.Errorf("dropping the test database: %v", err)
				}
			})
			return u
		}})
	}
	return bs
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// forEachBackend runs f as a parallel subtest on every backend.
func forEachBackend(t *testing.T, f func(t *testing.T, u *dbconn.URL)) {
	t.Helper()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b.newURL(t))
		})
	}
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
