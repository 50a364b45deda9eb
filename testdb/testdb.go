// Package testdb gives each test its own database with the project's schema
// in place: a private in-memory SQLite database by default, and, when
// WEBER_TEST_POSTGRES_URL or WEBER_TEST_MYSQL_URL is set, a database of its
// own on that server, so that one test body can run on every backend:
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		testdb.Each(t, func(t *testing.T, db *testdb.DB) {
//			client := ent.NewClient(ent.Driver(db.Driver))
//			n := client.Note.Create().SetTitle("a").SaveX(t.Context())
//			...
//		}, testdb.Tables(migrate.Tables))
//	}
//
// It is the public face of Weber's test databases: a project made by
// `weberctl new` uses it as it is, and a project may wrap it once to bind
// its own ent client (Weber's example does so in internal/testdb).
//
// The schema is the dialect's migration history (migrations/<dialect> at
// the module root, or the Migrations option) replayed as `weberctl db
// upgrade` runs it in production; a dialect without a history falls back
// to the models (the Tables option). It is built once, into a template,
// and every test gets a copy of the template:
//
//   - SQLite: the history is replayed once per test process and history
//     hash; each test gets a private in-memory copy (a memdb database of
//     its own, several connections, foreign keys on), in well under a
//     millisecond, or a file copy with SQLiteFile.
//   - PostgreSQL: a template database per history hash, built once per
//     server even when several test processes start together (under an
//     advisory lock); each test gets CREATE DATABASE weber_test_<random>
//     TEMPLATE it.
//   - MySQL/MariaDB: a template database per history hash, built once per
//     server (under GET_LOCK); each test gets a new database with the
//     template's tables and rows copied.
//
// With InTx, the test's driver instead runs inside a transaction that is
// rolled back at the end, on a database that the InTx tests of the process
// share on a server: for tests that need no commits.
//
// Every database is new and private to its test, safe under t.Parallel(),
// and removed by t.Cleanup when the test passes. When the test fails it is
// kept and its name logged (an in-memory SQLite database is first copied to
// a file in the temporary directory), so that it can be inspected.
//
// On a server, testdb creates and drops only databases it named itself
// ("weber_test_" and a random part), besides the templates
// ("weber_tpl_..."), which it leaves for the next run; the database named
// in the URL is never created, written or dropped. Weber's docs/testing.md
// says how to use it and how to clean up.
//
// The machinery (the per-backend template builders, the naming of server
// databases) lives in Weber's internal/testdb/... packages.
package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	entdialect "entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/dialect"
	"github.com/weber-framework/weber/internal/testdb/rollbacktx"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// Prefix starts the name of every database testdb creates for a test.
// Nothing else is ever dropped by a test's clean-up.
const Prefix = testserver.Prefix

// cleanupTimeout bounds closing and dropping a test database.
const cleanupTimeout = 30 * time.Second

// newTimeout bounds making a test database, template build included.
const newTimeout = 2 * time.Minute

// Dialect is a database's dialect (sqlite, postgres or mysql).
type Dialect = dialect.Dialect

// Backend is a kind of database tests can run on (see testserver.Backend).
type Backend = testserver.Backend

// Backends returns the backends configured for this test run: SQLite
// always, then PostgreSQL and MySQL when their environment variable is set.
func Backends() []Backend { return testserver.Backends() }

// DB is one test's database.
type DB struct {
	// Driver is an ent driver on the database, for the project's client:
	// ent.NewClient(ent.Driver(db.Driver)). With InTx, every query it runs
	// is inside the test's transaction.
	Driver entdialect.Driver
	// SQL is a pool on the database. With InTx it is outside the test's
	// transaction, on a database that other InTx tests share: read through
	// it, never write (use Tx for raw SQL).
	SQL *sql.DB
	// Tx is the test's transaction with InTx (nil otherwise), for raw SQL
	// that must be rolled back with the rest.
	Tx *sql.Tx
	// URL names the database (for SQLite in memory, a name that only SQL
	// reaches: another process cannot open it).
	URL *dbconn.URL
	// Dialect is the database's dialect; Dialect.Ent() is ent's name for
	// it ("sqlite3", "postgres" or "mysql"), Dialect.String() its folder's
	// ("sqlite", "postgres" or "mysql").
	Dialect Dialect
	// Name is the database's name: the file for SQLite on disk, the
	// in-memory name otherwise; on servers it starts with Prefix.
	Name string
	// MigrationsDir is the migration folder whose files built the schema,
	// or "" when the schema came from the models (or Empty).
	MigrationsDir string
	// Template names what the database was copied from: the schema's key
	// (a hash of the migration files, or of the models) for SQLite, the
	// template database on a server; "" for Empty on a server.
	Template string
}

// Option configures New.
type Option func(*options)

type options struct {
	backend    Backend
	file       bool
	noSchema   bool
	fromModels bool
	migrations string
	tx         bool
	tables     []*entschema.Table
	except     []testserver.EachOption // for Each
}

// Except leaves a backend out of Each, with the reason it does not apply
// (testserver.Except); New ignores it.
func Except(backend, why string) Option {
	return func(o *options) { o.except = append(o.except, testserver.Except(backend, why)) }
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

// Tables are the models' tables (ent's migrate.Tables, generated with the
// sql/versioned-migration feature): the schema of a dialect that has no
// migration history yet, and of FromModels.
func Tables(tables []*entschema.Table) Option { return func(o *options) { o.tables = tables } }

// FromModels builds the schema from the models (Tables, through ent's
// schema migration) even when the dialect has a migration history.
func FromModels() Option { return func(o *options) { o.fromModels = true } }

// InTx runs the test's client inside a transaction that is rolled back when
// the test ends: nothing it writes is ever committed. The test must not rely
// on commits: a client.Tx inside it is a savepoint, its Commit a release
// that the final rollback undoes, and other connections (db.SQL, another
// process) never see its writes. On a server the InTx tests of a process
// share one database (no CREATE DATABASE per test); on SQLite, where a copy
// costs less than the transaction, each still gets its own. Limits (see
// internal/testdb/rollbacktx): one connection, so no tests of concurrency or
// locking; on PostgreSQL a failed statement aborts the transaction unless
// it ran in a client.Tx; DDL and, on MySQL, anything that commits
// implicitly escape the rollback. Not with Empty.
func InTx() Option { return func(o *options) { o.tx = true } }

// backendName is the backend a server URL's scheme names: its dialect's
// folder name, "sqlite" for any scheme that is not a server's.
func backendName(raw string) string {
	scheme, _, _ := strings.Cut(raw, "://")
	if d, ok := dialect.FromScheme(scheme); ok {
		return d.String()
	}
	return dialect.SQLite.String()
}

// New creates a database for this test alone, with the schema in place
// (unless Empty), and registers its removal with t.Cleanup. The schema is
// the dialect's migration history replayed, or the models when the
// dialect has none yet (see DB.MigrationsDir); it is built once per
// process (per server, on PostgreSQL and MySQL) and copied for each test.
// It fails the test through t.Fatalf when the database cannot be made.
func New(t testing.TB, opts ...Option) *DB {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.backend.Name == "" {
		o.backend.Name = dialect.SQLite.String()
	}
	if o.tx && o.noSchema {
		t.Fatalf("testdb: InTx and Empty do not mix: a test of schema changes needs a database of its own (drop InTx)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), newTimeout)
	defer cancel()
	db := &DB{Dialect: dialect.SQLite}
	base, err := o.serverURL()
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	if base != nil {
		if db.Dialect, err = dialect.Parse(base.Dialect); err != nil || db.Dialect == dialect.SQLite {
			t.Fatalf("testdb: %s is an SQLite URL: OnServer takes a postgres:// or mysql:// URL", base.Redacted())
		}
	}
	r, err := planSchema(&o, db.Dialect.Ent())
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	if !r.empty {
		db.MigrationsDir = r.dir
	}
	var release func(ctx context.Context, failed bool) error
	builtBefore, started := buildCount(db.Dialect.String(), r.key), time.Now()
	if base == nil {
		release, err = db.openSQLite(ctx, t, &o, r)
	} else {
		release, err = db.openServer(ctx, t, &o, r, base)
	}
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	if buildCount(db.Dialect.String(), r.key) > builtBefore {
		// Shown with -v or when the test fails: the one slow step.
		t.Logf("testdb: built the %s template for this schema in %s; the other tests of this process clone it", db.Dialect, time.Since(started).Round(time.Millisecond))
	}
	if o.tx {
		inTx, err := db.inTx(t, release)
		if err != nil {
			_ = release(ctx, false)
			t.Fatalf("testdb: %v", err)
		}
		release = inTx
	} else {
		db.Driver = entsql.OpenDB(db.Dialect.Ent(), db.SQL)
	}
	t.Cleanup(func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := release(ctx, t.Failed()); err != nil {
			t.Errorf("testdb: %v", err)
		}
	})
	return db
}

// serverURL parses the test server's URL, nil for SQLite.
func (o *options) serverURL() (*dbconn.URL, error) {
	if o.backend.URL == "" {
		return nil, nil
	}
	base, err := dbconn.Parse(o.backend.URL)
	if err != nil {
		return nil, fmt.Errorf("the test server URL: %v", err)
	}
	if base.Dialect == dialect.SQLite.Ent() {
		return nil, fmt.Errorf("%s is an SQLite URL: OnServer takes a postgres:// or mysql:// URL", base.Redacted())
	}
	return base, nil
}

// inTx opens the transaction of InTx on db, with db.Driver on it, and
// returns release extended to roll it back first. The transaction must
// outlive New's context: it ends at clean-up.
func (db *DB) inTx(t testing.TB, release func(context.Context, bool) error) (func(context.Context, bool) error, error) {
	drv, err := rollbacktx.Begin(context.Background(), db.SQL, db.Dialect.Ent())
	if err != nil {
		return nil, err
	}
	db.Tx = drv.SQLTx()
	db.Driver = drv
	return func(ctx context.Context, failed bool) error {
		rerr := drv.Rollback()
		if err := release(ctx, false); rerr == nil {
			rerr = err
		}
		if failed {
			t.Logf("testdb: the test failed; it ran in a transaction on %s that was rolled back (InTx keeps nothing: run it without InTx to inspect its database)", db.Name)
		}
		return rerr
	}, nil
}

// openSQLite gives db a private copy of r's template: in memory, or in a
// file in t.TempDir() with SQLiteFile.
func (db *DB) openSQLite(ctx context.Context, t testing.TB, o *options, r recipe) (func(context.Context, bool) error, error) {
	tpl, err := sqliteTemplate(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("building the SQLite test template: %w", err)
	}
	db.Template = tpl.Key()
	if o.file {
		sqldb, u, err := tpl.CloneFile(ctx, t.TempDir())
		if err != nil {
			return nil, err
		}
		db.SQL, db.URL, db.Name = sqldb, u, u.Database
		return func(ctx context.Context, failed bool) error {
			if failed && !o.tx {
				t.Logf("testdb: the test failed; its database is %s (removed with the test's temporary directory)", db.Name)
			}
			return closePool(db.SQL)
		}, nil
	}
	db.Name = testserver.NewName()
	u, err := dbconn.Parse("sqlite://:memory:?_name=" + db.Name)
	if err != nil {
		return nil, err
	}
	sqldb, err := tpl.Clone(ctx)
	if err != nil {
		return nil, err
	}
	db.SQL, db.URL = sqldb, u
	return func(ctx context.Context, failed bool) error {
		if failed && !o.tx {
			db.keepMemory(ctx, t)
		}
		return closePool(db.SQL)
	}, nil
}

// keepMemory copies a failed test's in-memory database to a file, which
// would otherwise vanish on close, and logs where.
func (db *DB) keepMemory(ctx context.Context, t testing.TB) {
	t.Helper()
	path := filepath.Join(os.TempDir(), db.Name+".db")
	if err := saveImage(ctx, db.SQL, path); err != nil {
		t.Logf("testdb: the test failed; its in-memory database %s could not be saved: %v", db.Name, err)
		return
	}
	t.Logf("testdb: the test failed; its database is kept in %s (delete it when done)", path)
}

// saveImage writes the in-memory database behind db to a file at path.
// (VACUUM INTO would write through the database's own in-memory VFS.)
func saveImage(ctx context.Context, db *sql.DB, path string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var image []byte
	err = conn.Raw(func(dc any) error {
		s, ok := dc.(interface{ Serialize() ([]byte, error) })
		if !ok {
			return fmt.Errorf("driver connection %T cannot serialize", dc)
		}
		image, err = s.Serialize()
		return err
	})
	if err != nil {
		return err
	}
	return os.WriteFile(path, image, 0o600)
}

// openServer gives db a new database on the server: a clone of r's
// template, the InTx tests' shared clone, or, with Empty, a new empty
// database.
func (db *DB) openServer(ctx context.Context, t testing.TB, o *options, r recipe, base *dbconn.URL) (func(context.Context, bool) error, error) {
	if r.empty {
		return db.openEmpty(ctx, t, o, base)
	}
	srv, err := servers.get(ctx, base, o.backend.URL, r.scope)
	if err != nil {
		return nil, fmt.Errorf("connecting to the test server: %w (is the server in %s running? scripts/services.sh up)", err, testserver.EnvFor(o.backend.Name))
	}
	if o.tx {
		sh, err := srv.acquireShared(ctx, r)
		if err != nil {
			return nil, err
		}
		db.SQL, db.Name, db.Template = sh.db, sh.name, sh.tpl
		db.URL = base.WithDatabase(sh.name)
		return func(ctx context.Context, _ bool) error { return srv.releaseShared(ctx, sh) }, nil
	}
	name, tpl, err := srv.clone(ctx, r)
	if err != nil {
		return nil, err
	}
	closer, err := db.attach(ctx, t, base, base.WithDatabase(name), func(ctx context.Context) error { return srv.drop(ctx, name) })
	if err != nil {
		return nil, err
	}
	db.Template = tpl
	return closer, nil
}

// openEmpty creates a new, empty database on the server (Empty).
func (db *DB) openEmpty(ctx context.Context, t testing.TB, o *options, base *dbconn.URL) (func(context.Context, bool) error, error) {
	u := base.WithDatabase(testserver.NewName())
	if _, err := dbconn.EnsureDatabase(ctx, u); err != nil {
		return nil, fmt.Errorf("creating the test database: %w (is the server in %s running?)", err, testserver.EnvFor(o.backend.Name))
	}
	return db.attach(ctx, t, base, u, func(ctx context.Context) error {
		_, err := dbconn.DropDatabase(ctx, u)
		return err
	})
}

// attach opens u, a database just made on the server for this test, as
// db's pool (testserver.Attach), and returns the function that closes the
// pool and then drops the database with drop, or keeps it, naming it, when
// the test failed. drop runs only on a name testdb made (safeToDrop); if
// opening fails, the database is dropped at once.
func (db *DB) attach(ctx context.Context, t testing.TB, base, u *dbconn.URL, drop func(context.Context) error) (func(context.Context, bool) error, error) {
	sqldb, release, err := testserver.Attach(ctx, t, base, u, drop)
	if err != nil {
		return nil, err
	}
	db.SQL, db.URL, db.Name = sqldb, u, u.Database
	return release, nil
}

// closePool closes a test database's pool; closing one the test already
// closed is fine (database/sql makes Close idempotent).
func closePool(db *sql.DB) error {
	if err := db.Close(); err != nil {
		return fmt.Errorf("closing the test database: %w", err)
	}
	return nil
}

// safeToDrop reports whether u is a database testdb named: it starts with
// Prefix and is not the database of the URL it was given.
func safeToDrop(base, u *dbconn.URL) bool { return testserver.SafeToDrop(base, u) }

// Each runs body once per backend (testserver.Each), as parallel subtests
// named after the backend, each with a fresh database from New (opts apply
// to each). Each calls t.Parallel() in the subtest before it creates the
// database, so that paused tests hold no connections: the body must not
// call it again. A server that is not configured is a subtest skipped by
// name (a failure under CI=true), Except leaves a backend out with its
// reason, and a test that can run on no backend is skipped; a configured
// server that cannot be reached fails the test.
func Each(t *testing.T, body func(t *testing.T, db *DB), opts ...Option) {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	testserver.Each(t, func(t *testing.T, b Backend) {
		db := New(t, append(append([]Option(nil), opts...), OnBackend(b))...)
		body(t, db)
	}, o.except...)
}
