// Package mysqlclone gives every test its own migrated MySQL or MariaDB
// database, by copying the tables of a migrated template database.
//
// MySQL has no CREATE DATABASE ... TEMPLATE. The template is an ordinary
// database, "weber_tpl_<namespace>_<key>", built once per server and key
// (under GET_LOCK, so only one test process builds it) by the caller's
// Migrator (internal/testdb/templates), whose Migrate replays the real
// migration files; a marker table created last says it is complete. Each process then reads the template
// once (SHOW CREATE TABLE for every table, and which tables hold rows) and
// each Clone creates "weber_test_<random>" and runs those CREATE TABLE
// statements in it with FOREIGN_KEY_CHECKS=0 (so the order does not
// matter), then copies the rows of the tables that have any (the revision
// table, seed data) with INSERT ... SELECT. SHOW CREATE TABLE keeps the
// foreign keys, which CREATE TABLE ... LIKE would drop.
//
// A template with views, triggers, routines or events, whose definitions
// name their database, is not copied: Clone replays the Migrator's
// Migrate in the new database instead (correct, just slower).
//
// Measured on MariaDB 10.11 with its data in /dev/shm (BenchmarkClone,
// docs/performance.md, "Test databases"): 2.8 ms at 1 migration file and 18 ms at 50,
// against 7.8 ms and 119 ms for replaying them through internal/upgrade.
// One CREATE TABLE per final table replaces every CREATE, ALTER, CREATE
// INDEX and revision write of the history, so the copy grows with the
// schema, not the history. CREATE TABLE ... LIKE was not chosen: it drops
// the foreign keys, which would each need an ALTER TABLE afterwards.
package mysqlclone

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

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/testdb/schemakey"
	"github.com/weber-framework/weber/internal/testdb/templates"
)

// Name prefixes. Every database this package creates or drops starts with
// one of them.
const (
	TemplatePrefix = "weber_tpl_"
	ClonePrefix    = "weber_test_"
)

// markerTable is created in a template last, when it is complete, and is
// never copied into clones.
const markerTable = "weber_template_complete"

// lockName is the GET_LOCK name that serialises template creation.
const lockName = "weber_mysqlclone_templates"

// Options configure a Server. The zero value is valid.
type Options struct {
	// Logger receives a line per template built or dropped; nil discards.
	Logger *slog.Logger
	// Namespace scopes templates and their clean-up; default the database
	// the server URL names.
	Namespace string
	// LockTimeout bounds the wait for another process building a
	// template; default 2 minutes.
	LockTimeout time.Duration
}

// Server creates templates and clones on one MySQL/MariaDB server. Safe
// for concurrent use; keep one per test process and server.
type Server struct {
	u       *dbconn.URL
	db      *sql.DB
	ns      string
	log     *slog.Logger
	timeout time.Duration
}

// Template is a complete template database, read once: the statements
// that recreate its tables and the tables whose rows are copied.
type Template struct {
	name    string
	charset string
	collate string
	creates []string // CREATE TABLE statements, unqualified
	copies  []string // tables with rows
	migrate templates.MigrateFunc
	replay  bool // views, triggers, routines or events: replay migrate instead
}

// Name returns the template database's name.
func (t *Template) Name() string { return t.name }

// Replays reports whether clones of this template are made by replaying
// the Migrator's Migrate (the template has views, triggers, routines or events).
func (t *Template) Replays() bool { return t.replay }

// Open connects to the server (no database selected). serverURL is any
// MySQL URL on the server; its own database is never created, changed or
// dropped.
func Open(ctx context.Context, serverURL *dbconn.URL, opts Options) (*Server, error) {
	if serverURL == nil || serverURL.Dialect != dialect.MySQL {
		return nil, errors.New("mysqlclone: a mysql:// server URL is required")
	}
	db, err := dbconn.OpenServer(ctx, serverURL)
	if err != nil {
		return nil, err
	}
	ns := opts.Namespace
	if ns == "" {
		ns = serverURL.Database
	}
	s := &Server{u: serverURL, db: db, ns: schemakey.Of("mysqlclone-namespace", ns)[:8], log: opts.Logger, timeout: opts.LockTimeout}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.timeout <= 0 {
		s.timeout = 2 * time.Minute
	}
	return s, nil
}

// Close closes the server pool.
func (s *Server) Close() error { return s.db.Close() }

// URL returns the server URL naming database name.
func (s *Server) URL(name string) *dbconn.URL { return s.u.WithDatabase(name) }

// TemplateName returns the name of the template database for key.
func (s *Server) TemplateName(key string) string {
	if len(key) > 16 {
		key = key[:16]
	}
	return TemplatePrefix + s.ns + "_" + key
}

func q(name string) string { return dbconn.QuoteIdent(dialect.MySQL, name) }

// Ensure returns the template for m.Hash, building it with m.Migrate if no
// complete one exists, and reads it for cloning. Across processes only one
// builds; after building, the namespace's templates of other hashes are
// dropped. Reading the template takes a few queries per table: call
// Ensure once per process and hash, and keep the Template.
func (s *Server) Ensure(ctx context.Context, m templates.Migrator) (*Template, error) {
	if err := m.Check("mysqlclone"); err != nil {
		return nil, err
	}
	if strings.Trim(m.Hash, "0123456789abcdefABCDEF") != "" {
		return nil, fmt.Errorf("mysqlclone: key %q must be hex: hash the migration files with schemakey.Dir", m.Hash)
	}
	name := s.TemplateName(m.Hash)
	ok, err := s.complete(ctx, s.db, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := s.buildLocked(ctx, name, m.Migrate); err != nil {
			return nil, err
		}
	}
	return s.read(ctx, name, m.Migrate)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Server) complete(ctx context.Context, db querier, name string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", name, markerTable).Scan(&n)
	if err != nil {
		return false, s.fail("looking up the template "+name+" on", err)
	}
	return n > 0, nil
}

func (s *Server) lock(ctx context.Context) (*sql.Conn, func(), error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, nil, s.fail("connecting to", err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", lockName, int(s.timeout.Seconds())).Scan(&got); err != nil || !got.Valid || got.Int64 != 1 {
		conn.Raw(func(any) error { return driver.ErrBadConn }) // a cancelled wait may still get the lock
		conn.Close()
		if err == nil {
			err = fmt.Errorf("GET_LOCK returned %v after %s: another process is building a template; retry, or raise LockTimeout", got, s.timeout)
		}
		return nil, nil, s.fail("waiting for the template lock on", err)
	}
	return conn, func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK(?)", lockName); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn }) // drop the session, and its lock
		}
		conn.Close()
	}, nil
}

func (s *Server) buildLocked(ctx context.Context, name string, migrate templates.MigrateFunc) error {
	conn, unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if ok, err := s.complete(ctx, conn, name); err != nil || ok {
		return err // built by another process while we waited
	}
	start := time.Now()
	// A template without its marker was left by a builder that died.
	for _, stmt := range []string{
		"DROP DATABASE IF EXISTS " + q(name),
		"CREATE DATABASE " + q(name) + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return s.fail("preparing the template "+name+" on", err)
		}
	}
	u := s.u.WithDatabase(name)
	db, err := dbconn.Open(ctx, u)
	if err != nil {
		return err
	}
	berr := migrate(ctx, db, u)
	if err := db.Close(); berr == nil {
		berr = err
	}
	if berr == nil {
		_, berr = conn.ExecContext(ctx, "CREATE TABLE "+q(name)+"."+q(markerTable)+" (id int NOT NULL PRIMARY KEY)")
	}
	if berr != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+q(name))
		return fmt.Errorf("building the MySQL test template %s: %w", name, berr)
	}
	s.log.Info("built MySQL test template", "template", name, "took", time.Since(start))
	s.dropStale(ctx, conn, name)
	return nil
}

// dropStale drops this namespace's templates other than keep.
func (s *Server) dropStale(ctx context.Context, conn *sql.Conn, keep string) {
	templates.DropStale(ctx, conn, dialect.MySQL, keep, s.u.Database, s.log, TemplatePrefix+s.ns+"_")
}

// DropTemplates drops every template of this namespace, under the lock.
func (s *Server) DropTemplates(ctx context.Context) error {
	conn, unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	s.dropStale(ctx, conn, "")
	return nil
}

// read loads what Clone needs from a complete template.
func (s *Server) read(ctx context.Context, name string, migrate templates.MigrateFunc) (*Template, error) {
	t := &Template{name: name, migrate: migrate}
	fail := func(err error) (*Template, error) { return nil, s.fail("reading the template "+name+" on", err) }
	if err := s.db.QueryRowContext(ctx, "SELECT default_character_set_name, default_collation_name FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&t.charset, &t.collate); err != nil {
		return fail(err)
	}
	var others int
	if err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM information_schema.views WHERE table_schema = ?) +
		(SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = ?) +
		(SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = ?) +
		(SELECT COUNT(*) FROM information_schema.events WHERE event_schema = ?)`, name, name, name, name).Scan(&others); err != nil {
		return fail(err)
	}
	if others > 0 {
		t.replay = true
		return t, nil
	}
	rows, err := s.db.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' AND table_name <> ? ORDER BY table_name", name, markerTable)
	if err != nil {
		return fail(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fail(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	for _, tbl := range tables {
		var n, create string
		if err := s.db.QueryRowContext(ctx, "SHOW CREATE TABLE "+q(name)+"."+q(tbl)).Scan(&n, &create); err != nil {
			return fail(err)
		}
		t.creates = append(t.creates, create)
		var any int
		err := s.db.QueryRowContext(ctx, "SELECT 1 FROM "+q(name)+"."+q(tbl)+" LIMIT 1").Scan(&any)
		switch {
		case err == nil:
			cols, err := s.insertableColumns(ctx, name, tbl)
			if err != nil {
				return fail(err)
			}
			t.copies = append(t.copies, "INSERT INTO %s."+q(tbl)+" ("+cols+") SELECT "+cols+" FROM "+q(name)+"."+q(tbl))
		case errors.Is(err, sql.ErrNoRows):
		default:
			return fail(err)
		}
	}
	return t, nil
}

// insertableColumns lists a table's columns that are not generated.
func (s *Server) insertableColumns(ctx context.Context, db, tbl string) (string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND extra NOT LIKE '%GENERATED%' AND extra NOT IN ('VIRTUAL', 'PERSISTENT', 'STORED') ORDER BY ordinal_position", db, tbl)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return "", err
		}
		cols = append(cols, q(c))
	}
	return strings.Join(cols, ", "), rows.Err()
}

// Clone creates a new database "weber_test_<random>" holding a copy of the
// template's tables and rows, and returns its name; Server.URL(name) is
// its URL. If the clone fails halfway, the new database is dropped.
func (s *Server) Clone(ctx context.Context, t *Template) (string, error) {
	name, err := NewCloneName()
	if err != nil {
		return "", err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return "", s.fail("connecting to", err)
	}
	defer conn.Close()
	err = s.clone(ctx, conn, t, name)
	if err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+q(name))
		return "", fmt.Errorf("cloning %s into %s: %w", t.name, name, err)
	}
	return name, nil
}

func (s *Server) clone(ctx context.Context, conn *sql.Conn, t *Template, name string) error {
	create := "CREATE DATABASE " + q(name)
	if t.charset != "" {
		create += " CHARACTER SET " + t.charset + " COLLATE " + t.collate
	}
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return s.fail("creating the database on", err)
	}
	if t.replay {
		u := s.u.WithDatabase(name)
		db, err := dbconn.Open(ctx, u)
		if err != nil {
			return err
		}
		defer db.Close()
		return t.migrate(ctx, db, u)
	}
	// Session settings for this connection only; restored before it goes
	// back to the pool.
	if _, err := conn.ExecContext(ctx, "SET FOREIGN_KEY_CHECKS = 0"); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SET FOREIGN_KEY_CHECKS = 1")
	// Unqualified names in the statements (the table, its foreign keys'
	// targets) resolve in the new database.
	if _, err := conn.ExecContext(ctx, "USE "+q(name)); err != nil {
		return err
	}
	for _, stmt := range t.creates {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", firstLine(stmt), err)
		}
	}
	for _, stmt := range t.copies {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(stmt, q(name))); err != nil {
			return fmt.Errorf("copying rows: %w", err)
		}
	}
	return nil
}

// Drop drops a clone made by Clone. It refuses any other name, and the
// database the server URL names.
func (s *Server) Drop(ctx context.Context, name string) error {
	if !strings.HasPrefix(name, ClonePrefix) || name == s.u.Database {
		return fmt.Errorf("mysqlclone: refusing to drop %q: only databases named %s... by Clone are dropped", name, ClonePrefix)
	}
	if _, err := s.db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+q(name)); err != nil {
		return s.fail("dropping "+name+" on", err)
	}
	return nil
}

// NewCloneName returns "weber_test_" and 26 random lower-case letters and
// digits (dbconn.RandomName). The error is always nil.
func NewCloneName() (string, error) {
	return dbconn.RandomName(ClonePrefix), nil
}

func (s *Server) fail(op string, err error) error {
	return fmt.Errorf("%s %s: %s", op, s.u.Redacted(), errtext.OneLine(err))
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
