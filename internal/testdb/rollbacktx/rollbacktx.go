// Package rollbacktx runs a test inside a database transaction that is
// rolled back at the end, for tests that need no commits: they share one
// migrated database, and start in microseconds instead of milliseconds.
//
// Begin opens the transaction on one connection and returns a Driver, an
// ent dialect.Driver bound to it: ent.NewClient(ent.Driver(d)) gives a
// client whose every query runs inside the transaction. A transaction the
// test opens through that client (client.Tx) becomes a SAVEPOINT, so code
// under test that commits or rolls back its own transaction still works;
// its commit is a RELEASE, undone with everything else by Rollback.
//
// Limits, which decide when a test should use a cloned database instead:
// the test sees one connection, so it cannot test concurrency or locking;
// on PostgreSQL, a failing statement aborts the whole transaction unless it
// ran inside a client.Tx (a savepoint), so a test that expects a
// constraint error must wrap the failing write in client.Tx; DDL, sequence
// values and, on MySQL, any DDL statement (which commits implicitly) escape
// the rollback. On MySQL this mode is therefore only safe for DML.
package rollbacktx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// Driver is an ent dialect.Driver whose statements all run in one
// transaction. Safe for use by one test at a time (ent's own use of a
// client from several goroutines is serialised by the connection).
type Driver struct {
	entsql.Conn
	tx      *sql.Tx
	dialect string

	mu   sync.Mutex
	next int // savepoint counter
	done bool
}

var (
	_ dialect.Driver = (*Driver)(nil)
	_ dialect.Tx     = (*savepoint)(nil)
)

// Begin starts a transaction on db for the dialect (ent's name: "sqlite3",
// "postgres", "mysql"). The caller must call Rollback, typically in
// t.Cleanup.
func Begin(ctx context.Context, db *sql.DB, dia string) (*Driver, error) {
	switch dia {
	case dialect.SQLite, dialect.Postgres, dialect.MySQL:
	default:
		return nil, fmt.Errorf("rollbacktx: unknown dialect %q: use sqlite3, postgres or mysql", dia)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("rollbacktx: beginning the test transaction: %w", err)
	}
	return &Driver{Conn: entsql.Conn{ExecQuerier: tx}, tx: tx, dialect: dia}, nil
}

// Dialect returns the dialect's name.
func (d *Driver) Dialect() string { return d.dialect }

// SQLTx returns the transaction, for raw SQL in the test.
func (d *Driver) SQLTx() *sql.Tx { return d.tx }

// Close does nothing: the transaction ends with Rollback. ent's
// client.Close therefore leaves it to the test's clean-up.
func (d *Driver) Close() error { return nil }

// Rollback rolls the whole transaction back, undoing everything the test
// wrote. Calling it twice is harmless.
func (d *Driver) Rollback() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return nil
	}
	d.done = true
	if err := d.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("rollbacktx: rolling back the test transaction: %w", err)
	}
	return nil
}

// Tx opens a nested transaction as a SAVEPOINT; ent's client.Tx calls it.
func (d *Driver) Tx(ctx context.Context) (dialect.Tx, error) {
	d.mu.Lock()
	d.next++
	name := fmt.Sprintf("weber_sp_%d", d.next)
	d.mu.Unlock()
	if _, err := d.tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return nil, fmt.Errorf("rollbacktx: opening savepoint %s: %w", name, err)
	}
	return &savepoint{Conn: d.Conn, tx: d.tx, name: name}, nil
}

// savepoint is a nested transaction: Commit releases it, Rollback undoes
// it; the outer transaction goes on either way.
type savepoint struct {
	entsql.Conn
	tx   *sql.Tx
	name string
	once sync.Once
}

func (s *savepoint) Commit() error { return s.end("RELEASE SAVEPOINT ") }

func (s *savepoint) Rollback() error { return s.end("ROLLBACK TO SAVEPOINT ") }

func (s *savepoint) end(verb string) error {
	err := sql.ErrTxDone
	s.once.Do(func() {
		_, err = s.tx.ExecContext(context.Background(), verb+s.name)
		if err != nil {
			err = fmt.Errorf("rollbacktx: %s%s: %w", verb, s.name, err)
		}
	})
	return err
}
