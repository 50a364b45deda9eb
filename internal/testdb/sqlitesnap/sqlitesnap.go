// Package sqlitesnap gives every test a private, migrated SQLite database in
// well under a millisecond, however long the migration history is.
//
// The schema is built once per test process and key (Cache.Build): the
// caller's Migrator (internal/testdb/templates) migrates a fresh database
// file, exactly as production would (the real migration files through the
// real engine), and sqlitesnap keeps the finished database as an in-memory
// image (SQLite's serialize API) and as a source connection holding it.
//
// Clone copies the template into a new, uniquely named in-memory database
// of SQLite's memdb VFS ("file:/weber-clone-<random>?vfs=memdb", filled
// page by page with the backup API) and returns a pool on it: several
// connections see the same private database, foreign keys on, a busy
// timeout and immediate transactions as dbconn sets them. A hidden keeper
// connection holds the database alive until the pool is closed, so idle
// connections may come and go. Nothing is shared between clones and
// nothing behind the pool is a bare ":memory:". Locking is SQLite's
// rollback-journal locking, simplified by memdb: readers run together, and
// a transaction that has written makes the other connections wait (up to
// the busy timeout, 10 s) until it ends; there is no WAL in memory.
//
// CloneSingle is the leanest form: the image deserialized into one new
// connection, in a pool of exactly that connection (a quarter to a third
// faster). A test on it must not use the pool while it holds a transaction
// open (it would wait forever for the one connection), and a lost
// connection is an error (ErrConnectionLost) rather than a silently empty
// database. CloneFile writes the image to a file, for a test that hands
// the database to another process.
//
// Measured (BenchmarkClone, docs/performance.md, "Test databases", 2 shared vCPUs):
// a Clone ready for its first query takes 0.16-0.19 ms at 1 migration file
// and 0.51 ms at 50 (SQLite parses the schema on each connection's first
// statement: the cost grows with the schema, not the history), against
// 0.6 ms and 14 ms for replaying the history through internal/upgrade;
// CloneSingle 0.12 ms and 0.35 ms; CloneFile 3-7 ms (a WAL file on disk).
package sqlitesnap

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	sqlite "modernc.org/sqlite"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/templates"
)

// ErrConnectionLost is returned when a CloneSingle pool asks for a second
// connection: the first one, which held the database, is gone, and with it
// the database.
var ErrConnectionLost = errors.New("sqlitesnap: the clone's only connection was closed, and its in-memory database with it")

// Template is a migrated database kept in memory, from which Clone makes
// private copies. It is immutable and safe for concurrent use. It holds
// one SQLite connection (the source of Clone's copies) for the life of the
// process.
type Template struct {
	key      string
	image    []byte
	took     time.Duration
	driver   driver.Driver
	cloneDSN string // CloneSingle's private in-memory database

	// src holds the image for Clone's backups: one connection, used by
	// one backup at a time, kept for the life of the process.
	srcMu sync.Mutex
	src   driver.Conn
}

// Key returns the key the template was built for.
func (t *Template) Key() string { return t.key }

// Size returns the size of the database image in bytes.
func (t *Template) Size() int { return len(t.image) }

// BuildDuration returns how long the Migrator's Migrate and the snapshot took.
func (t *Template) BuildDuration() time.Duration { return t.took }

// Cache memoises templates by key. The zero value is ready to use and safe
// for concurrent callers: a test package keeps one Cache for the whole
// process (a package-level variable in internal/testdb), so the history is
// replayed once per process and key, not once per test.
type Cache struct {
	// Logger receives one line per template built; nil discards.
	Logger *slog.Logger

	mu sync.Mutex
	m  map[string]*entry
}

type entry struct {
	done chan struct{}
	t    *Template
	err  error
}

// Build returns the template for m.Hash, calling m.Migrate the first time
// the hash is seen in this Cache. Concurrent callers with the same hash
// wait for the one build; a failed build is remembered and returned to
// every later caller (except a cancelled one, which the next caller
// retries).
func (c *Cache) Build(ctx context.Context, m templates.Migrator) (*Template, error) {
	if err := m.Check("sqlitesnap"); err != nil {
		return nil, err
	}
	key := m.Hash
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*entry{}
	}
	e, ok := c.m[key]
	if !ok {
		e = &entry{done: make(chan struct{})}
		c.m[key] = e
	}
	c.mu.Unlock()
	if ok {
		select {
		case <-e.done:
			if e.err != nil && (errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded)) {
				c.forget(key, e)
				return c.Build(ctx, m)
			}
			return e.t, e.err
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the SQLite template %s: %w", short(key), ctx.Err())
		}
	}
	e.t, e.err = New(ctx, m)
	if e.err == nil && c.Logger != nil {
		c.Logger.Info("built SQLite test template", "key", short(key), "bytes", e.t.Size(), "took", e.t.took)
	}
	close(e.done)
	return e.t, e.err
}

func (c *Cache) forget(key string, e *entry) {
	c.mu.Lock()
	if c.m[key] == e {
		delete(c.m, key)
	}
	c.mu.Unlock()
}

// New builds a template without memoising it: it migrates a fresh database
// file in a temporary directory with m.Migrate, snapshots it, and removes
// the directory. Most callers want Cache.Build.
func New(ctx context.Context, m templates.Migrator) (*Template, error) {
	if err := m.Check("sqlitesnap"); err != nil {
		return nil, err
	}
	key := m.Hash
	start := time.Now()
	dir, err := os.MkdirTemp("", "weber-sqlitesnap-")
	if err != nil {
		return nil, fmt.Errorf("building the SQLite template %s: %w: check TMPDIR", short(key), err)
	}
	defer os.RemoveAll(dir)
	u, err := dbconn.Parse("sqlite://" + filepath.Join(dir, "template.db"))
	if err != nil {
		return nil, err
	}
	db, err := dbconn.Open(ctx, u)
	if err != nil {
		return nil, err
	}
	if err := m.Migrate(ctx, db, u); err != nil {
		db.Close()
		return nil, fmt.Errorf("building the SQLite template %s: %w", short(key), err)
	}
	if err := db.Close(); err != nil {
		return nil, fmt.Errorf("closing the SQLite template %s: %w", short(key), err)
	}
	image, err := snapshot(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("snapshotting the SQLite template %s: %w", short(key), err)
	}
	drv, err := sqliteDriver()
	if err != nil {
		return nil, err
	}
	t := &Template{
		key:    key,
		image:  image,
		took:   time.Since(start),
		driver: drv,
		// A private in-memory database (no cache=shared), replaced by the
		// image on connect. Pragmas match dbconn's: foreign keys on, a busy
		// timeout, immediate transactions.
		cloneDSN: "file:weber-clone?mode=memory" + pragmas,
	}
	if t.src, err = t.openImage(); err != nil {
		return nil, fmt.Errorf("loading the SQLite template %s: %w", short(key), err)
	}
	return t, nil
}

// pragmas are dbconn's settings for every connection: foreign keys on, a
// busy timeout, immediate transactions.
const pragmas = "&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_txlock=immediate"

// openImage returns a new connection holding a private copy of the image.
func (t *Template) openImage() (driver.Conn, error) {
	conn, err := t.driver.Open(t.cloneDSN)
	if err != nil {
		return nil, err
	}
	d, ok := conn.(interface{ Deserialize([]byte) error })
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("driver connection %T cannot deserialize: modernc.org/sqlite v1.62+ is required", conn)
	}
	if err := d.Deserialize(t.image); err != nil {
		conn.Close()
		return nil, fmt.Errorf("loading the template image: %w", err)
	}
	return conn, nil
}

// snapshot reads the migrated file back as one self-contained image: WAL
// folded in and the journal mode set back to rollback, since an in-memory
// database cannot be in WAL mode. It also checks the result's integrity
// and foreign keys once, so that no clone starts broken.
func snapshot(ctx context.Context, u *dbconn.URL) ([]byte, error) {
	db, err := sql.Open("sqlite", "file:"+u.Database+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	for _, q := range []string{"PRAGMA wal_checkpoint(TRUNCATE)", "PRAGMA journal_mode=DELETE"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	var ok string
	if err := conn.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&ok); err != nil || ok != "ok" {
		return nil, fmt.Errorf("quick_check: %q %v: the build left a damaged database", ok, err)
	}
	rows, err := conn.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return nil, err
	}
	bad := rows.Next()
	rows.Close()
	if bad {
		return nil, errors.New("the migrated database violates a foreign key: run PRAGMA foreign_key_check on it")
	}
	var image []byte
	err = conn.Raw(func(dc any) error {
		s, ok := dc.(interface{ Serialize() ([]byte, error) })
		if !ok {
			return fmt.Errorf("driver connection %T cannot serialize: modernc.org/sqlite v1.62+ is required", dc)
		}
		image, err = s.Serialize()
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(image) < 100 || !bytes.HasPrefix(image, []byte("SQLite format 3\x00")) || image[18] != 1 || image[19] != 1 {
		return nil, errors.New("the snapshot is not a rollback-journal SQLite image")
	}
	return image, nil
}

// sqliteDriver returns the driver registered as "sqlite" (modernc.org/sqlite).
func sqliteDriver() (driver.Driver, error) {
	db, err := sql.Open("sqlite", "")
	if err != nil {
		return nil, fmt.Errorf("finding the sqlite driver: %w", err)
	}
	defer db.Close()
	return db.Driver(), nil
}

// Clone returns a new, private in-memory copy of the template and a pool
// on it that may open several connections, all seeing the same database
// (foreign keys on, busy timeout, immediate transactions). Closing the
// pool frees the database. Hand it to ent with
// entsql.OpenDB(dialect.SQLite, db).
func (t *Template) Clone(ctx context.Context) (*sql.DB, error) {
	dsn := "file:" + dbconn.RandomName("/weber-clone-") + "?vfs=memdb" + pragmas
	keeper, err := t.backupTo(dsn)
	if err != nil {
		return nil, fmt.Errorf("cloning the SQLite template %s: %w", short(t.key), err)
	}
	db := sql.OpenDB(&sharedConnector{driver: t.driver, dsn: dsn, keeper: keeper})
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("cloning the SQLite template %s: %w", short(t.key), err)
	}
	return db, nil
}

// backupTo copies the template, page by page, into a new connection on
// dsn, and returns that connection.
func (t *Template) backupTo(dsn string) (driver.Conn, error) {
	t.srcMu.Lock()
	defer t.srcMu.Unlock()
	src, ok := t.src.(interface {
		NewBackup(string) (*sqlite.Backup, error)
	})
	if !ok {
		return nil, fmt.Errorf("driver connection %T has no backup API: modernc.org/sqlite v1.62+ is required", t.src)
	}
	bk, err := src.NewBackup(dsn)
	if err != nil {
		return nil, err
	}
	if _, err := bk.Step(-1); err != nil {
		bk.Finish()
		return nil, err
	}
	return bk.Commit()
}

// sharedConnector opens connections to one named memdb database, which
// its keeper connection holds alive until the pool is closed.
type sharedConnector struct {
	driver driver.Driver
	dsn    string
	keeper driver.Conn
}

func (c *sharedConnector) Connect(context.Context) (driver.Conn, error) { return c.driver.Open(c.dsn) }

func (c *sharedConnector) Driver() driver.Driver { return c.driver }

// Close is called by sql.DB.Close: the database goes with its last
// connection.
func (c *sharedConnector) Close() error { return c.keeper.Close() }

// CloneSingle returns a new, private in-memory copy of the template in a
// pool of exactly one connection: the image deserialized into it. It is
// the fastest clone; see the package documentation for its limits.
func (t *Template) CloneSingle(ctx context.Context) (*sql.DB, error) {
	db := sql.OpenDB(&connector{t: t})
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("cloning the SQLite template %s: %w", short(t.key), err)
	}
	return db, nil
}

// CloneFile writes the template to a new file in dir (which the caller
// owns, e.g. t.TempDir()) and opens it with dbconn.Open: a normal pool
// with several connections, WAL, foreign keys on. It returns the pool and
// the file's URL. Use it when a test needs concurrent connections.
func (t *Template) CloneFile(ctx context.Context, dir string) (*sql.DB, *dbconn.URL, error) {
	f, err := os.CreateTemp(dir, "weber_test_*.db")
	if err != nil {
		return nil, nil, fmt.Errorf("cloning the SQLite template %s into %s: %w", short(t.key), dir, err)
	}
	_, werr := f.Write(t.image)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(f.Name())
		return nil, nil, fmt.Errorf("cloning the SQLite template %s into %s: %w", short(t.key), f.Name(), werr)
	}
	u, err := dbconn.Parse("sqlite://" + f.Name())
	if err != nil {
		return nil, nil, err
	}
	db, err := dbconn.Open(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	return db, u, nil
}

// connector hands database/sql one connection holding a fresh copy of the
// template, and refuses any further one.
type connector struct {
	t    *Template
	used atomic.Bool
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	if !c.used.CompareAndSwap(false, true) {
		return nil, ErrConnectionLost
	}
	return c.t.openImage()
}

func (c *connector) Driver() driver.Driver { return c.t.driver }

func short(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}
