package dbconn

import (
	"database/sql"
	"fmt"
	"time"
)

// Pool limits an application's connection pool. A fleet of app copies
// shares the server's (or the pooler's) connection limit: each copy opens
// at most MaxOpen connections, so copies x MaxOpen must stay below it.
type Pool struct {
	// MaxOpen bounds the connections open at once, in use or idle (0 = no
	// bound, database/sql's default; DefaultPool.MaxOpen otherwise).
	MaxOpen int
	// MaxIdle bounds the idle connections kept for reuse (0 = keep none).
	// database/sql lowers it to MaxOpen when it is larger.
	MaxIdle int
	// MaxLifetime closes a connection this long after it was opened, once
	// it is idle (0 = never): servers behind a load balancer or a pooler
	// that is restarted get their connections spread again.
	MaxLifetime time.Duration
	// MaxIdleTime closes a connection idle this long (0 = never).
	MaxIdleTime time.Duration
}

// DefaultPool is what `weberctl serve` uses unless told otherwise: enough
// for one app copy's concurrent requests, few enough that a handful of
// copies fit PostgreSQL's default max_connections (100) and a PgBouncer's
// default pool (20 server connections per database and user) serves them
// without queueing for long.
var DefaultPool = Pool{MaxOpen: 10, MaxIdle: 5, MaxLifetime: 30 * time.Minute, MaxIdleTime: 5 * time.Minute}

// Validate refuses negative limits, which database/sql would read as
// "unbounded" or "none" without a word.
func (p Pool) Validate() error {
	switch {
	case p.MaxOpen < 0:
		return fmt.Errorf("the pool's maximum of open connections is %d: give a positive number, or 0 for no bound", p.MaxOpen)
	case p.MaxIdle < 0:
		return fmt.Errorf("the pool's maximum of idle connections is %d: give a positive number, or 0 to keep none", p.MaxIdle)
	case p.MaxLifetime < 0:
		return fmt.Errorf("the connections' maximum lifetime is %s: give a positive duration, or 0 for none", p.MaxLifetime)
	case p.MaxIdleTime < 0:
		return fmt.Errorf("the connections' maximum idle time is %s: give a positive duration, or 0 for none", p.MaxIdleTime)
	}
	return nil
}

// Apply sets the limits on db. An in-memory SQLite database keeps its one
// connection (see Open): it would vanish with it.
func (p Pool) Apply(db *sql.DB, u *URL) {
	if u.Memory {
		return
	}
	db.SetMaxOpenConns(p.MaxOpen)
	db.SetMaxIdleConns(p.MaxIdle)
	db.SetConnMaxLifetime(p.MaxLifetime)
	db.SetConnMaxIdleTime(p.MaxIdleTime)
}
