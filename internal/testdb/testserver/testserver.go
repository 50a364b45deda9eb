// Package testserver gives a test a fresh, empty, uniquely named database
// on each configured backend, and removes it afterwards. It is the
// backend layer of internal/testdb, kept in a package that imports only
// internal/dbconn and the standard library, so that the engine packages
// testdb itself builds on (upgrade, revstore, dblock, liveschema, ...) can
// use it in their own tests without an import cycle.
//
// The policy is testdb's: SQLite always, PostgreSQL and MySQL when
// WEBER_TEST_POSTGRES_URL / WEBER_TEST_MYSQL_URL are set; a database on a
// server is named Prefix plus a random part, created for the test and
// dropped by t.Cleanup when the test passes, kept with its name logged
// when it fails; the database named in the server URL is never created,
// written or dropped. It applies no schema: for migrated databases use
// internal/testdb.
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		testserver.Each(t, func(t *testing.T, b testserver.Backend) {
//			db, u := testserver.NewEmpty(t, b, nil)
//			...
//		})
//	}
//
// Each (each.go) is the one way to run a subtest per backend: a server that
// is not configured is a subtest skipped by name, a failure under CI=true,
// and a test none of whose subtests could run is reported as skipped.
package testserver

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/dialect"
)

// Prefix starts the name of every database made for a test on a server.
// Nothing else is ever dropped by a test's clean-up.
const Prefix = "weber_test_"

// EnvPgBouncer names a PgBouncer in transaction pooling mode in front of
// the PostgreSQL server, which serves every database of that server under
// its own name (scripts/services.sh starts one).
const EnvPgBouncer = "WEBER_TEST_PGBOUNCER_URL"

// cleanupTimeout bounds closing and dropping a test database.
const cleanupTimeout = 30 * time.Second

// newTimeout bounds making a test database.
const newTimeout = time.Minute

// Backend is a kind of database tests can run on.
type Backend struct {
	// Name is the dialect's folder name: "sqlite", "postgres" or "mysql".
	Name string
	// URL is the server URL from the environment ("" for SQLite). Its
	// database is only used to reach the server.
	URL string
}

// Backends returns the backends configured for this test run: SQLite
// always, then PostgreSQL and MySQL when their environment variable
// (dialect.Dialect.TestURLVar: WEBER_TEST_POSTGRES_URL,
// WEBER_TEST_MYSQL_URL) names a server URL, whose own database is only used
// to reach the server.
func Backends() []Backend {
	out := []Backend{{Name: dialect.SQLite.String()}}
	for _, d := range dialect.All() {
		if v := d.TestURLVar(); v != "" {
			if u := strings.TrimSpace(os.Getenv(v)); u != "" {
				out = append(out, Backend{Name: d.String(), URL: u})
			}
		}
	}
	return out
}

// PgBouncer returns the PostgreSQL backend reached through the pooler that
// EnvPgBouncer names (Name "postgres", URL the pooler's). It skips the test
// when the variable is not set, and fails it instead under CI=true, where
// the CI script promises the pooler.
func PgBouncer(t testing.TB) Backend {
	t.Helper()
	u := strings.TrimSpace(os.Getenv(EnvPgBouncer))
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgbouncer: CI promised %s but it is not set (scripts/services.sh up starts one)", EnvPgBouncer)
		}
		t.Skipf("%s not set: skipping the PgBouncer test", EnvPgBouncer)
	}
	return Backend{Name: "postgres", URL: u}
}

// EnvFor returns the environment variable that names the server of a
// backend ("" for SQLite).
func EnvFor(backend string) string {
	d, _ := dialect.Parse(backend)
	return d.TestURLVar()
}

// Options configures NewEmpty and NewURL. A nil *Options is the default.
type Options struct {
	// Memory gives an in-memory SQLite database (one connection, see
	// dbconn.Open) instead of a file. Ignored on servers.
	Memory bool
	// Name is the SQLite file's path inside t.TempDir() (default
	// "test.db"), or the database's name on a server (default Prefix and a
	// random part; it must start with Prefix).
	Name string
}

// NewName returns Prefix followed by 26 random lower-case letters and
// digits (dbconn.RandomName): safe unquoted in every dialect, and unique
// across concurrent test processes.
func NewName() string { return dbconn.RandomName(Prefix) }

// SafeToDrop reports whether u names a database a test may drop on the
// server that base names: its name starts with Prefix, has more after it,
// and is not base's own database.
func SafeToDrop(base, u *dbconn.URL) bool {
	return strings.HasPrefix(u.Database, Prefix) && u.Database != base.Database && len(u.Database) > len(Prefix)
}

// URLOf returns the backend's URL, password included, naming database
// instead of the URL's own (for SQLite, database is the file's path), for
// a child process that must open the same database.
func (b Backend) URLOf(database string) (string, error) {
	if b.URL == "" {
		return "sqlite://" + database, nil
	}
	pu, err := url.Parse(b.URL)
	if err != nil {
		return "", fmt.Errorf("%s is malformed", EnvFor(b.Name))
	}
	pu.Path, pu.RawPath = "/"+database, ""
	return pu.String(), nil
}

// NewURL returns the URL of a database made for this test alone that does
// not exist yet, for tests of code that creates it. Whatever exists under
// that name when the test ends is removed (an SQLite file goes with
// t.TempDir()), or kept with its name logged when the test failed.
func NewURL(t testing.TB, b Backend, o *Options) *dbconn.URL {
	t.Helper()
	if o == nil {
		o = &Options{}
	}
	if b.URL == "" {
		raw := "sqlite://:memory:"
		if !o.Memory {
			name := o.Name
			if name == "" {
				name = "test.db"
			}
			raw = "sqlite://" + filepath.Join(t.TempDir(), name)
		}
		u, err := dbconn.Parse(raw)
		if err != nil {
			t.Fatalf("testserver: %v", err)
		}
		return u
	}
	base, u := serverURL(t, b, o)
	t.Cleanup(func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if t.Failed() {
			if ok, _ := dbconn.Exists(ctx, u); ok {
				t.Logf("testdb: the test failed; its database is kept: %s (drop it when done)", u.Redacted())
			}
			return
		}
		if err := drop(ctx, base, u); err != nil {
			t.Errorf("testserver: %v", err)
		}
	})
	return u
}

// NewEmpty creates an empty database for this test alone on the backend
// and returns a pool on it with its URL. SQLite: a file in t.TempDir(), or
// in memory with Options.Memory. Servers: a new database named Prefix and
// a random part (or Options.Name), dropped when the test passes and kept,
// its name logged, when it fails. The pool is closed when the test ends.
// It fails the test through t.Fatalf when the database cannot be made.
func NewEmpty(t testing.TB, b Backend, o *Options) (*sql.DB, *dbconn.URL) {
	t.Helper()
	if o == nil {
		o = &Options{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), newTimeout)
	defer cancel()
	if b.URL == "" {
		u := NewURL(t, b, o)
		if _, err := dbconn.EnsureDatabase(ctx, u); err != nil {
			t.Fatalf("testserver: creating the test database: %v", err)
		}
		db, err := dbconn.Open(ctx, u)
		if err != nil {
			t.Fatalf("testserver: %v", err)
		}
		t.Cleanup(func() {
			_ = db.Close()
			if t.Failed() && !u.Memory {
				t.Logf("testserver: the test failed; its database is %s (removed with the test's temporary directory)", u.Database)
			}
		})
		return db, u
	}
	base, u := serverURL(t, b, o)
	if _, err := dbconn.EnsureDatabase(ctx, u); err != nil {
		t.Fatalf("testserver: creating the test database: %v (is the server in %s running? scripts/services.sh up)", err, EnvFor(b.Name))
	}
	db, release, err := Attach(ctx, t, base, u, func(ctx context.Context) error { return drop(ctx, base, u) })
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	t.Cleanup(func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := release(ctx, t.Failed()); err != nil {
			t.Errorf("testserver: %v", err)
		}
	})
	return db, u
}

// Attach opens u, a database just made on the server that base names for
// one test, and returns its pool and the function that ends it: it closes
// the pool and then drops the database with drop, or, when failed, keeps
// it and logs its name through t. drop runs only on a name SafeToDrop
// accepts; if opening fails, the database is dropped at once.
func Attach(ctx context.Context, t testing.TB, base, u *dbconn.URL, drop func(context.Context) error) (*sql.DB, func(ctx context.Context, failed bool) error, error) {
	guarded := func(ctx context.Context) error {
		if !SafeToDrop(base, u) {
			return fmt.Errorf("refusing to drop %s: tests drop only databases named %s*", u.Redacted(), Prefix)
		}
		return drop(ctx)
	}
	db, err := dbconn.Open(ctx, u)
	if err != nil {
		_ = guarded(context.WithoutCancel(ctx))
		return nil, nil, err
	}
	return db, func(ctx context.Context, failed bool) error {
		_ = db.Close()
		if failed {
			t.Logf("testdb: the test failed; its database is kept: %s (drop it when done)", u.Redacted())
			return nil
		}
		return guarded(ctx)
	}, nil
}

// serverURL parses b's URL and names the test's database on it.
func serverURL(t testing.TB, b Backend, o *Options) (base, u *dbconn.URL) {
	t.Helper()
	base, err := dbconn.Parse(b.URL)
	if err != nil {
		t.Fatalf("testserver: the test server URL in %s: %v", EnvFor(b.Name), err)
	}
	if base.Memory || base.Dialect == dialect.SQLite.Ent() {
		t.Fatalf("testserver: %s is an SQLite URL: a test server URL is postgres:// or mysql://", base.Redacted())
	}
	name := o.Name
	if name == "" {
		name = NewName()
	}
	u = base.WithDatabase(name)
	if !SafeToDrop(base, u) {
		t.Fatalf("testserver: the test database %q must start with %s and differ from the URL's own", name, Prefix)
	}
	return base, u
}

// drop drops u after checking SafeToDrop once more.
func drop(ctx context.Context, base, u *dbconn.URL) error {
	if !SafeToDrop(base, u) {
		return fmt.Errorf("refusing to drop %s: tests drop only databases named %s*", u.Redacted(), Prefix)
	}
	if _, err := dbconn.DropDatabase(ctx, u); err != nil {
		return fmt.Errorf("dropping the test database: %w", err)
	}
	return nil
}
