// Package dblock serialises Weber's schema-changing operations (upgrade,
// downgrade, ensure) on one database with a lock that really excludes other
// processes, on every backend, and that frees itself when its holder dies.
//
// How each backend locks:
//
//   - PostgreSQL: a transaction-level advisory lock
//     (pg_try_advisory_xact_lock) whose 64-bit key is the FNV-1a hash of
//     "weber:migrate:" + current_database(), held by a transaction that stays
//     open on the lock's own connection until Release. PostgreSQL scopes
//     advisory locks to the database as well, so two databases on one server
//     never block each other.
//   - MySQL and MariaDB: GET_LOCK("weber_migrate:" + DATABASE()), hashed when
//     the name would pass MySQL's 64-character limit. User-level lock names
//     are server-wide, hence the database name in it. GET_LOCK returning 0
//     (not granted) or NULL (an error) never counts as success.
//   - SQLite file: flock(2) on the database file itself. The lock lives in the
//     kernel, on the file's inode, so it excludes every process whatever its
//     TMPDIR or working directory (Atlas's SQLite lock is a file in the temp
//     directory, which two processes with different TMPDIRs never share), and
//     the kernel drops it when the holder dies.
//   - SQLite in memory: a lock inside this process. An in-memory database
//     lives in one process (in one pool, in fact), so no other process can
//     change its schema and a process-local lock excludes everyone who can.
//
// On PostgreSQL and MySQL, Acquire does not take the lock connection from the
// caller's pool: it opens a separate one-connection pool from the URL and
// holds its only connection until Release. A session lock must stay on one
// connection for as long as it is held, and a pool limited to one connection
// (SetMaxOpenConns(1), or a small pool under load) would otherwise have no
// connection left for the very migration the lock protects; Atlas's own lock
// deadlocks in exactly that case. The caller's pool is left untouched.
//
// The PostgreSQL lock needs no session state: a pooler in transaction mode
// (PgBouncer pool_mode=transaction) gives a client one server connection for
// as long as its transaction is open, so the lock's open transaction keeps
// it, and every setting the lock makes is local to that transaction. When
// the holder dies, its connection closes, the pooler drops the server
// connection it was in a transaction on, and the server frees the lock.
// Through a pooler the lock takes one server connection of the pool for the
// whole run (the migration itself needs another). MySQL's GET_LOCK belongs to
// the session: point a MySQL URL at the server or at a session-mode proxy.
//
// Read the migration state only once Acquire has returned: a process that
// waited must recompute what is pending, since the holder may have applied
// it meanwhile.
//
// Acquire waits by polling the non-blocking form of each lock (a short sleep
// that grows to a quarter of a second between tries), so that cancelling the
// context stops the wait at once, on every backend and driver.
package dblock

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
)

// ErrTimeout is returned, wrapped, when the lock was not acquired in time:
// another schema change holds it. The wrapping error names the database and,
// where the backend can tell, the holder.
var ErrTimeout = errors.New("another weberctl upgrade, downgrade or ensure holds the migration lock: " +
	"let it finish (check the holder named here), or wait longer with --lock-timeout")

const (
	// firstDelay and maxDelay bound the sleep between two tries of the lock.
	firstDelay = 10 * time.Millisecond
	maxDelay   = 250 * time.Millisecond
	// releaseTimeout bounds Release on a server that does not answer; the
	// lock is freed anyway when its connection closes.
	releaseTimeout = 10 * time.Second
)

// Lock is a held lock. Release it when the schema change is done.
type Lock struct {
	u   *dbconn.URL
	ctx context.Context // Acquire's context, for its values; Release detaches it from cancellation

	mu      sync.Mutex
	release func(context.Context) error // nil once released
}

// backend takes one kind of lock.
type backend interface {
	// try attempts the lock once, without waiting.
	try(ctx context.Context) (bool, error)
	// holder describes who holds the lock, for the timeout message; "" when
	// the backend cannot tell.
	holder(ctx context.Context) string
	// unlock releases a held lock.
	unlock(ctx context.Context) error
	// close frees what the backend holds after a failed Acquire or an
	// unlock, releasing the lock if it is still held.
	close() error
}

// Acquire takes the lock for the database u names, waiting up to timeout
// (0 or less: try once). db is the database's pool: only an in-memory SQLite
// database is reached through it; for files and servers Acquire opens its
// own handle, so that a pool limited to one connection still has it free.
//
// When the lock stays taken, the error wraps ErrTimeout; when ctx ends
// first, it wraps ctx.Err(). Errors are one line and show the URL without
// its password.
func Acquire(ctx context.Context, db *sql.DB, u *dbconn.URL, timeout time.Duration) (*Lock, error) {
	if u == nil {
		return nil, errors.New("taking the migration lock: no database URL given")
	}
	if db == nil {
		return nil, fmt.Errorf("taking the migration lock on %s: no database handle given: open it with dbconn.Open first", u.Redacted())
	}
	start := time.Now()
	var (
		b   backend
		err error
	)
	switch {
	case u.Dialect == dialect.SQLite && u.Memory:
		b = newMemoryLock(db, u)
	case u.Dialect == dialect.SQLite:
		b, err = newFileLock(u)
	case u.Dialect == dialect.Postgres:
		b, err = newServerLock(ctx, u, &postgresLock{})
	case u.Dialect == dialect.MySQL:
		b, err = newServerLock(ctx, u, &mysqlLock{})
	default:
		err = fmt.Errorf("unknown dialect %q", u.Dialect)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("taking the migration lock on %s: gave up: %w", u.Redacted(), ctx.Err())
		}
		return nil, fmt.Errorf("taking the migration lock on %s: %w", u.Redacted(), err)
	}
	var onWait func()
	if notify := waitNotice(ctx); notify != nil && timeout > 0 {
		onWait = func() {
			notify(Wait{Database: u.Redacted(), Holder: describeHolder(ctx, b), Timeout: timeout})
		}
	}
	ok, err := poll(ctx, timeout, b.try, onWait)
	switch {
	case ok:
		return &Lock{u: u, ctx: ctx, release: func(ctx context.Context) error {
			err := b.unlock(ctx)
			return errors.Join(err, b.close())
		}}, nil
	case ctx.Err() != nil:
		b.close()
		return nil, fmt.Errorf("taking the migration lock on %s: gave up after %s: %w",
			u.Redacted(), time.Since(start).Round(time.Millisecond), ctx.Err())
	case err != nil:
		b.close()
		return nil, fmt.Errorf("taking the migration lock on %s: %w", u.Redacted(), err)
	}
	return nil, timedOut(ctx, b, u, timeout)
}

// timedOut closes b, whose lock stayed taken for timeout, and returns the
// ErrTimeout that says who holds it.
func timedOut(ctx context.Context, b backend, u *dbconn.URL, timeout time.Duration) error {
	who := describeHolder(ctx, b)
	b.close()
	waited := "did not wait (lock timeout 0)"
	if timeout > 0 {
		waited = "waited " + timeout.String()
	}
	if who != "" {
		waited += "; held by " + who
	}
	return fmt.Errorf("taking the migration lock on %s: %s: %w", u.Redacted(), waited, ErrTimeout)
}

// Release releases the lock. It is safe to call twice (the second call does
// nothing) and works after Acquire's context has been cancelled. An error
// means the release could not be confirmed, for instance because the lock's
// connection was lost, which also frees the lock.
func (l *Lock) Release() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.release == nil {
		return nil
	}
	release := l.release
	l.release = nil
	ctx, cancel := context.WithTimeout(context.WithoutCancel(l.ctx), releaseTimeout)
	defer cancel()
	if err := release(ctx); err != nil {
		return fmt.Errorf("releasing the migration lock on %s: %w", l.u.Redacted(), joinOnOneLine(err))
	}
	return nil
}

// poll calls try until it succeeds, fails, the timeout passes or ctx ends.
// It reports (false, nil) on a timeout and returns ctx's error when ctx ends.
// onWait, when not nil, is called once, before the first wait.
func poll(ctx context.Context, timeout time.Duration, try func(context.Context) (bool, error), onWait func()) (bool, error) {
	deadline := time.Now().Add(timeout)
	delay := firstDelay
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		ok, err := try(ctx)
		if ok {
			return true, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return false, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		if onWait != nil {
			onWait()
			onWait = nil
			if left = time.Until(deadline); left <= 0 {
				continue // try once more before giving up
			}
		}
		t := time.NewTimer(min(delay, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, maxDelay)
	}
}

// joinOnOneLine joins the errors of an errors.Join with "; " rather than
// line breaks, keeping them for errors.Is and errors.As.
func joinOnOneLine(err error) error {
	var j interface{ Unwrap() []error }
	if !errors.As(err, &j) {
		return err
	}
	errs := j.Unwrap()
	if len(errs) == 1 {
		return errs[0]
	}
	msg := ""
	for i, e := range errs {
		if i > 0 {
			msg += "; "
		}
		msg += e.Error()
	}
	return &joined{msg: msg, errs: errs}
}

type joined struct {
	msg  string
	errs []error
}

func (j *joined) Error() string   { return j.msg }
func (j *joined) Unwrap() []error { return j.errs }

// owner describes this process, for the lock holder's name on servers.
func owner() string {
	host, _ := os.Hostname()
	s := fmt.Sprintf("weber lock, pid %d on %s", os.Getpid(), host)
	if len(s) > 63 { // PostgreSQL's limit for application_name
		s = s[:63]
	}
	return s
}
