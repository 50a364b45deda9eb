package dblock

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/weber-framework/weber/internal/errtext"
)

// pgNamespace prefixes the database name in the advisory lock's key, so that
// Weber's key does not collide with the small integers other tools use.
const pgNamespace = "weber:migrate:"

// postgresLock is a session-level advisory lock on the key derived from the
// database's name.
type postgresLock struct{ key int64 }

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
		return fmt.Errorf("reading the database name on the lock's connection: %w", err)
	}
	p.key = pgKey(name)
	// Name the session after this process, so that whoever waits sees it in
	// the timeout message and in pg_stat_activity.
	if _, err := conn.ExecContext(ctx, "SELECT set_config('application_name', $1, false)", owner()); err != nil {
		return fmt.Errorf("naming the lock's session: %w", err)
	}
	// The session sits idle while the migration runs on other connections:
	// a server-side idle timeout (PostgreSQL 14+) must not end it, since that
	// would free the lock mid-migration. Older servers lack the setting.
	_, _ = conn.ExecContext(ctx, "SET idle_session_timeout = 0")
	return nil
}

func (p *postgresLock) try(ctx context.Context, conn *sql.Conn) (bool, error) {
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", p.key).Scan(&ok); err != nil {
		return false, fmt.Errorf("pg_try_advisory_lock: %s", errtext.OneLine(err))
	}
	return ok, nil
}

// holder names the backend holding the lock from pg_locks, where a bigint
// advisory key appears split in classid (high 32 bits) and objid (low).
func (p *postgresLock) holder(ctx context.Context, conn *sql.Conn) string {
	const q = `SELECT a.pid, COALESCE(a.application_name, ''), COALESCE(a.usename::text, ''),
		COALESCE(host(a.client_addr), ''), a.backend_start
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
		details = append(details, "connected "+since.Time.UTC().Format(time.RFC3339))
	}
	s := fmt.Sprintf("PostgreSQL backend pid %d", pid)
	if len(details) > 0 {
		s += " (" + strings.Join(details, ", ") + ")"
	}
	return s
}

func (p *postgresLock) unlock(ctx context.Context, conn *sql.Conn) error {
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1)", p.key).Scan(&ok); err != nil {
		return fmt.Errorf("pg_advisory_unlock: %s: the lock's session may have been lost, which freed the lock early; "+
			"check that no other schema change ran meanwhile", errtext.OneLine(err))
	}
	if !ok {
		return fmt.Errorf("pg_advisory_unlock: the lock was no longer held by its session; " +
			"check that no other schema change ran meanwhile")
	}
	return nil
}
