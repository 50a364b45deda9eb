package dblock

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weber-framework/weber/internal/errtext"
)

// pgNamespace prefixes the database name in the advisory lock's key, so that
// Weber's key does not collide with the small integers other tools use.
const pgNamespace = "weber:migrate:"

// postgresLock is a transaction-level advisory lock on the key derived from
// the database's name, held by a transaction kept open on the lock's own
// connection until Release. Unlike a session lock it needs nothing from the
// session: a transaction-pooling PgBouncer pins one server connection to a
// client for as long as its transaction is open, so the lock holds through
// the pooler as it does on a direct connection, and ends, freeing the lock,
// when the transaction does: at Release, or when the holder dies and its
// connection closes.
type postgresLock struct {
	key    int64
	tx     *sql.Tx            // the transaction holding the lock; nil while not held
	cancel context.CancelFunc // ends tx's context, which rolls it back
}

// pgKey is the advisory lock key for a database: the 64-bit FNV-1a hash of
// the namespace and the name, computed here so that it does not depend on the
// server's version (hashtext has changed between releases).
func pgKey(database string) int64 {
	h := fnv.New64a()
	h.Write([]byte(pgNamespace + database))
	return int64(h.Sum64())
}

func (p *postgresLock) setup(ctx context.Context, conn *sql.Conn) error {
	var name string
	if err := conn.QueryRowContext(ctx, "SELECT current_database()").Scan(&name); err != nil {
		return fmt.Errorf("reading the database name on the lock's connection: %s", errtext.OneLine(err))
	}
	p.key = pgKey(name)
	return nil
}

// tryLockSQL tries the lock inside the current transaction and sets, for
// that transaction only (so nothing leaks to a pooler's next client):
// application_name, so that whoever waits sees this process in the timeout
// message and in pg_stat_activity; and no idle-in-transaction timeout,
// since the transaction sits idle while the migration runs on other
// connections and its end would free the lock mid-migration.
const tryLockSQL = `SELECT pg_try_advisory_xact_lock($1),
	set_config('application_name', $2, true),
	set_config('idle_in_transaction_session_timeout', '0', true)`

// try opens a transaction and tries the lock in it. When the lock is taken
// it keeps the transaction open; otherwise it rolls it back, so that a
// waiter holds no server connection of a pooler between two tries.
func (p *postgresLock) try(ctx context.Context, conn *sql.Conn) (bool, error) {
	// The transaction outlives Acquire's context: database/sql would roll
	// it back, freeing the lock, as soon as that context ended, while the
	// caller is still finishing the file it runs under the lock.
	txCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(txCtx, nil)
	if err != nil {
		cancel()
		return false, fmt.Errorf("beginning the lock's transaction: %s", errtext.OneLine(err))
	}
	var (
		ok        bool
		app, idle string
	)
	// The simple protocol: the extended one would leave its unnamed portal,
	// and with it a snapshot, open in the transaction; the transaction's
	// xmin would then hold back VACUUM and make every CREATE INDEX
	// CONCURRENTLY (which waits for older snapshots) wait for the lock's
	// own transaction, that is forever.
	if err := tx.QueryRowContext(ctx, tryLockSQL, pgx.QueryExecModeSimpleProtocol, p.key, owner()).Scan(&ok, &app, &idle); err != nil {
		tx.Rollback()
		cancel()
		return false, fmt.Errorf("pg_try_advisory_xact_lock: %s", errtext.OneLine(err))
	}
	if !ok {
		err := tx.Rollback()
		cancel()
		if err != nil {
			return false, fmt.Errorf("ending the lock's transaction: %s", errtext.OneLine(err))
		}
		return false, nil
	}
	p.tx, p.cancel = tx, cancel
	return true, nil
}

// holder names the backend holding the lock from pg_locks, where a bigint
// advisory key appears split in classid (high 32 bits) and objid (low), and
// says since when it holds it: since its transaction began, or, for an older
// weberctl's session lock, since it connected. (Behind a pooler the backend
// is the server connection the holder's transaction is pinned to.)
func (p *postgresLock) holder(ctx context.Context, conn *sql.Conn) string {
	const q = `SELECT a.pid, COALESCE(a.application_name, ''), COALESCE(a.usename::text, ''),
		COALESCE(host(a.client_addr), ''), COALESCE(a.xact_start, a.backend_start)
	FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
	WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
	  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
	  AND l.classid::bigint = $1 AND l.objid::bigint = $2
	LIMIT 1`
	k := uint64(p.key)
	var (
		pid               int64
		app, user, client string
		since             sql.NullTime
	)
	err := conn.QueryRowContext(ctx, q, int64(k>>32), int64(k&0xffffffff)).Scan(&pid, &app, &user, &client, &since)
	if err != nil {
		return fmt.Sprintf("a PostgreSQL session (pg_locks: locktype 'advisory', classid %d, objid %d)", k>>32, k&0xffffffff)
	}
	var details []string
	if app != "" {
		details = append(details, fmt.Sprintf("%q", app))
	}
	if user != "" {
		details = append(details, "user "+user)
	}
	if client != "" {
		details = append(details, "from "+client)
	}
	if since.Valid {
		details = append(details, "since "+since.Time.UTC().Format(time.RFC3339))
	}
	s := fmt.Sprintf("PostgreSQL backend pid %d", pid)
	if len(details) > 0 {
		s += " (" + strings.Join(details, ", ") + ")"
	}
	return s
}

// unlock ends the lock's transaction, which releases the lock. The
// transaction wrote nothing; committing it (rather than rolling back) makes
// the server confirm that it was still open, hence that the lock was held
// all along.
func (p *postgresLock) unlock(ctx context.Context, conn *sql.Conn) error {
	tx, cancel := p.tx, p.cancel
	p.tx, p.cancel = nil, nil
	if tx == nil {
		return errors.New("the lock was not held")
	}
	defer cancel()
	// Commit takes no context: when ctx ends first (a server that does not
	// answer), ending the transaction's context rolls it back and drops
	// the connection, which frees the lock all the same.
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ending the lock's transaction: %s: the lock's session may have been lost, which freed the lock early; "+
			"check that no other schema change ran meanwhile", errtext.OneLine(err))
	}
	return nil
}
