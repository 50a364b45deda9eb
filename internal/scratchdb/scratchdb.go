// Package scratchdb owns the scratch databases Weber creates on a
// PostgreSQL or MySQL server for a while (the dev databases of revision,
// lint, check and status, verify's rehearsals, the pre-flight check) and
// removes the ones a killed process left behind.
//
// Ownership is a lock named after the database, taken before the database
// is created and held, on a connection of its own, until it is dropped: a
// PostgreSQL advisory lock (in the maintenance database, where every Weber
// process takes it) or a MySQL GET_LOCK. The server releases it when the
// owner's connection ends, kill -9 included. Before creating a database,
// Create removes every scratch database whose lock it can take: no live
// process owns it. Only names of the form prefix + "o" + 12 hex digits
// carry such a lock; scratch databases of older Weber versions (prefix +
// hex digits) are never touched.
//
// The same drop step (DropUnused) removes the test templates of
// internal/testdb/pgtemplate and internal/testdb/mysqlclone that nobody uses.
package scratchdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/errtext"
)

// Prefixes of the scratch databases Weber creates.
const (
	DevPrefix       = "weber_dev_"
	VerifyPrefix    = "weber_verify_"
	PreflightPrefix = "weber_preflight_"
)

// owned matches the names Create gives: a prefix, "o", 12 hex digits.
var owned = regexp.MustCompile(`^weber_(?:dev|verify|preflight)_o[0-9a-f]{12}$`)

// Owned reports whether name is a scratch database made by Create, which a
// live owner holds a lock on.
func Owned(name string) bool { return owned.MatchString(name) }

// dropTimeout bounds dropping after the work is done, even when the
// caller's context was cancelled.
const dropTimeout = 30 * time.Second

// DB is a scratch database this process created and owns until Drop.
type DB struct {
	// URL is the scratch database's URL.
	URL *dbconn.URL
	// Removed names the scratch databases of dead processes that Create
	// removed from the server first.
	Removed []string
	// Kept names, with the reason, stale scratch databases Create could not
	// remove.
	Kept []string

	server *sql.DB
	owner  *sql.Conn
}

// Create creates a new scratch database prefix + "o" + 12 random hex
// digits on the server that server names (its database is never touched)
// and takes its owner lock; first it removes the scratch databases of
// processes that died (DB.Removed). Drop removes the database.
func Create(ctx context.Context, server *dbconn.URL, prefix string) (*DB, error) {
	if server.Dialect != dialect.Postgres && server.Dialect != dialect.MySQL {
		return nil, fmt.Errorf("scratch databases live on PostgreSQL or MySQL servers, not %s", server.Dialect)
	}
	name, err := newName(prefix)
	if err != nil {
		return nil, err
	}
	srv, err := dbconn.OpenServer(ctx, server)
	if err != nil {
		return nil, err
	}
	d := &DB{URL: server.WithDatabase(name), server: srv}
	d.Removed, d.Kept = reap(ctx, srv, server.Dialect)
	if d.owner, err = srv.Conn(ctx); err != nil {
		srv.Close()
		return nil, fmt.Errorf("creating a scratch database on %s: %w", server.Redacted(), err)
	}
	if ok, err := tryLock(ctx, d.owner, server.Dialect, name); err != nil || !ok {
		d.close()
		if err == nil {
			err = errors.New("its name is locked by another process")
		}
		return nil, fmt.Errorf("creating the scratch database %s: %w", name, err)
	}
	if _, err := dbconn.EnsureDatabase(ctx, d.URL); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// Drop removes the scratch database and releases its lock, even when ctx
// was cancelled.
func (d *DB) Drop(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dropTimeout)
	defer cancel()
	_, err := dbconn.DropDatabase(dctx, d.URL)
	d.close()
	if err != nil {
		return fmt.Errorf("dropping the scratch database %s: %w (drop it by hand)", d.URL.Database, err)
	}
	return nil
}

// close ends the owner's session (which releases its lock) and the pool.
func (d *DB) close() {
	if d.owner != nil {
		_ = d.owner.Raw(func(any) error { return driver.ErrBadConn }) // end the session: it holds the lock
		d.owner.Close()
	}
	d.server.Close()
}

func newName(prefix string) (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("naming a scratch database: %w", err)
	}
	return prefix + "o" + hex.EncodeToString(b), nil
}

// Reap removes the scratch databases on the server that no live process
// owns and returns their names, and those it could not remove with the
// reason.
func Reap(ctx context.Context, server *dbconn.URL) (removed, kept []string, err error) {
	srv, err := dbconn.OpenServer(ctx, server)
	if err != nil {
		return nil, nil, err
	}
	defer srv.Close()
	removed, kept = reap(ctx, srv, server.Dialect)
	return removed, kept, nil
}

// reap is Reap on an open server; a failure to list is a kept entry.
func reap(ctx context.Context, srv *sql.DB, dia string) (removed, kept []string) {
	conn, err := srv.Conn(ctx)
	if err != nil {
		return nil, []string{"listing scratch databases: " + err.Error()}
	}
	defer conn.Close()
	var names []string
	for _, p := range []string{DevPrefix, VerifyPrefix, PreflightPrefix} {
		ns, err := List(ctx, conn, dia, p)
		if err != nil {
			return nil, []string{"listing scratch databases: " + err.Error()}
		}
		for _, n := range ns {
			if Owned(n) {
				names = append(names, n)
			}
		}
	}
	for _, n := range names {
		ok, err := tryLock(ctx, conn, dia, n)
		if err != nil || !ok {
			continue // a live owner
		}
		dropped, why := DropUnused(ctx, conn, dia, []string{n}, true)
		unlock(ctx, conn, dia, n)
		removed = append(removed, dropped...)
		kept = append(kept, why...)
	}
	return removed, kept
}

// List returns the databases on the server whose names start with prefix.
func List(ctx context.Context, q Querier, dia, prefix string) ([]string, error) {
	query := "SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname"
	arg := prefix
	if dia == dialect.MySQL {
		query = "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ? ORDER BY schema_name"
		arg = strings.NewReplacer("_", `\_`, "%", `\%`).Replace(prefix) + "%"
	}
	rows, err := q.QueryContext(ctx, query, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Querier is a *sql.DB or *sql.Conn.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// DropUnused drops the databases of names that nobody uses and returns
// those it dropped and, one line each, those it kept. On PostgreSQL a
// database with a session is in use: without force it is kept (DROP
// without FORCE would fail on it anyway); with force, for a database whose
// owner lock proves its owner dead, the sessions it left are ended. MySQL
// has no notion of a database in use: each is dropped.
func DropUnused(ctx context.Context, q Querier, dia string, names []string, force bool) (dropped, kept []string) {
	for _, n := range names {
		stmt := "DROP DATABASE IF EXISTS " + dbconn.QuoteIdent(dia, n)
		if dia == dialect.Postgres {
			var sessions int
			if err := q.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", n).Scan(&sessions); err != nil {
				kept = append(kept, n+": "+errtext.OneLine(err))
				continue
			}
			if sessions > 0 && !force {
				kept = append(kept, n+": in use")
				continue
			}
			if force {
				stmt += " WITH (FORCE)"
			}
		}
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			kept = append(kept, n+": "+errtext.OneLine(err))
			continue
		}
		dropped = append(dropped, n)
	}
	return dropped, kept
}

// lockKey is the PostgreSQL advisory lock key of a scratch database.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("weber scratch " + name))
	return int64(h.Sum64())
}

// tryLock takes the owner lock of the database name without waiting.
func tryLock(ctx context.Context, q Querier, dia, name string) (bool, error) {
	var got sql.NullInt64
	var err error
	if dia == dialect.Postgres {
		var b bool
		err = q.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", lockKey(name)).Scan(&b)
		return b, err
	}
	err = q.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", name).Scan(&got)
	return got.Valid && got.Int64 == 1, err
}

// unlock releases a lock tryLock took.
func unlock(ctx context.Context, q Querier, dia, name string) {
	if dia == dialect.Postgres {
		q.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey(name))
		return
	}
	q.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", name)
}
