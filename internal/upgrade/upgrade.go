package upgrade

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/dblock"
	"github.com/weber-framework/weber/internal/envmark"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/flavor"
	"github.com/weber-framework/weber/internal/lockwait"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/preflight"
	"github.com/weber-framework/weber/internal/revstore"
)

// DefaultLockTimeout is how long Upgrade and Downgrade wait for the lock
// when Options.LockTimeout is zero.
const DefaultLockTimeout = time.Minute

// DefaultOperator is written to the revisions' operator_version column
// when Options.Operator is empty.
const DefaultOperator = "weber"

// Unconfirmed says what to do with a statement that started outside a
// transaction without its outcome being recorded (the process died between
// the statement and its record).
type Unconfirmed int

const (
	// UnconfirmedRefuse stops with a KindUnconfirmed Refusal naming the
	// statement (the default).
	UnconfirmedRefuse Unconfirmed = iota
	// UnconfirmedRetry runs the statement again: use it after checking that
	// it did not take effect.
	UnconfirmedRetry
	// UnconfirmedMarkApplied records the statement as applied without running it:
	// use it after checking that it did take effect.
	UnconfirmedMarkApplied
)

// Options configure Upgrade. The zero value applies every pending file.
type Options struct {
	// To stops after the file with this version ("" = the latest file).
	To string
	// DryRun computes what would run and returns it, SQL included, without
	// taking the lock or changing anything.
	DryRun bool
	// Baseline records every file up to this version as applied without
	// running it, on a database that has no history yet (its tables were
	// created some other way). Then the files after it are applied.
	Baseline string
	// Adopt, on a database that has a migration history, records every
	// pending schema file as applied without running it (revisions of the
	// type Baseline writes), because the live schema already has their
	// effect (`weberctl db ensure` added it from the models). AdoptCheck
	// decides that; when it fails, Upgrade refuses with KindAdopt and
	// changes nothing. The pending data migrations (migdir.File.ChangesRows:
	// `-- weber:go`, `-- weber:touches`, `-- weber:batch`), whose effect on
	// rows no schema comparison sees, are run instead, in version order
	// with the recorded files, as an upgrade runs them. Adopt conflicts with
	// Baseline, To and DryRun, and refuses a database without history or
	// with a partially applied file.
	Adopt bool
	// AdoptCheck is required with Adopt. It is called under the lock, after
	// the history was re-read and checked against the directory, with
	// every file of the directory in version order (the history as it will
	// read once the pending files are recorded), and returns nil only when
	// the live database already matches what those files build. The
	// database's pool is free for it to read.
	AdoptCheck func(ctx context.Context, files []*migdir.File) error
	// AllowOutOfOrder applies pending files older than the latest applied
	// one (a merged branch) instead of refusing.
	AllowOutOfOrder bool
	// AllowDataLoss runs pending statements that would destroy or reject
	// rows on the target (a dropped column holding data, NOT NULL over
	// NULLs, UNIQUE over duplicates...) instead of refusing with a
	// KindDataLoss Refusal, and skips the pre-flight check that counts them
	// (a dry run still runs it and reports the risks).
	AllowDataLoss bool
	// DevURL names a PostgreSQL or MySQL server (the dialect of the target)
	// where the pre-flight check creates, and then drops, a scratch
	// database to rehearse the pending statements on a copy of the target's
	// schema; the CLI fills it from --dev-url or WEBER_DEV_<DIALECT>_URL.
	// SQLite needs none. Without it, on a server dialect, an upgrade whose
	// pending statements look risky on a database holding rows is refused
	// (KindPreflight) unless AllowDataLoss is set.
	DevURL string
	// LockTimeout bounds the wait for the migration lock (0 =
	// DefaultLockTimeout; negative = try once). It is Weber's own lock
	// between upgraders; DDL says how long a statement waits for a table.
	LockTimeout time.Duration
	// DDL bounds how long each statement waits for its table's lock on
	// PostgreSQL and MySQL (so that the application's queries never queue
	// behind it for longer), retries a file whose statement gave up, and
	// bounds statement run time. The zero value is lockwait's defaults.
	DDL lockwait.Policy
	// BlockingMaxRows is the most rows a table may hold for a pending
	// statement that blocks its writes or rewrites it (see package
	// livelint) to run (0 = DefaultBlockingMaxRows; negative = no limit).
	// Above it Upgrade refuses with KindBlocking, before anything runs.
	BlockingMaxRows int
	// AllowBlockingDDL runs such statements whatever the table's size.
	AllowBlockingDDL bool
	// DataMigrations are the project's data migrations written in Go, by
	// the name their `-- weber:go NAME` files give. A pending file whose
	// name is missing is refused (KindDataMigration) before anything runs.
	DataMigrations map[string]DataMigration
	// SkipDataMigrations records `-- weber:go` files as applied without
	// running them, registered or not: only for a database that holds no
	// rows, such as a test database built from the history.
	SkipDataMigrations bool
	// OnBatch, if set, is called after each committed batch of a
	// `-- weber:batch` statement or a Go data migration, for a progress
	// line.
	OnBatch func(BatchEvent)
	// OnLockWait, if set, is called each time a statement gave up waiting
	// for a lock and the file will be tried again, naming who held it.
	OnLockWait func(LockWaitEvent)
	// Env, when set, is recorded as the database's environment (envmark).
	Env string
	// Unconfirmed says what to do with a statement whose outcome was never
	// recorded (default: refuse, naming it).
	Unconfirmed Unconfirmed
	// Operator is written to each revision's operator_version (default
	// DefaultOperator); the CLI passes "weber <version>".
	Operator string
	// Logger receives progress at debug level (nil = discard).
	Logger *slog.Logger
	// OnFile, if set, is called as each file starts and ends (not in a dry
	// run), so that a caller can report progress live.
	OnFile func(FileEvent)

	// fault, in tests, is called after statement i (0-based) of f ran
	// outside a transaction and before its outcome is recorded; a non-nil
	// error stops the upgrade there, as a crash would.
	fault func(f *migdir.File, i int) error
}

// Phases of a FileEvent.
const (
	PhaseStart  = "start"
	PhaseDone   = "done"
	PhaseFailed = "failed"
)

// FileEvent reports a file starting or ending.
type FileEvent struct {
	// Phase is PhaseStart, PhaseDone or PhaseFailed.
	Phase string
	// Version and Name identify the file.
	Version, Name string
	// Statements is the number of statements in the file; From is the
	// 1-based statement it starts at (above 1 when resuming).
	Statements, From int
	// Go names the data migration a `-- weber:go` file runs (it has no
	// statements).
	Go string
	// Transactional reports the file runs in one transaction.
	Transactional bool
	// Duration is set when the file ends.
	Duration time.Duration
	// Err is set when Phase is PhaseFailed.
	Err error
}

// FileRun is one file Upgrade applied (or would apply, in a dry run).
type FileRun struct {
	// Version, Name and Description identify the file.
	Version, Name, Description string
	// Statements is the number of statements in the file.
	Statements int
	// Go names the data migration a `-- weber:go` file runs.
	Go string
	// From is the 1-based index of the first statement run (1 unless the
	// file was resumed after a partial application).
	From int
	// Transactional reports the file ran in one transaction with its
	// revision; otherwise statement by statement with progress recorded.
	Transactional bool
	// Duration is how long the file took.
	Duration time.Duration
	// RebuiltIndexes lists the INVALID indexes, left by interrupted
	// concurrent builds, that were dropped and built again.
	RebuiltIndexes []string
	// SQL holds the statements run (from From on); filled in a dry run.
	SQL []string
}

// Result is what Upgrade did. A database already up to date gives a Result
// with no Files and no Baselined (see NothingToDo): that is a success, not
// an error.
type Result struct {
	// Dialect is ent's dialect name.
	Dialect string
	// Dir is the migration directory.
	Dir string
	// DryRun reports that nothing was changed.
	DryRun bool
	// Baselined lists the versions recorded as applied without running.
	Baselined []string
	// Adopted lists the pending files (names) recorded as applied without
	// running because the database already had their effect (Options.Adopt).
	// The data migrations among the pending files ran: they are in Files.
	Adopted []string
	// Files lists the files applied, in order.
	Files []FileRun
	// Remaining lists the files still pending after the run (those after
	// Options.To).
	Remaining []PendingFile
	// Before and After are the database's versions before and after the
	// run ("" for none): its newest applied file, so a file applied out of
	// order (older than Before) leaves After at Before.
	Before, After string
	// LockWait is how long the lock took; Duration the whole run.
	LockWait, Duration time.Duration
	// Risks are the pre-flight check's findings on the pending statements,
	// when it ran: in a dry run every finding (the run would be refused if
	// any Blocks() and AllowDataLoss is not set); otherwise the ones that
	// did not block (no rows affected, or an approximate count), to show
	// as warnings.
	Risks []preflight.Risk
	// Blocking lists the pending statements that block writes on, or
	// rewrite, an existing table, with the table's size on the target;
	// BlockingRefusal is, in a dry run, the refusal a real run would meet.
	Blocking        []BlockingStatement
	BlockingRefusal string
	// PreflightSkipped says, in a dry run, why the pre-flight check could
	// not run (outside a dry run that is a KindPreflight Refusal).
	PreflightSkipped string
}

// NothingToDo reports that the database was already up to date.
func (r *Result) NothingToDo() bool {
	return len(r.Files) == 0 && len(r.Baselined) == 0 && len(r.Adopted) == 0
}

// PendingFile is a file not yet applied.
type PendingFile struct {
	// Version and Name identify the file.
	Version, Name string
	// Statements is the number of statements in the file.
	Statements int
	// Go names the data migration a `-- weber:go` file runs.
	Go string
}

// checkFlavor refuses a MySQL history declared for MariaDB on a MySQL 8
// database, and the other way round: their DDL differs (uuid, checks,
// hashed indexes). op prefixes the error.
func checkFlavor(ctx context.Context, db *sql.DB, u *dbconn.URL, dirPath string, dir *migdir.Dir, op string) error {
	if u.Dialect != dialect.MySQL {
		return nil
	}
	if err := flavor.CheckDatabase(ctx, db, u.Redacted(), dirPath, flavor.FromDir(dir.Files)); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// Upgrade applies the pending migration files of the directory dirPath
// (the dialect folder, e.g. migrations/sqlite) to the database db that u
// names.
//
// Order: validate the directory, take the migration lock, ensure the
// revision table, read the applied revisions under the lock, check them
// against the files (edited, deleted, out-of-order, partially applied),
// then apply each file, in its own transaction with its revision written
// through it on SQLite and PostgreSQL, or statement by statement with the
// revision updated after each statement on MySQL and for files marked
// `-- atlas:txmode none`.
//
// Before anything runs, still under the lock, the pending statements that
// look able to destroy or reject rows are checked against the target's data
// (package preflight; see Options.AllowDataLoss and Options.DevURL). A dry
// run reports the findings in Result.Risks instead of refusing.
//
// Errors: a *migdir.Error for a directory refused before anything runs, a
// *Refusal when history, files and database disagree or when pending
// statements would destroy or reject rows (KindDataLoss, wrapping a
// *preflight.DataLossError) or could not be checked (KindPreflight) —
// nothing changed —, a *StatementError when a statement fails (what
// persists is recorded), or an error wrapping dblock.ErrTimeout.
func Upgrade(ctx context.Context, db *sql.DB, u *dbconn.URL, dirPath string, opts Options) (*Result, error) {
	s, err := NewSource(db, u, dirPath, opts.Logger, "upgrade")
	if err != nil {
		return nil, err
	}
	return s.Upgrade(ctx, opts)
}

// Upgrade applies the pending files of the Source's folder: see the
// function Upgrade. opts.Logger, when set, replaces the Source's logger.
func (s *Source) Upgrade(ctx context.Context, opts Options) (*Result, error) {
	r, err := newRun(ctx, s.withLogger(opts.Logger), opts)
	if err != nil {
		return nil, err
	}
	ss, err := r.begin(ctx, "upgrade", r.opts.LockTimeout, r.opts.DryRun)
	if err != nil {
		return nil, err
	}
	r.conn, r.res.LockWait = ss.conn, ss.lockWait
	defer func() { r.conn.Close(); ss.unlock() }()
	if err := r.readState(ctx); err != nil {
		return nil, err
	}
	if r.opts.Adopt {
		return r.adopt(ctx)
	}
	r.planSteps()
	if err := r.checkDataMigrations(); err != nil {
		return nil, err
	}
	if err := r.settleUnconfirmed(ctx); err != nil {
		return nil, err
	}
	if err := r.checkBeforeRunning(ctx); err != nil {
		return nil, err
	}
	if r.opts.DryRun {
		return r.dryRun(), nil
	}
	if err := r.prepare(ctx); err != nil {
		return nil, err
	}
	if err := r.applySteps(ctx); err != nil {
		return r.res, err
	}
	return r.finish(ctx)
}

// finish ends a run that applied (or adopted) its files: it records the
// run's environment and the duration.
func (r *run) finish(ctx context.Context) (*Result, error) {
	if r.opts.Env != "" {
		// envmark works through the pool: give the pinned connection back
		// first, or a pool limited to one connection would wait forever.
		r.conn.Close()
		if _, err := envmark.Record(ctx, r.db, r.u.Dialect, r.opts.Env); err != nil {
			return r.res, fmt.Errorf("upgrade: %w", err)
		}
	}
	r.res.Duration = time.Since(r.start)
	return r.res, nil
}

// checkTarget checks that a version given by the user names a file.
func checkTarget(dir *migdir.Dir, v, flag string) error {
	if v == "" || dir.Find(v) != nil {
		return nil
	}
	if len(dir.Files) == 0 {
		return refuse(KindTarget, "", "%s %s: the migration directory %s has no files", flag, v, dir.Path)
	}
	return refuse(KindTarget, "", "%s %s: no migration file has this version in %s (did you mean %s? the latest is %s)",
		flag, v, dir.Path, dir.Nearest(v), dir.Latest())
}

// transactional reports whether a file runs in one transaction.
func transactional(dia string, f *migdir.File) bool {
	return dia != dialect.MySQL && f.TxMode != migdir.TxModeNone
}

func fileRun(s *step, dia string) FileRun {
	return FileRun{Version: s.file.Version, Name: s.file.Name, Description: s.file.Description,
		Statements: len(s.file.Stmts), Go: s.file.Go, From: s.from + 1, Transactional: transactional(dia, s.file)}
}

// recordedRevisions are the revisions recording files as applied without
// running them: a baseline, or adopted files. Their hash is the file's, so
// that the tamper checks hold them to the file like any applied revision.
func recordedRevisions(files []*migdir.File, operator string, now time.Time) []*revstore.Revision {
	revs := make([]*revstore.Revision, 0, len(files))
	for _, f := range files {
		revs = append(revs, &revstore.Revision{
			Version: f.Version, Description: f.Description, Type: revstore.TypeBaseline,
			Applied: len(f.Stmts), Total: len(f.Stmts), ExecutedAt: now, Hash: f.Hash,
			OperatorVersion: operator,
		})
	}
	return revs
}

// writeAll writes revisions in one transaction.
func writeAll(ctx context.Context, conn *sql.Conn, store *revstore.Store, revs []*revstore.Revision) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, r := range revs {
		if err := store.Write(ctx, tx, r); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

// lock takes the migration lock for op ("upgrade", "downgrade"), waiting
// up to timeout (0: DefaultLockTimeout), and returns the function that
// releases it. A timeout is a KindLocked Refusal.
func lock(ctx context.Context, db *sql.DB, u *dbconn.URL, timeout time.Duration, op string, log *slog.Logger) (release func(), err error) {
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	l, err := dblock.Acquire(ctx, db, u, timeout)
	if err != nil {
		if errors.Is(err, dblock.ErrTimeout) {
			return nil, &Refusal{Op: op, Kind: KindLocked, Msg: errtext.OneLine(err), Err: err, sep: ": "}
		}
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return func() {
		if err := l.Release(); err != nil {
			log.Warn("releasing the migration lock", "err", err)
		}
	}, nil
}

// newer returns the newer of two versions ("" is older than any).
func newer(a, b string) string {
	if a == "" || migdir.CompareVersions(b, a) > 0 {
		return b
	}
	return a
}
