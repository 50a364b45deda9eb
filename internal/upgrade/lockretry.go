package upgrade

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weber-framework/weber/internal/lockwait"
	"github.com/weber-framework/weber/internal/plural"
	"github.com/weber-framework/weber/internal/revstore"
)

// LockWaitEvent reports a statement that gave up waiting for its table's
// lock; the file will be tried again after RetryIn.
type LockWaitEvent struct {
	// File is the migration file; Stmt the 1-based statement, Line its line.
	File string
	Stmt int
	Line int
	// Try is the try that gave up (1 for the first).
	Try int
	// Waited is the time spent on the file so far, Budget the most it may take.
	Waited, Budget time.Duration
	// RetryIn is the pause before the next try.
	RetryIn time.Duration
	// Blockers are the sessions that held the lock, when the server said.
	Blockers []lockwait.Blocker
}

// LockWaitError is a file that could not take its tables' locks within the
// retry budget: the sessions named held them throughout. What persists is
// the same as for a StatementError: nothing of a transactional file;
// statements 1-Applied of one run statement by statement (recorded).
type LockWaitError struct {
	// File is the migration file; Stmt the 1-based statement that waited,
	// Line its line; Total the file's statement count.
	File              string
	Stmt, Line, Total int
	// Tries and Waited say how long it kept trying.
	Tries  int
	Waited time.Duration
	// Transactional reports the file ran in one transaction (rolled back).
	Transactional bool
	// Applied is the number of the file's statements that persist.
	Applied int
	// Blockers are the sessions seen holding the lock on the last try.
	Blockers []lockwait.Blocker
	// Err is the server's last lock-timeout error.
	Err error
}

func (e *LockWaitError) Error() string {
	who := "another session (the server did not say which)"
	if len(e.Blockers) > 0 {
		who = lockwait.Describe(e.Blockers)
	}
	persists := "the file's transaction was rolled back and nothing of it persists"
	if !e.Transactional {
		persists = fmt.Sprintf("statements 1-%d persist and are recorded (applied %d of %d); the next upgrade resumes at statement %d", e.Applied, e.Applied, e.Total, e.Stmt)
		if e.Applied == 0 {
			persists = fmt.Sprintf("no statement of it persists (applied 0 of %d)", e.Total)
		}
	}
	return fmt.Sprintf("applying %s, statement %d (line %d): gave up after %s over %s waiting for a lock held by %s; %s: end that transaction or upgrade when it is idle, or wait longer with --ddl-retry-for",
		e.File, e.Stmt, e.Line, plural.Count(e.Tries, "try", "tries"), e.Waited.Round(time.Millisecond), who, persists)
}

// Unwrap returns the server's lock-timeout error.
func (e *LockWaitError) Unwrap() error { return e.Err }

// lockTimedOut is one try's statement that gave up its lock wait.
type lockTimedOut struct {
	stmt, line int
	blockers   []lockwait.Blocker
	err        error
}

func (e *lockTimedOut) Error() string { return e.err.Error() }
func (e *lockTimedOut) Unwrap() error { return e.err }

// exec runs one statement of a file on q, bounded by the DDL policy: the
// caller has applied the policy's settings; exec lifts the lock wait around
// a statement that waits by design (lockwait.Exempt) and, while the
// statement runs, watches for the sessions that block it. A lock wait that
// gave up comes back as a *lockTimedOut.
func (a *applier) exec(ctx context.Context, q lockwait.Execer, local bool, i, line int, text string) error {
	exempt := lockwait.Exempt(text)
	if exempt {
		if err := a.opts.DDL.Apply(ctx, q, a.dia, local, true); err != nil {
			return err
		}
	}
	delay := max(a.opts.DDL.WithDefaults().Timeout/3, 20*time.Millisecond)
	stop := lockwait.Watch(ctx, a.db, a.dia, a.session, delay)
	_, err := q.ExecContext(ctx, text)
	blockers := stop()
	if err != nil && lockwait.IsTimeout(err) && !exempt {
		return &lockTimedOut{stmt: i + 1, line: line, blockers: blockers, err: err}
	}
	if exempt && err == nil {
		err = a.opts.DDL.Apply(ctx, q, a.dia, local, false)
	}
	return err
}

// withRetry runs try (one attempt at the file) until it succeeds, fails
// otherwise, or its statements' lock waits have used the budget, pausing
// with backoff between tries and reporting each through Options.OnLockWait.
func (a *applier) withRetry(ctx context.Context, s *step, r *revstore.Revision, tx bool, try func() error) error {
	var seen []lockwait.Blocker // the blockers last seen by any try
	var lt *lockTimedOut        // the last try's lock wait
	retryable := func(err error) bool {
		if !errors.As(err, &lt) {
			return false
		}
		// A try too short for the watcher to look reports the blockers an
		// earlier try saw.
		if len(lt.blockers) > 0 {
			seen = lt.blockers
		} else {
			lt.blockers = seen
		}
		return true
	}
	onRetry := func(at lockwait.Attempt) {
		if a.opts.OnLockWait != nil {
			a.opts.OnLockWait(LockWaitEvent{File: s.file.Name, Stmt: lt.stmt, Line: lt.line, Try: at.N,
				Waited: at.Waited, Budget: at.Budget, RetryIn: at.Pause, Blockers: lt.blockers})
		}
		a.log.Info("a statement gave up waiting for a lock; retrying", "file", s.file.Name, "statement", lt.stmt,
			"try", at.N, "retry_in", at.Pause, "blockers", lockwait.Describe(lt.blockers))
	}
	err := lockwait.Retry(ctx, a.opts.DDL, try, retryable, onRetry)
	var gu *lockwait.GaveUpError
	var st *lockwait.StoppedError
	switch {
	case errors.As(err, &gu):
		return &LockWaitError{File: s.file.Name, Stmt: lt.stmt, Line: lt.line, Total: len(s.file.Stmts),
			Tries: gu.Tries, Waited: gu.Waited, Transactional: tx, Applied: r.Applied, Blockers: lt.blockers, Err: lt.err}
	case errors.As(err, &st):
		return fmt.Errorf("applying %s: stopped while waiting to retry statement %d (line %d), which waited for a lock; %s: %w",
			s.file.Name, lt.stmt, lt.line, persistsAfterStop(tx, r.Applied, len(s.file.Stmts)), st.Cause)
	}
	return err
}

func persistsAfterStop(tx bool, applied, total int) string {
	if tx || applied == 0 {
		return "nothing of the file persists"
	}
	return fmt.Sprintf("statements 1-%d persist and are recorded (applied %d of %d)", applied, applied, total)
}
