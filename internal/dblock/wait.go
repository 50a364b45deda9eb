package dblock

import (
	"context"
	"time"
)

// Wait describes a wait for the migration lock: Acquire found it held by
// someone else and is about to wait for it.
type Wait struct {
	// Database is the database's URL without its password.
	Database string
	// Holder names who holds the lock, where the backend can tell: the
	// PostgreSQL backend (pid, application_name, user, client address,
	// since when it holds the lock), the MySQL connection (id, user, host,
	// how long in its state), or the process holding an SQLite file (pid,
	// command line without passwords). "" when it cannot tell.
	Holder string
	// Timeout is how long Acquire waits at most.
	Timeout time.Duration
}

// waitNoticeKey is the context key of WithWaitNotice.
type waitNoticeKey struct{}

// WithWaitNotice returns a copy of ctx that makes Acquire call notify once,
// when it finds the lock held and starts to wait for it (never when the
// timeout is 0 or less: then it does not wait). The caller decides how to
// tell its user; dblock itself never prints. The hook travels in the
// context, as net/http/httptrace's do, so that it reaches Acquire through
// the engine calls that take the lock (upgrade, downgrade, ensure) without
// each of them carrying an option for it. notify runs on Acquire's
// goroutine and must return quickly.
func WithWaitNotice(ctx context.Context, notify func(Wait)) context.Context {
	return context.WithValue(ctx, waitNoticeKey{}, notify)
}

// waitNotice returns the hook WithWaitNotice put in ctx, or nil.
func waitNotice(ctx context.Context) func(Wait) {
	f, _ := ctx.Value(waitNoticeKey{}).(func(Wait))
	return f
}

// holderTimeout bounds the query that names the lock's holder.
const holderTimeout = 2 * time.Second

// describeHolder asks the backend who holds the lock, within holderTimeout.
func describeHolder(ctx context.Context, b backend) string {
	hctx, cancel := context.WithTimeout(ctx, holderTimeout)
	defer cancel()
	return b.holder(hctx)
}
