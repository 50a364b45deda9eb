// Package pgtemplate gives every test its own migrated PostgreSQL database
// in a few milliseconds, by copying a template database that holds the
// migrated schema.
//
// The template is named "weber_tpl_", 8 hex digits naming a namespace (by
// default the database the server URL names, i.e. the project), "_", and
// the first 16 hex digits of a key (the Hash of the caller's Migrator,
// internal/testdb/templates: a hash of the migration files, see
// internal/testdb/schemakey), and built by the Migrator's Migrate. It is
// built once per server and key, even when
// `go test ./...` runs many test processes at once: Ensure takes a session-level advisory lock on the maintenance
// database around the check-and-create, builds into a scratch database
// ("weber_tplbuild_..."), switches connections to it off, and only then
// renames it to the template's name, so a database with the template's
// name is always complete. Templates of the same namespace with other keys
// (an older history) are dropped under the same lock when a new one is
// built, unless in use; other namespaces (other projects sharing the
// server, or tests of this package) are never touched. Two checkouts of one
// project at different histories sharing a server each rebuild their
// template when they run after the other: correct, only slower.
//
// Clone then runs CREATE DATABASE "weber_test_<random>" TEMPLATE
// "weber_tpl_..." for each test. Because the template refuses connections
// (datallowconn = false), nobody can be connected to it, which is the one
// thing that makes CREATE DATABASE ... TEMPLATE fail; Clone still retries
// briefly on "being accessed by other users". Drop removes a clone, and
// refuses any name without the weber_test_ prefix and the database the
// server URL names. A Pool (NewPool) makes clones ahead of time in the
// background and hands them out with a connected pool, which hides both
// the CREATE DATABASE and the first connection from the test.
//
// Measured on PostgreSQL 15 with its data in /dev/shm and fsync off
// (BenchmarkClone, docs/performance.md, "Test databases", 2 busy vCPUs): a clone
// ready for its first query in about 20 ms (13 ms CREATE DATABASE, 7 ms
// connecting) at 1 or 50 migration files alike, against 62 ms and 112 ms
// for replaying them through internal/upgrade; 6-10 ms from a Pool whose
// spare is ready.
//
// For tests that need no commits, internal/testdb/rollbacktx runs a test inside a
// transaction that is rolled back at the end, on one shared clone.
package pgtemplate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/schemakey"
	"github.com/weber-framework/weber/internal/testdb/templates"
)

// Name prefixes. Every database this package creates or drops starts with
// one of them.
const (
	TemplatePrefix = "weber_tpl_"
	BuildPrefix    = "weber_tplbuild_"
	ClonePrefix    = "weber_test_"
)

// lockID is the advisory lock key that serialises template creation on a
// server ("weber_tp" in ASCII). All keys share it: building is rare, and
// dropping other keys' templates needs the same lock.
const lockID int64 = 0x77656265725f7470

// Strategy is PostgreSQL's CREATE DATABASE ... STRATEGY (15 and later).
type Strategy string

// The strategies. FileCopy copies the files between two checkpoints;
// WALLog writes every block to the WAL. Measured (BenchmarkClone): on a
// server with fsync off and its data in memory FileCopy is somewhat faster;
// on a disk-backed server with fsync on, its checkpoints make it about
// twice as slow as WALLog (~1 s against ~0.5 s on a VM disk). The default
// picks by the server's fsync setting.
const (
	StrategyDefault Strategy = ""
	FileCopy        Strategy = "FILE_COPY"
	WALLog          Strategy = "WAL_LOG"
)

// Options configure a Server. The zero value is valid.
type Options struct {
	// Logger receives a line per template built or dropped; nil discards.
	Logger *slog.Logger
	// Strategy for CREATE DATABASE. Default on PostgreSQL 15+: FileCopy
	// when the server runs with fsync off (a test server), WALLog
	// otherwise; before 15 there is no choice.
	Strategy Strategy
	// Namespace scopes templates and their clean-up; default the database
	// the server URL names. Give each project sharing a server its own.
	Namespace string
	// RetryFor bounds how long Clone retries while the template is being
	// accessed; default 5s.
	RetryFor time.Duration
}

// Server creates templates and clones on one PostgreSQL server through a
// pool on its maintenance database. It is safe for concurrent use; keep one
// per test process and server.
type Server struct {
	u        *dbconn.URL
	db       *sql.DB
	ns       string // 8 hex digits
	log      *slog.Logger
	strategy Strategy
	retryFor time.Duration
}

// Open connects to the server's maintenance database. serverURL is any
// PostgreSQL URL on the server; its own database is never created, changed
// or dropped.
func Open(ctx context.Context, serverURL *dbconn.URL, opts Options) (*Server, error) {
	if serverURL == nil || serverURL.Dialect != dialect.Postgres {
		return nil, errors.New("pgtemplate: a postgres:// server URL is required")
	}
	db, err := dbconn.OpenServer(ctx, serverURL)
	if err != nil {
		return nil, err
	}
	// Clones, drops and a Pool's producers share this pool: keep their
	// connections, since each new one costs an authentication (~5 ms).
	db.SetMaxIdleConns(8)
	ns := opts.Namespace
	if ns == "" {
		ns = serverURL.Database
	}
	s := &Server{u: serverURL, db: db, ns: schemakey.Of("pgtemplate-namespace", ns)[:8],
		log: opts.Logger, strategy: opts.Strategy, retryFor: opts.RetryFor}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.retryFor <= 0 {
		s.retryFor = 5 * time.Second
	}
	if s.strategy == StrategyDefault {
		var v int
		var fsync string
		if err := db.QueryRowContext(ctx, "SELECT current_setting('server_version_num')::int, current_setting('fsync')").Scan(&v, &fsync); err != nil {
			db.Close()
			return nil, fmt.Errorf("reading the settings of %s: %w", serverURL.Redacted(), err)
		}
		switch {
		case v < 150000: // no STRATEGY clause: the server copies files
		case fsync == "off":
			s.strategy = FileCopy
		default:
			s.strategy = WALLog
		}
	}
	return s, nil
}

// Strategy returns the CREATE DATABASE strategy Clone uses ("" before
// PostgreSQL 15).
func (s *Server) Strategy() Strategy { return s.strategy }

// Close closes the maintenance pool.
func (s *Server) Close() error { return s.db.Close() }

// URL returns the server URL naming database name.
func (s *Server) URL(name string) *dbconn.URL { return s.u.WithDatabase(name) }

// TemplateName returns the name of the template database for key.
func (s *Server) TemplateName(key string) string { return TemplatePrefix + s.ns + "_" + short(key) }

func (s *Server) buildName(key string) string { return BuildPrefix + s.ns + "_" + short(key) }

func short(key string) string {
	if len(key) > 16 {
		return key[:16]
	}
	return key
}

// Ensure returns the name of the template for m.Hash, building it with
// m.Migrate if no complete template exists. Across processes, only one
// builds; the others wait on the advisory lock and then find it built.
// After building, it drops the templates of other hashes that nobody is
// using.
func (s *Server) Ensure(ctx context.Context, m templates.Migrator) (string, error) {
	if err := m.Check("pgtemplate"); err != nil {
		return "", err
	}
	if strings.Trim(m.Hash, "0123456789abcdefABCDEF") != "" {
		return "", fmt.Errorf("pgtemplate: key %q must be hex: hash the migration files with schemakey.Dir", m.Hash)
	}
	name := s.TemplateName(m.Hash)
	if ok, err := s.exists(ctx, s.db, name); err != nil || ok {
		return name, err // the fast path: built by an earlier process
	}
	conn, unlock, err := s.lock(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	if ok, err := s.exists(ctx, conn, name); err != nil || ok {
		return name, err // another process built it while we waited
	}
	start := time.Now()
	if err := s.build(ctx, conn, m); err != nil {
		return "", err
	}
	s.log.Info("built PostgreSQL test template", "template", name, "took", time.Since(start))
	s.dropStale(ctx, conn, name)
	return name, nil
}

// lock takes the template lock on a connection of its own and returns
// the connection and the function that releases both. If the unlock
// fails, the session is discarded, which releases its locks.
func (s *Server) lock(ctx context.Context) (*sql.Conn, func(), error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, nil, s.fail("connecting to", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
		return nil, nil, s.fail("waiting for the template lock on", err)
	}
	return conn, func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockID); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Server) exists(ctx context.Context, q querier, name string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		return false, s.fail("looking up "+name+" on", err)
	}
	return n > 0, nil
}

// build creates the template under the lock: scratch database, migrate,
// close, refuse connections, rename.
func (s *Server) build(ctx context.Context, conn *sql.Conn, m templates.Migrator) error {
	key := m.Hash
	name, scratch := s.TemplateName(key), s.buildName(key)
	q := func(n string) string { return dbconn.QuoteIdent(dialect.Postgres, n) }
	// A scratch database left by a builder that died: nobody else can be
	// building it, since we hold the lock.
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+q(scratch)+" WITH (FORCE)"); err != nil {
		return s.fail("dropping the leftover "+scratch+" on", err)
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+q(scratch)+" TEMPLATE template0"); err != nil {
		return s.fail("creating "+scratch+" on", err)
	}
	u := s.u.WithDatabase(scratch)
	db, err := dbconn.Open(ctx, u)
	if err != nil {
		return err
	}
	berr := m.Migrate(ctx, db, u)
	if err := db.Close(); berr == nil {
		berr = err
	}
	if berr != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+q(scratch)+" WITH (FORCE)")
		return fmt.Errorf("building the PostgreSQL test template %s: %w", name, berr)
	}
	for _, stmt := range []string{
		"ALTER DATABASE " + q(scratch) + " WITH ALLOW_CONNECTIONS false",
		// Sessions the Migrate function leaked would block the rename.
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + scratch + "' AND pid <> pg_backend_pid()",
		"COMMENT ON DATABASE " + q(scratch) + " IS 'Weber test template, key " + key + "'",
		"ALTER DATABASE " + q(scratch) + " RENAME TO " + q(name),
	} {
		if err := retry(ctx, s.retryFor, func() error { _, err := conn.ExecContext(ctx, stmt); return err }); err != nil {
			return s.fail("finishing the template "+name+" ("+firstWords(stmt)+") on", err)
		}
	}
	return nil
}

// dropStale drops this namespace's templates and scratch databases of
// other keys. A template in use (a clone being made from it) is left for
// next time.
func (s *Server) dropStale(ctx context.Context, conn *sql.Conn, keep string) {
	templates.DropStale(ctx, conn, dialect.Postgres, keep, s.u.Database, s.log, TemplatePrefix+s.ns+"_", BuildPrefix+s.ns+"_")
}

// DropTemplates drops every template and scratch database of this
// namespace that nobody is using (under the template lock), e.g. to reclaim
// space after a test run on a long-lived server.
func (s *Server) DropTemplates(ctx context.Context) error {
	conn, unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	s.dropStale(ctx, conn, "")
	return nil
}

// Clone creates a new database "weber_test_<random>" from the template and
// returns its name; Server.URL(name) is its URL. See Pool for clones made
// ahead of time.
func (s *Server) Clone(ctx context.Context, template string) (string, error) {
	name, err := NewCloneName()
	if err != nil {
		return "", err
	}
	return s.cloneAs(ctx, template, name)
}

func (s *Server) cloneAs(ctx context.Context, template, name string) (string, error) {
	if !strings.HasPrefix(template, TemplatePrefix) {
		return "", fmt.Errorf("pgtemplate: %q is not a Weber test template (%s...): get one from Ensure", template, TemplatePrefix)
	}
	stmt := "CREATE DATABASE " + dbconn.QuoteIdent(dialect.Postgres, name) + " TEMPLATE " + dbconn.QuoteIdent(dialect.Postgres, template)
	if s.strategy != StrategyDefault {
		stmt += " STRATEGY " + string(s.strategy)
	}
	if err := retry(ctx, s.retryFor, func() error { _, err := s.db.ExecContext(ctx, stmt); return err }); err != nil {
		return "", s.fail("cloning "+template+" into "+name+" on", err)
	}
	return name, nil
}

// Drop drops a clone made by Clone, closing its sessions. It refuses any
// other name, and the database the server URL names.
func (s *Server) Drop(ctx context.Context, name string) error {
	if !strings.HasPrefix(name, ClonePrefix) || name == s.u.Database {
		return fmt.Errorf("pgtemplate: refusing to drop %q: only databases named %s... by Clone are dropped", name, ClonePrefix)
	}
	if _, err := s.db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+dbconn.QuoteIdent(dialect.Postgres, name)+" WITH (FORCE)"); err != nil {
		return s.fail("dropping "+name+" on", err)
	}
	return nil
}

// NewCloneName returns "weber_test_" and 26 random lower-case letters and
// digits (dbconn.RandomName). The error is always nil.
func NewCloneName() (string, error) {
	return dbconn.RandomName(ClonePrefix), nil
}

// retry runs f until it succeeds, fails with another error than "being
// accessed by other users" (SQLSTATE 55006), or d has passed.
func retry(ctx context.Context, d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	wait := 5 * time.Millisecond
	for {
		err := f()
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || pe.Code != "55006" || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(wait*2, 200*time.Millisecond)
	}
}

func (s *Server) fail(op string, err error) error {
	return fmt.Errorf("%s %s: %s", op, s.u.Redacted(), strings.ReplaceAll(err.Error(), "\n", " "))
}

func firstWords(s string) string {
	f := strings.Fields(s)
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}

// Ensure opens the server, ensures the template for m, and closes it.
// Prefer a Server kept for the whole test process.
func Ensure(ctx context.Context, serverURL *dbconn.URL, m templates.Migrator) (string, error) {
	s, err := Open(ctx, serverURL, Options{})
	if err != nil {
		return "", err
	}
	defer s.Close()
	return s.Ensure(ctx, m)
}

// Clone opens the server, clones the template, and closes it. Prefer a
// Server kept for the whole test process: opening one costs a connection.
func Clone(ctx context.Context, serverURL *dbconn.URL, template string) (string, error) {
	s, err := Open(ctx, serverURL, Options{})
	if err != nil {
		return "", err
	}
	defer s.Close()
	return s.Clone(ctx, template)
}
