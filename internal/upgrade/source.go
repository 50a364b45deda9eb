package upgrade

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
)

// Source is a database and its dialect's migration folder, as every
// operation reads them: built once (NewSource), it is the prologue that
// Upgrade, Downgrade, Status, History and drift's comparison with the
// history share. It holds no connection of its own and is safe for
// concurrent use.
type Source struct {
	db      *sql.DB
	u       *dbconn.URL
	dirPath string
	log     *slog.Logger
	store   *revstore.Store
}

// NewSource checks and keeps what the operations read: the database db
// that u names, the dialect folder dirPath (e.g. migrations/sqlite), and
// log (nil discards). op ("upgrade", "status"...) prefixes its errors.
func NewSource(db *sql.DB, u *dbconn.URL, dirPath string, log *slog.Logger, op string) (*Source, error) {
	if db == nil || u == nil {
		return nil, fmt.Errorf("%s: no database given: open it with dbconn.Open first", op)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	store, err := revstore.New(u.Dialect)
	if err != nil {
		return nil, err
	}
	return &Source{db: db, u: u, dirPath: dirPath, log: log, store: store}, nil
}

// DB returns the database.
func (s *Source) DB() *sql.DB { return s.db }

// URL returns the database's URL.
func (s *Source) URL() *dbconn.URL { return s.u }

// Dir returns the dialect folder's path.
func (s *Source) Dir() string { return s.dirPath }

// Logger returns the logger (never nil).
func (s *Source) Logger() *slog.Logger { return s.log }

// withLogger returns s logging to log instead, when log is set.
func (s *Source) withLogger(log *slog.Logger) *Source {
	if log == nil {
		return s
	}
	c := *s
	c.log = log
	return &c
}

// Revisions reads the applied revisions through q, oldest first: none
// when the revision table does not exist (exists is false). op prefixes
// its errors.
func (s *Source) Revisions(ctx context.Context, q revstore.Execer, op string) (exists bool, revs []*revstore.Revision, err error) {
	if exists, err = s.store.Exists(ctx, q); err != nil {
		return false, nil, fmt.Errorf("%s: %w", op, err)
	}
	if !exists {
		return false, nil, nil
	}
	if revs, err = s.store.ReadAll(ctx, q); err != nil {
		return true, nil, fmt.Errorf("%s: %w", op, err)
	}
	return true, revs, nil
}

// openForChange is the start of an operation that changes the database:
// it refuses a system database, then opens the directory and checks the
// MySQL flavour it was written for.
func (s *Source) openForChange(ctx context.Context, op string) (*migdir.Dir, error) {
	if err := s.u.RefuseSystem(op); err != nil {
		return nil, err
	}
	dir, err := migdir.OpenDialect(s.dirPath, s.u.Dialect)
	if err != nil {
		return nil, err
	}
	if err := checkFlavor(ctx, s.db, s.u, s.dirPath, dir, op); err != nil {
		return nil, err
	}
	return dir, nil
}

// session is a changing operation's hold on the database: the migration
// lock (none in a dry run) and one pinned connection.
type session struct {
	conn     *sql.Conn
	lockWait time.Duration
	release  func()
}

// unlock releases the lock, if one was taken.
func (ss *session) unlock() {
	if ss.release != nil {
		ss.release()
	}
}

// begin takes the migration lock (unless dryRun), waiting up to timeout,
// then pins one connection: SQLite's foreign_keys pragma is per
// connection, and it keeps the run off a busy pool.
func (s *Source) begin(ctx context.Context, op string, timeout time.Duration, dryRun bool) (*session, error) {
	ss := &session{}
	if !dryRun {
		lstart := time.Now()
		release, err := lock(ctx, s.db, s.u, timeout, op, s.log)
		if err != nil {
			return nil, err
		}
		ss.release, ss.lockWait = release, time.Since(lstart)
		s.log.Debug("migration lock held", "waited", ss.lockWait)
	}
	var err error
	if ss.conn, err = s.db.Conn(ctx); err != nil {
		ss.unlock()
		return nil, fmt.Errorf("%s: connecting to %s: %w", op, s.u.Redacted(), err)
	}
	return ss, nil
}
