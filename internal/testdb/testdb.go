// Package testdb is Weber's own binding of the public test databases
// (github.com/weber-framework/weber/testdb) to its example models: the same
// databases, with the example's ent client ready on each, built from this
// repository's migrations folder (or the models, for a dialect without a
// history). A project made by `weberctl new` uses the public package
// directly, or writes a wrapper like this one.
package testdb

import (
	"testing"

	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/testdb"
)

// Prefix starts the name of every database testdb creates for a test.
const Prefix = testdb.Prefix

// Backend is a kind of database tests can run on.
type Backend = testdb.Backend

// Option configures New (see the public package's options).
type Option = testdb.Option

// DB is one test's database with the example's client on it.
type DB struct {
	*testdb.DB
	// Client is the example's ent client on the database. With InTx, every
	// query it runs is inside the test's transaction.
	Client *ent.Client
}

// Backends returns the backends configured for this test run.
func Backends() []Backend { return testdb.Backends() }

// New creates a database for this test alone (testdb.New, with the
// example's models as its Tables).
func New(t testing.TB, opts ...Option) *DB {
	t.Helper()
	db := testdb.New(t, append([]Option{testdb.Tables(migrate.Tables)}, opts...)...)
	return &DB{DB: db, Client: ent.NewClient(ent.Driver(db.Driver))}
}

// Each runs body once per configured backend as parallel subtests, each
// with a fresh database from New (testdb.Each).
func Each(t *testing.T, body func(t *testing.T, db *DB), opts ...Option) {
	t.Helper()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		body(t, &DB{DB: db, Client: ent.NewClient(ent.Driver(db.Driver))})
	}, append([]Option{testdb.Tables(migrate.Tables)}, opts...)...)
}

// OnBackend selects the backend (testdb.OnBackend).
func OnBackend(b Backend) Option { return testdb.OnBackend(b) }

// OnServer creates the test database on the server rawURL names
// (testdb.OnServer).
func OnServer(rawURL string) Option { return testdb.OnServer(rawURL) }

// SQLiteFile puts an SQLite test database in a file (testdb.SQLiteFile).
func SQLiteFile() Option { return testdb.SQLiteFile() }

// Empty gives a database without the schema (testdb.Empty).
func Empty() Option { return testdb.Empty() }

// Migrations replays the history under root (testdb.Migrations).
func Migrations(root string) Option { return testdb.Migrations(root) }

// FromModels builds the schema from the example's models (testdb.FromModels).
func FromModels() Option { return testdb.FromModels() }

// Except leaves a backend out of Each, with the reason (testdb.Except).
func Except(backend, why string) Option { return testdb.Except(backend, why) }

// InTx runs the test's client inside a transaction rolled back at the end
// (testdb.InTx).
func InTx() Option { return testdb.InTx() }
