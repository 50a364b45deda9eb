// Package lockwait bounds how long a schema change may wait for a table's
// lock on a live database, retries it when it gives up, and names the
// sessions that made it wait.
//
// A DDL statement that queues for its table's exclusive lock behind a long
// transaction makes every later query on that table queue behind it: the
// application stalls for as long as the transaction lasts. So each
// transaction of an upgrade runs with a short lock wait (PostgreSQL
// lock_timeout, MySQL/MariaDB lock_wait_timeout and
// innodb_lock_wait_timeout): when it expires the statement fails, the
// file's transaction rolls back, the traffic behind it proceeds, and the
// caller tries again after a backoff, within a total budget.
//
// Statements that wait by design without blocking writes (CREATE INDEX
// CONCURRENTLY, VALIDATE CONSTRAINT...) are exempt: see Exempt.
package lockwait

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"time"

	"entgo.io/ent/dialect"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/weber-framework/weber/internal/migdir"
)

// Defaults of Policy.
const (
	// DefaultTimeout is how long one DDL statement may wait for a lock:
	// the longest the application's queries queue behind it.
	DefaultTimeout = time.Second
	// DefaultBudget is how long a file may keep retrying in all.
	DefaultBudget = 3 * time.Minute
	// minBackoff and maxBackoff bound the pause between tries.
	minBackoff = 200 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// Policy is how DDL waits for locks. The zero value is the defaults.
type Policy struct {
	// Timeout bounds one statement's wait for a lock (0 = DefaultTimeout;
	// negative = no bound, the server's own setting).
	Timeout time.Duration
	// Budget bounds the time spent retrying one file (0 = DefaultBudget;
	// negative = try once).
	Budget time.Duration
	// StatementTimeout bounds each statement's run time (0 = no bound).
	// Statements that Exempt names are bounded too.
	StatementTimeout time.Duration
}

// WithDefaults returns p with zero fields set to their defaults.
func (p Policy) WithDefaults() Policy {
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	if p.Budget == 0 {
		p.Budget = DefaultBudget
	}
	return p
}

// Validate refuses negative statement timeouts, which mean nothing.
func (p Policy) Validate() error {
	if p.StatementTimeout < 0 {
		return fmt.Errorf("the statement timeout %s is negative: give a positive duration, or 0 for none", p.StatementTimeout)
	}
	return nil
}

// Execer runs a statement: a *sql.Conn or a *sql.Tx.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Settings returns the statements that apply p to a session (local=false)
// or to the current transaction only (local=true, PostgreSQL's SET LOCAL)
// for dialect dia, with the lock wait lifted when exempt is true. SQLite
// needs none: its writers wait on busy_timeout, which readers never extend.
func (p Policy) Settings(dia string, local, exempt bool) []string {
	p = p.WithDefaults()
	lock := p.Timeout
	if exempt {
		lock = -1
	}
	switch dia {
	case dialect.Postgres:
		set := "SET "
		if local {
			set = "SET LOCAL "
		}
		out := []string{set + "lock_timeout = " + pgDuration(lock)}
		return append(out, set+"statement_timeout = "+pgDuration(p.StatementTimeout))
	case dialect.MySQL:
		// Whole seconds only, at least 1 (0 would mean "do not wait").
		secs := 31536000 // the server's default: a year
		if lock > 0 {
			secs = int((lock + time.Second - 1) / time.Second)
		}
		out := []string{
			fmt.Sprintf("SET SESSION lock_wait_timeout = %d", secs),
			fmt.Sprintf("SET SESSION innodb_lock_wait_timeout = %d", min(secs, 1073741824)),
		}
		return out
	}
	return nil
}

// Apply runs p's settings on q (see Settings).
func (p Policy) Apply(ctx context.Context, q Execer, dia string, local, exempt bool) error {
	for _, s := range p.Settings(dia, local, exempt) {
		if _, err := q.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// Reset returns a session's lock and statement timeouts to the server's
// defaults (after a file run outside a transaction, before the connection
// goes back to the pool).
func Reset(ctx context.Context, q Execer, dia string) error {
	var stmts []string
	switch dia {
	case dialect.Postgres:
		stmts = []string{"RESET lock_timeout", "RESET statement_timeout"}
	case dialect.MySQL:
		stmts = []string{"SET SESSION lock_wait_timeout = DEFAULT", "SET SESSION innodb_lock_wait_timeout = DEFAULT"}
	}
	for _, s := range stmts {
		if _, err := q.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func pgDuration(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return fmt.Sprintf("'%dms'", max(d.Milliseconds(), 1))
}

// exemptRe matches statements that wait for other transactions by design
// without blocking writes while they wait.
var exemptRe = regexp.MustCompile(`(?is)^\s*(create\s+(unique\s+)?index\s+concurrently|drop\s+index\s+concurrently|reindex\s+.*\bconcurrently\b|refresh\s+materialized\s+view\s+concurrently|alter\s+table\s+.*\bvalidate\s+constraint\b)`)

// Exempt reports whether stmt waits for other transactions by design
// without blocking the application (CREATE INDEX CONCURRENTLY, VALIDATE
// CONSTRAINT...): it runs without the short lock wait.
func Exempt(stmt string) bool { return exemptRe.MatchString(migdir.SkipComments(stmt)) }

// IsTimeout reports whether err is a lock wait that gave up: PostgreSQL's
// lock_not_available (55P03), MySQL's ER_LOCK_WAIT_TIMEOUT (1205).
func IsTimeout(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "55P03"
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1205
	}
	return false
}

// Backoff is the pause before try n (1-based, n >= 1 is the first retry):
// exponential from 200 ms, capped at 10 s, with up to half of it as
// jitter so that several upgraders (a fleet) do not retry in step.
func Backoff(n int) time.Duration {
	d := minBackoff << min(max(n-1, 0), 10)
	d = min(d, maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// SessionID returns the server's id for the session q runs on: PostgreSQL's
// backend pid, MySQL's connection id. SQLite has none (0).
func SessionID(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, dia string) (int64, error) {
	var query string
	switch dia {
	case dialect.Postgres:
		query = "SELECT pg_backend_pid()"
	case dialect.MySQL:
		query = "SELECT CONNECTION_ID()"
	default:
		return 0, nil
	}
	var id int64
	if err := q.QueryRowContext(ctx, query).Scan(&id); err != nil {
		return 0, fmt.Errorf("reading the session id: %w", err)
	}
	return id, nil
}

// Attempt is a try that gave up its lock wait and will be retried.
type Attempt struct {
	// N is the try that gave up (1 for the first); Err its error.
	N   int
	Err error
	// Waited is the time spent so far; Pause the wait before the next try;
	// Budget the most the tries may take.
	Waited, Pause, Budget time.Duration
}

// GaveUpError is Retry's error when the budget ran out.
type GaveUpError struct {
	// Tries and Waited say how long it kept trying; Err is the last try's.
	Tries  int
	Waited time.Duration
	Err    error
}

func (e *GaveUpError) Error() string {
	return fmt.Sprintf("gave up after %d tries over %s waiting for a lock (raise --ddl-retry-for to wait longer): %v", e.Tries, e.Waited.Round(time.Millisecond), e.Err)
}

// Unwrap returns the last try's error.
func (e *GaveUpError) Unwrap() error { return e.Err }

// StoppedError is Retry's error when ctx ended while it waited to retry.
type StoppedError struct {
	// Last is the error of the try that gave up; Cause is ctx's error.
	Last, Cause error
}

func (e *StoppedError) Error() string {
	return "stopped while waiting to retry after a lock wait: " + e.Cause.Error()
}

// Unwrap returns ctx's error.
func (e *StoppedError) Unwrap() error { return e.Cause }

// Retry runs try until it returns an error that retryable rejects (nil
// retryable: anything but a lock wait that gave up, IsTimeout), pausing
// with Backoff between tries, for at most p's budget; onRetry, if set,
// hears of each retry. It returns try's last error, a *GaveUpError when
// the budget ran out, or a *StoppedError when ctx ended meanwhile.
func Retry(ctx context.Context, p Policy, try func() error, retryable func(error) bool, onRetry func(Attempt)) error {
	p = p.WithDefaults()
	if retryable == nil {
		retryable = IsTimeout
	}
	start := time.Now()
	for n := 1; ; n++ {
		err := try()
		if err == nil || !retryable(err) {
			return err
		}
		at := Attempt{N: n, Err: err, Waited: time.Since(start), Pause: Backoff(n), Budget: p.Budget}
		if p.Budget < 0 || at.Waited+at.Pause > p.Budget {
			return &GaveUpError{Tries: n, Waited: at.Waited, Err: err}
		}
		if onRetry != nil {
			onRetry(at)
		}
		t := time.NewTimer(at.Pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return &StoppedError{Last: err, Cause: ctx.Err()}
		case <-t.C:
		}
	}
}
