// Package testdb gives each test its own database with Weber's schema in
// place: an in-memory SQLite database by default, and, when
// WEBER_TEST_POSTGRES_URL or WEBER_TEST_MYSQL_URL is set, a database of its
// own on that server, so that one test body can run on every backend:
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		testdb.Each(t, func(t *testing.T, db *testdb.DB) {
//			t.Parallel()
//			u := db.Client.User.Create().SetName("a").SetEmail("a@x.org").SaveX(t.Context())
//			...
//		})
//	}
//
// The schema is the dialect's migration history (migrations/<dialect> at
// the module root) replayed through internal/upgrade, as production runs
// it; a dialect without a history falls back to the models.
//
// Every database is new and private to its test, safe under t.Parallel(),
// and removed by t.Cleanup when the test passes. When the test fails it is
// kept and its name logged (an in-memory SQLite database is first copied to
// a file in the temporary directory), so that it can be inspected.
//
// On a server, testdb creates and drops only databases it named itself
// ("weber_test_" and a random part); the database named in the URL is never
// created, written or dropped.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/internal/dbconn"
)

// Prefix starts the name of every database testdb creates. Nothing else
// is ever dropped.
const Prefix = "weber_test_"

// Environment variables that name the servers to test on. Each names a
// server URL; its own database is only used to reach the server.
const (
	EnvPostgres = "WEBER_TEST_POSTGRES_URL"
	EnvMySQL    = "WEBER_TEST_MYSQL_URL"
)

// cleanupTimeout bounds closing and dropping a test database.
const cleanupTimeout = 30 * time.Second

// Backend is a kind of database tests can run on.
type Backend struct {
	// Name is the dialect's folder name: "sqlite", "postgres" or "mysql".
	Name string
	// URL is the server URL from the environment ("" for SQLite). Its
	// database is only used to reach the server.
	URL string
}

// Backends returns the backends configured for this test run: SQLite
// always, then PostgreSQL and MySQL when their environment variable is set.
func Backends() []Backend {
	out := []Backend{{Name: "sqlite"}}
	if u := strings.TrimSpace(os.Getenv(EnvPostgres)); u != "" {
		out = append(out, Backend{Name: "postgres", URL: u})
	}
	if u := strings.TrimSpace(os.Getenv(EnvMySQL)); u != "" {
		out = append(out, Backend{Name: "mysql", URL: u})
	}
	return out
}

// DB is one test's database.
type DB struct {
	// Client is an ent client on the database.
	Client *ent.Client
	// SQL is the pool the client uses.
	SQL *sql.DB
	// URL names the database (for SQLite in memory, a private in-memory
	// database that only SQL reaches).
	URL *dbconn.URL
	// Dialect is ent's dialect name: "sqlite3", "postgres" or "mysql".
	Dialect string
	// Backend is the dialect's folder name: "sqlite", "postgres" or "mysql".
	Backend string
	// Name is the database's name: the file for SQLite on disk, the
	// in-memory name otherwise; on servers it starts with Prefix.
	Name string
	// MigrationsDir is the migration folder whose files built the schema,
	// or "" when the schema came from the models (or Empty).
	MigrationsDir string
}

// Option configures New.
type Option func(*options)

type options struct {
	backend    Backend
	file       bool
	noSchema   bool
	fromModels bool
	migrations string
}

// OnBackend selects the backend (as returned by Backends); the default is
// an in-memory SQLite database.
func OnBackend(b Backend) Option { return func(o *options) { o.backend = b } }

// OnServer creates the test database on the server that rawURL names (a
// postgres:// or mysql:// URL); rawURL's own database is never touched.
func OnServer(rawURL string) Option {
	return func(o *options) {
		o.backend = Backend{Name: backendName(rawURL), URL: rawURL}
	}
}

// SQLiteFile puts an SQLite test database in a file in t.TempDir() instead
// of memory, for tests where another process must open it.
func SQLiteFile() Option { return func(o *options) { o.file = true } }

// Empty gives a database without the schema, for tests of the migration
// engine itself.
func Empty() Option { return func(o *options) { o.noSchema = true } }

// Migrations replays the history under root (a folder holding one folder
// per dialect: sqlite, postgres, mysql, each with its atlas.sum) instead of
// the module's own migrations folder. A dialect without a folder there
// falls back to the models.
func Migrations(root string) Option { return func(o *options) { o.migrations = root } }

// FromModels builds the schema from the models (ent's Schema.Create) even
// when the dialect has a migration history.
func FromModels() Option { return func(o *options) { o.fromModels = true } }

func backendName(raw string) string {
	scheme, _, _ := strings.Cut(raw, "://")
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return "postgres"
	case "mysql", "mariadb":
		return "mysql"
	}
	return "sqlite"
}

// New creates a database for this test alone, with the schema in place
// (unless Empty), and registers its removal with t.Cleanup. The schema is
// the dialect's migration history replayed, or the models when the
// dialect has none yet (see DB.MigrationsDir). It fails the test through
// t.Fatalf when the database cannot be made.
func New(t testing.TB, opts ...Option) *DB {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.backend.Name == "" {
		o.backend.Name = "sqlite"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := Prefix + randomSuffix()
	db := &DB{Backend: o.backend.Name, Name: name}
	var drop func(context.Context) error
	switch {
	case o.backend.URL == "" && o.file:
		db.Name = filepath.Join(t.TempDir(), name+".db")
		u, err := dbconn.Parse("sqlite://" + db.Name)
		if err != nil {
			t.Fatalf("testdb: %v", err)
		}
		if _, err := dbconn.EnsureDatabase(ctx, u); err != nil {
			t.Fatalf("testdb: %v", err)
		}
		db.URL = u
	case o.backend.URL == "":
		// A named private in-memory database: dbconn gives in-memory URLs
		// a single connection, so the pool never opens a second, empty one.
		u, err := dbconn.Parse("sqlite://:memory:?_name=" + name)
		if err != nil {
			t.Fatalf("testdb: %v", err)
		}
		db.URL = u
	default:
		base, err := dbconn.Parse(o.backend.URL)
		if err != nil {
			t.Fatalf("testdb: the test server URL: %v", err)
		}
		if base.Dialect == "sqlite3" {
			t.Fatalf("testdb: %s is an SQLite URL: OnServer takes a postgres:// or mysql:// URL", base.Redacted())
		}
		u := base.WithDatabase(name)
		if _, err := dbconn.EnsureDatabase(ctx, u); err != nil {
			t.Fatalf("testdb: creating the test database: %v (is the server in %s running?)", err, envFor(o.backend.Name))
		}
		db.URL = u
		drop = func(ctx context.Context) error {
			if !safeToDrop(base, u) {
				return fmt.Errorf("refusing to drop %s: testdb drops only databases named %s*", u.Redacted(), Prefix)
			}
			_, err := dbconn.DropDatabase(ctx, u)
			return err
		}
	}
	db.Dialect = db.URL.Dialect
	sqldb, err := dbconn.Open(ctx, db.URL)
	if err != nil {
		if drop != nil {
			_ = drop(ctx)
		}
		t.Fatalf("testdb: %v", err)
	}
	db.SQL = sqldb
	db.Client = ent.NewClient(ent.Driver(entsql.OpenDB(db.Dialect, sqldb)))
	t.Cleanup(func() { db.cleanup(t, drop) })
	if !o.noSchema {
		if err := migrateSchema(ctx, db, &o); err != nil {
			t.Fatalf("testdb: building the schema in %s: %v", db.URL.Redacted(), err)
		}
	}
	return db
}

// cleanup closes the database and removes it, or keeps it and says where
// when the test failed.
func (db *DB) cleanup(t testing.TB, drop func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if t.Failed() {
		db.keep(ctx, t)
		_ = db.Client.Close()
		return
	}
	if err := db.Client.Close(); err != nil {
		t.Logf("testdb: closing %s: %v", db.URL.Redacted(), err)
	}
	if drop != nil {
		if err := drop(ctx); err != nil {
			t.Errorf("testdb: dropping the test database: %v", err)
		}
	}
}

// keep logs where a failed test's database can be inspected. An in-memory
// SQLite database would vanish on close, so it is copied to a file first.
func (db *DB) keep(ctx context.Context, t testing.TB) {
	t.Helper()
	switch {
	case db.Dialect == "sqlite3" && db.URL.Memory:
		path := filepath.Join(os.TempDir(), db.Name+".db")
		if _, err := db.SQL.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
			t.Logf("testdb: the test failed; its in-memory database %s could not be saved: %v", db.Name, err)
			return
		}
		t.Logf("testdb: the test failed; its database is kept in %s", path)
	case db.Dialect == "sqlite3":
		t.Logf("testdb: the test failed; its database is %s (removed with the test's temporary directory)", db.Name)
	default:
		t.Logf("testdb: the test failed; its database is kept: %s (drop it when done)", db.URL.Redacted())
	}
}

// safeToDrop reports whether u is a database testdb named: it starts with
// Prefix and is not the database of the URL it was given.
func safeToDrop(base, u *dbconn.URL) bool {
	return strings.HasPrefix(u.Database, Prefix) && u.Database != base.Database && len(u.Database) > len(Prefix)
}

func envFor(backend string) string {
	if backend == "mysql" {
		return EnvMySQL
	}
	return EnvPostgres
}

// randomSuffix is 12 random hex digits: lower case, safe unquoted in every
// dialect, and unique across concurrent test processes.
func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// Each runs body once per configured backend (see Backends), as parallel
// subtests named after the backend, each with a fresh database from New
// (opts apply to each). Each calls t.Parallel() in the subtest before it
// creates the database, so that paused tests hold no connections: the body
// must not call it again. A backend that is not configured is not run; a
// configured server that cannot be reached fails the test.
func Each(t *testing.T, body func(t *testing.T, db *DB), opts ...Option) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := New(t, append(append([]Option(nil), opts...), OnBackend(b))...)
			body(t, db)
		})
	}
}
