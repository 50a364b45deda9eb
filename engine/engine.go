package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/drift"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/upgrade"
	"github.com/weber-framework/weber/internal/verify"
)

// DefaultLockTimeout is how long Upgrade and Downgrade wait for the
// migration lock when no LockTimeout is set.
const DefaultLockTimeout = upgrade.DefaultLockTimeout

// DefaultOperator is recorded as each revision's operator when no
// Operator is set.
const DefaultOperator = upgrade.DefaultOperator

// Config is what an Engine works on and the defaults of its operations.
// URL and Dir are required; every other field may be left zero.
type Config struct {
	// URL is the database URL the *sql.DB given to New was opened from
	// (ParseURL): it gives the dialect, places SQLite's lock beside the
	// file, and names the database in messages, password redacted.
	URL *URL
	// Dir is the dialect's migration folder, e.g. migrations/sqlite. It
	// need not exist yet: Status reports a missing folder as a problem
	// (a project before its first revision), and Upgrade, Downgrade and
	// Drift refuse it.
	Dir string
	// DevURL names a PostgreSQL or MySQL server of the database's dialect
	// where scratch databases are created and dropped: the pre-flight
	// check of Upgrade, the replays of Downgrade, Drift and Overview.
	// SQLite needs none (it uses an in-memory database).
	DevURL string
	// LockTimeout bounds the wait for the migration lock (0 =
	// DefaultLockTimeout; negative = try once).
	LockTimeout time.Duration
	// DDL bounds each statement's wait for its table's lock on PostgreSQL
	// and MySQL (the zero value is the defaults).
	DDL DDLPolicy
	// Operator is recorded in each revision's operator_version (default
	// DefaultOperator).
	Operator string
	// Logger receives progress at debug level (nil discards).
	Logger *slog.Logger
	// DataMigrations are the project's data migrations written in Go, by
	// the name their `-- weber:go NAME` files give (UpgradeOptions'
	// own, when set, replace them).
	DataMigrations map[string]DataMigration
}

// Engine runs one database's migration history. Build it with New; it is
// safe for concurrent use (Upgrade and Downgrade exclude each other, and
// other processes, with the database's migration lock).
type Engine struct {
	cfg Config
	db  *sql.DB
	src *upgrade.Source
}

// New checks the database, the URL, the folder and the options, and
// returns the Engine. db must have been opened from cfg.URL (Open does
// that); New does not connect.
func New(db *sql.DB, cfg Config) (*Engine, error) {
	switch {
	case db == nil:
		return nil, errors.New("engine: no database given: open it with engine.Open first")
	case cfg.URL == nil:
		return nil, errors.New("engine: no database URL in Config.URL: parse the URL the database was opened from with engine.ParseURL")
	case strings.TrimSpace(cfg.Dir) == "":
		return nil, errors.New("engine: no migration folder in Config.Dir: give the dialect's folder, e.g. migrations/sqlite")
	}
	if err := cfg.DDL.Validate(); err != nil {
		return nil, fmt.Errorf("engine: Config.DDL: %w", err)
	}
	if err := checkDevURL(cfg.URL, cfg.DevURL); err != nil {
		return nil, err
	}
	src, err := upgrade.NewSource(db, cfg.URL, cfg.Dir, cfg.Logger, "engine")
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	return &Engine{cfg: cfg, db: db, src: src}, nil
}

// checkDevURL refuses a dev server URL that does not parse or names
// another dialect than the database's.
func checkDevURL(u *URL, devURL string) error {
	if strings.TrimSpace(devURL) == "" {
		return nil
	}
	dev, err := dbconn.Parse(devURL)
	if err != nil {
		return fmt.Errorf("engine: Config.DevURL: %w", err)
	}
	if dev.Dialect != u.Dialect {
		return fmt.Errorf("engine: Config.DevURL is a %s URL (%s) but the database is %s: give a dev server of the database's dialect", dev.Dialect, dev.Redacted(), u.Dialect)
	}
	return nil
}

// URL returns the database's URL.
func (e *Engine) URL() *URL { return e.cfg.URL }

// Dir returns the migration folder.
func (e *Engine) Dir() string { return e.cfg.Dir }

// Upgrade applies the pending files of the folder, each in its own
// transaction with its revision (statement by statement, recorded, on
// MySQL and for files marked `-- atlas:txmode none`), under the migration
// lock, after checking the history against the folder and the rows at
// risk. A database already up to date is a success with nothing done
// (UpgradeResult.NothingToDo). Errors: a *Refusal (nothing changed), a
// *StatementError (what persists is recorded), or a folder refused.
func (e *Engine) Upgrade(ctx context.Context, opts UpgradeOptions) (*UpgradeResult, error) {
	e.defaults(&opts.DevURL, &opts.LockTimeout, &opts.DDL)
	if opts.Operator == "" {
		opts.Operator = e.cfg.Operator
	}
	if opts.DataMigrations == nil {
		opts.DataMigrations = e.cfg.DataMigrations
	}
	return e.src.Upgrade(ctx, opts)
}

// Downgrade brings the schema back to the history at opts.To (one file
// back by default): it replays the files up to it on a scratch database,
// plans the difference, refuses a plan that destroys data unless allowed,
// then, under the lock, applies it and deletes the reverted revisions.
func (e *Engine) Downgrade(ctx context.Context, opts DowngradeOptions) (*DowngradeResult, error) {
	e.defaults(&opts.DevURL, &opts.LockTimeout, &opts.DDL)
	return e.src.Downgrade(ctx, opts)
}

// Set records the history as applied up to opts.Version and not applied
// after it, running no statement (Atlas's `migrate set`, Alembic's
// `stamp`), for a change made outside Weber. Under the lock it compares
// the live schema with the history at that version and refuses a
// mismatch (KindMismatch) unless opts.Force.
func (e *Engine) Set(ctx context.Context, opts SetOptions) (*SetResult, error) {
	e.defaults(&opts.DevURL, &opts.LockTimeout, new(DDLPolicy))
	if opts.Operator == "" {
		opts.Operator = e.cfg.Operator
	}
	if opts.Logger == nil {
		opts.Logger = e.cfg.Logger
	}
	return upgrade.Set(ctx, e.db, e.cfg.URL, e.cfg.Dir, opts)
}

// defaults fills an operation's unset options from the Config.
func (e *Engine) defaults(devURL *string, lockTimeout *time.Duration, ddl *DDLPolicy) {
	if *devURL == "" {
		*devURL = e.cfg.DevURL
	}
	if *lockTimeout == 0 {
		*lockTimeout = e.cfg.LockTimeout
	}
	if *ddl == (DDLPolicy{}) {
		*ddl = e.cfg.DDL
	}
}

// Status reports where the database stands against the folder. Problems
// (edited, deleted or out-of-order files, an invalid folder) are in the
// result; it fails only when the database cannot be read. It takes no
// lock and changes nothing.
func (e *Engine) Status(ctx context.Context) (*StatusResult, error) {
	return e.src.Status(ctx)
}

// History returns the revisions applied to the database, oldest first
// (none when it has no revision table).
func (e *Engine) History(ctx context.Context) ([]*Revision, error) {
	return e.src.History(ctx)
}

// Drift compares the live schema with what its applied history builds,
// replayed on a scratch database of the same dialect (Config.DevURL's
// server, or an in-memory SQLite), and names each difference. It takes no
// lock and changes nothing on the database.
func (e *Engine) Drift(ctx context.Context) (*DriftReport, error) {
	return drift.LiveFrom(ctx, e.src, e.cfg.DevURL)
}

// OverviewOptions configure Overview.
type OverviewOptions struct {
	// Tables are the desired tables (ent's migrate.Tables); nil skips the
	// models against the history.
	Tables []*entschema.Table
	// DevURL, when set, replaces Config.DevURL for this call.
	DevURL string
}

// Overview is Status and Drift with the models against the history (does
// the schema need a new revision?): `weberctl db status`. Each comparison
// that cannot run (no dev server, an invalid folder) says why in the
// result; it fails only when the database cannot be read.
func (e *Engine) Overview(ctx context.Context, opts OverviewOptions) (*Overview, error) {
	if opts.DevURL == "" {
		opts.DevURL = e.cfg.DevURL
	}
	return drift.OverviewFrom(ctx, e.src, drift.OverviewOptions{DevURL: opts.DevURL, Tables: opts.Tables})
}

// VerifyOptions configure Verify; the zero value rehearses the newest file
// on generated rows.
type VerifyOptions struct {
	// From is the version the rehearsal starts at, the deployed one
	// (default: every file but the newest; "0": an empty database).
	From string
	// Rows is the number of generated rows per table (0 = the default).
	Rows int
	// Seed makes the generated rows deterministic (0 = 1).
	Seed int64
	// SeedFile is a .sql file of the project's own rows, run instead of
	// generating them.
	SeedFile string
	// Tables are the desired tables (ent's migrate.Tables): the final
	// schema is compared with them; nil skips that step.
	Tables []*entschema.Table
	// AllowDataLoss accepts any loss of data.
	AllowDataLoss bool
	// NoReverse skips the downgrade-and-upgrade-again round.
	NoReverse bool
	// Progress, when set, is called as the rehearsal goes.
	Progress func(VerifyProgress)
}

// Verify rehearses the folder's files on a populated scratch database of
// the same dialect (in memory for SQLite, on Config.DevURL's server
// otherwise) and proves that no row was lost: `weberctl db verify` for
// this engine's dialect. It never touches the Engine's database. The
// folder must be named after its dialect (sqlite, postgres or mysql).
func (e *Engine) Verify(ctx context.Context, opts VerifyOptions) (*VerifyReport, error) {
	folder, err := migdir.Folder(e.cfg.URL.Dialect)
	if err != nil {
		return nil, err
	}
	if filepath.Base(filepath.Clean(e.cfg.Dir)) != folder {
		return nil, fmt.Errorf("verify: the migration folder %s is not named %s: Verify rehearses ROOT/%s; rename the folder", e.cfg.Dir, folder, folder)
	}
	return verify.Run(ctx, verify.Options{
		Root: filepath.Dir(filepath.Clean(e.cfg.Dir)), Dialects: []string{folder},
		DevURLs: map[string]string{folder: e.cfg.DevURL},
		From:    opts.From, Rows: opts.Rows, Seed: opts.Seed, SeedFile: opts.SeedFile, Tables: opts.Tables,
		AllowDataLoss: opts.AllowDataLoss, NoReverse: opts.NoReverse, Logger: e.src.Logger(), Progress: opts.Progress,
		DataMigrations: e.cfg.DataMigrations,
	})
}
