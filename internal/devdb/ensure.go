package devdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	atlas "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/dblock"
	"github.com/weber-framework/weber/internal/envmark"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/lockwait"
	"github.com/weber-framework/weber/internal/revstore"
	"github.com/weber-framework/weber/internal/upgrade"
	"github.com/weber-framework/weber/weberschema"
)

// DefaultLockTimeout is how long Ensure waits for another process holding
// the database's migration lock when EnsureOptions.LockTimeout is zero.
const DefaultLockTimeout = time.Minute

// EnsureOptions configure Ensure. The zero value works: no history, the
// compiled models, a discarded log.
type EnsureOptions struct {
	// Root is the migrations root holding one folder per dialect
	// ("migrations"). On an empty database the history in
	// Root/<dialect folder> is applied before the models are compared; on
	// a database with a history, its pending files are (or recorded as
	// applied, when the database already has their effect). An empty Root,
	// or a missing folder for the URL's dialect, skips that step.
	Root string
	// DevURL names a PostgreSQL or MySQL server (of the target's dialect)
	// where a scratch database may be created and dropped: there the
	// history is replayed to tell whether pending files are already in
	// effect, and the upgrade's pre-flight check rehearses them. SQLite
	// needs none. Without it, on a server dialect, pending files are
	// always applied.
	DevURL string
	// Env names the environment ("production", "staging", ...) to record in
	// the database; empty leaves any earlier record alone.
	Env string
	// LockTimeout bounds the wait for the migration lock (0:
	// DefaultLockTimeout; negative: try once, do not wait).
	LockTimeout time.Duration
	// Tables is the desired schema: the models, ent's migrate.Tables
	// (required).
	Tables []*entschema.Table
	// Operator names the tool in the revisions the history writes
	// ("weber v1.2.3"; default upgrade.DefaultOperator).
	Operator string
	// Logger receives progress at debug level; nil discards.
	Logger *slog.Logger
	// DataMigrations are the project's Go data migrations, run by the
	// history's `-- weber:go NAME` files (upgrade.Options.DataMigrations).
	DataMigrations map[string]upgrade.DataMigration
	// Renames are the renames the models declare (weberschema.RenamedFrom,
	// ent/migrate.Renames): a table or column the database still has under
	// its old name is renamed before anything is created from the models,
	// so its data moves with it.
	Renames []weberschema.Rename
}

// EnsureResult says what Ensure did. A second run on the same database and
// models has nothing in Tables, Columns, Indexes, ForeignKeys, History and
// Adopted.
type EnsureResult struct {
	// Database is the URL, password redacted.
	Database string
	// Dialect is ent's dialect name: sqlite3, postgres or mysql.
	Dialect string
	// DatabaseCreated reports that the database itself did not exist.
	DatabaseCreated bool
	// History lists the migration files applied (to the empty database, or
	// pending on a database with a history), e.g.
	// "20261127000000_init.sql". With Adopted, it lists the data
	// migrations among the pending files, which ran.
	History []string
	// Renamed lists the renames the models declare that were made in the
	// database, e.g. "users.bio -> users.biography" or "tags -> labels".
	Renamed []string
	// Adopted lists the pending migration files recorded as applied without
	// running them, because the database already had their changes (made
	// by an earlier Ensure from the models). Data migrations are never
	// adopted: they run, and are in History.
	Adopted []string
	// Tables, Columns ("table.column"), Indexes ("table.index") and
	// ForeignKeys ("table.symbol") were created from the models.
	Tables      []string
	Columns     []string
	Indexes     []string
	ForeignKeys []string
	// Skipped lists differences between the models and the database that
	// Ensure leaves alone because resolving them would change or drop
	// something: write a revision for them (`weberctl db revision`).
	Skipped []string
	// Statements are the SQL statements that ran to create the above.
	Statements []string
	// Env is the environment mark the database holds after the run, when
	// EnsureOptions.Env was given ("" otherwise). It differs from the
	// requested environment when EnvKept is set.
	Env string
	// EnvRequested is EnsureOptions.Env.
	EnvRequested string
	// EnvPrevious is the mark the database had before the run ("" none).
	EnvPrevious string
	// EnvKept reports that the database kept its mark (Env) instead of the
	// requested one, which would have protected it less: ensure never
	// lowers a mark (see envmark.Record).
	EnvKept bool
	// Duration is the wall time of the whole operation.
	Duration time.Duration
}

// NothingToDo reports whether Ensure found the database complete.
func (r *EnsureResult) NothingToDo() bool {
	return !r.DatabaseCreated && len(r.History) == 0 && len(r.Adopted) == 0 && len(r.Renamed) == 0 && len(r.Tables) == 0 && len(r.Columns) == 0 &&
		len(r.Indexes) == 0 && len(r.ForeignKeys) == 0
}

// Ensure creates the database u names if it does not exist, then creates
// every table, column, index and foreign key that the models have and the
// database lacks, under the database's migration lock. It never drops or
// alters anything that exists. On an empty database it applies the
// migration history first, so that `weberctl db upgrade` can take over
// later. On a database with a history it first takes the pending files:
// when the live schema already matches the history with them (an earlier
// Ensure added their changes from the models), it records them as applied
// without running them (EnsureResult.Adopted), except the data migrations
// among them (`-- weber:go`, `-- weber:touches`), which it runs
// (EnsureResult.History); otherwise it applies them all
// (EnsureResult.History), and a file that fails is a *PendingError. Two
// processes running Ensure at once both succeed.
func Ensure(ctx context.Context, u *dbconn.URL, opts EnsureOptions) (*EnsureResult, error) {
	return ensure(ctx, u, opts)
}

// ensure is Ensure, with a named error so that releasing the lock can
// report its failure.
func ensure(ctx context.Context, u *dbconn.URL, opts EnsureOptions) (_ *EnsureResult, err error) {
	start := time.Now()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if u == nil {
		return nil, errors.New("ensuring the database: no database URL")
	}
	if err := u.RefuseSystem("ensure"); err != nil {
		return nil, err
	}
	if len(opts.Tables) == 0 {
		return nil, errors.New("ensuring the database: no models (EnsureOptions.Tables): pass ent's migrate.Tables")
	}
	tables := cloneTables(opts.Tables)
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	res := &EnsureResult{Database: u.Redacted(), Dialect: u.Dialect}

	created, err := dbconn.EnsureDatabase(ctx, u)
	if err != nil {
		return nil, err
	}
	res.DatabaseCreated = created
	log.Debug("database", "url", u.Redacted(), "created", created)

	db, err := dbconn.Open(ctx, u)
	if err != nil {
		return nil, err
	}
	defer db.Close()

	if err := takeHistory(ctx, db, u, opts, timeout, log, res); err != nil {
		return nil, err
	}

	release, err := lock(ctx, db, u, timeout)
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr := release(); rerr != nil && err == nil {
			err = rerr
		}
	}()

	if err := applyRenames(ctx, db, u, opts.Renames, res, log); err != nil {
		return nil, err
	}
	if err := createMissing(ctx, db, u, tables, res, log); err != nil {
		return nil, err
	}
	if opts.Env != "" {
		// Never lowers a mark: a higher one is kept and reported.
		out, err := envmark.Record(ctx, db, u.Dialect, opts.Env)
		if err != nil {
			return nil, fmt.Errorf("ensuring %s: %w", u.Redacted(), err)
		}
		res.Env, res.EnvKept, res.EnvRequested = out.Mark, out.Kept(), opts.Env
	}
	res.Duration = time.Since(start)
	for _, l := range []*[]string{&res.History, &res.Adopted, &res.Renamed, &res.Tables, &res.Columns, &res.Indexes, &res.ForeignKeys, &res.Skipped, &res.Statements} {
		if *l == nil {
			*l = []string{}
		}
	}
	return res, nil
}

// takeHistory brings the database up to its migration history before the
// models are compared, and reads the environment mark it had before
// (applying the history records the environment too). On an empty
// database it applies the whole history: a database built from the models
// alone could never be upgraded later. Upgrade takes the lock itself and
// re-reads the history under it, so a concurrent Ensure that also found
// the database empty applies nothing twice. On a database with tables it
// takes the pending files first (catchUp): applied from the models, their
// changes would make the files fail later.
func takeHistory(ctx context.Context, db *sql.DB, u *dbconn.URL, opts EnsureOptions, timeout time.Duration, log *slog.Logger, res *EnsureResult) error {
	var err error
	if res.EnvPrevious, err = envmark.Read(ctx, db, u.Dialect); err != nil {
		return fmt.Errorf("ensuring %s: %w", u.Redacted(), err)
	}
	existing, err := userTables(ctx, db, u.Dialect)
	if err != nil {
		return fmt.Errorf("ensuring %s: %w", u.Redacted(), err)
	}
	if len(existing) == 0 {
		res.History, err = applyHistory(ctx, db, u, opts, timeout, log)
		return err
	}
	res.Adopted, res.History, err = catchUp(ctx, db, u, opts, timeout, log)
	if err != nil {
		return WithDevAdvice(err, envmark.IsProduction(opts.Env) || envmark.IsProduction(res.EnvPrevious))
	}
	return nil
}

// lock takes the database's migration lock, the one `db upgrade` takes, and
// returns its release.
func lock(ctx context.Context, db *sql.DB, u *dbconn.URL, timeout time.Duration) (func() error, error) {
	l, err := dblock.Acquire(ctx, db, u, timeout)
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}

// applyHistory applies the migration files of u's dialect to an empty
// database and returns the files it applied.
func applyHistory(ctx context.Context, db *sql.DB, u *dbconn.URL, opts EnsureOptions, timeout time.Duration, log *slog.Logger) ([]string, error) {
	folder, err := historyFolder(u, opts, log)
	if err != nil || folder == "" {
		return nil, err
	}
	r, err := upgrade.Upgrade(ctx, db, u, folder, upgrade.Options{
		LockTimeout: timeout, Env: opts.Env, Operator: opts.Operator, Logger: log, DevURL: opts.DevURL,
		DataMigrations: opts.DataMigrations,
	})
	if err != nil {
		return nil, fmt.Errorf("ensuring %s: applying the migration history in %s: %w", u.Redacted(), folder, err)
	}
	names := make([]string, 0, len(r.Files))
	for _, f := range r.Files {
		names = append(names, f.Name)
	}
	return names, nil
}

// isDir reports whether path is a directory.
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// userTables lists the tables in the database's current schema, leaving out
// Weber's environment mark.
func userTables(ctx context.Context, db *sql.DB, dia string) ([]string, error) {
	var q string
	switch dia {
	case dialect.Postgres:
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	case dialect.MySQL:
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
	default:
		q = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("listing tables: %w", err)
		}
		if n != envmark.Table {
			names = append(names, n)
		}
	}
	return names, rows.Err()
}

// createMissing runs ent's schema creation restricted to additions, and
// records in res what it created and what it left alone.
func createMissing(ctx context.Context, db *sql.DB, u *dbconn.URL, tables []*entschema.Table, res *EnsureResult, log *slog.Logger) error {
	conn := db
	if u.Dialect == dialect.SQLite && !u.Memory { // an in-memory pool has one connection already
		// ent turns foreign keys off and opens the transaction with two
		// separate calls: on a pool they can land on two connections, and a
		// table rebuild with foreign keys on silently cascades deletes. One
		// connection makes both land on the same one.
		pinned, err := dbconn.Open(ctx, u)
		if err != nil {
			return err
		}
		defer pinned.Close()
		pinned.SetMaxOpenConns(1)
		conn = pinned
	}
	for _, t := range tables {
		if revstore.IsOwnTable(t.Name) || t.Name == envmark.Table {
			return fmt.Errorf("ensuring %s: the models define a table named %s, which Weber reserves: rename it", u.Redacted(), t.Name)
		}
	}
	m, err := entschema.NewMigrate(entsql.OpenDB(u.Dialect, conn),
		entschema.WithDiffHook(additionsOnly(u.Dialect, res)),
		entschema.WithApplyHook(func(next entschema.Applier) entschema.Applier {
			return entschema.ApplyFunc(func(ctx context.Context, c dialect.ExecQuerier, plan *atlasmigrate.Plan) error {
				for _, ch := range plan.Changes {
					res.Statements = append(res.Statements, ch.Cmd)
					log.Debug("ensure", "statement", ch.Cmd)
				}
				// A short wait for table locks, as for upgrade: a development
				// server may serve a running app too.
				for _, q := range (lockwait.Policy{}).Settings(u.Dialect, u.Dialect == dialect.Postgres, false) {
					if err := c.Exec(ctx, q, []any{}, nil); err != nil {
						return err
					}
				}
				return next.Apply(ctx, c, plan)
			})
		}),
	)
	if err != nil {
		return fmt.Errorf("ensuring %s: %w", u.Redacted(), err)
	}
	create := func() error {
		// A retry plans again: forget what the try that gave up recorded.
		res.Statements, res.Tables, res.Skipped, res.Columns, res.Indexes, res.ForeignKeys = nil, nil, nil, nil, nil, nil
		return m.Create(ctx, tables...)
	}
	if err := lockwait.Retry(ctx, lockwait.Policy{}, create, nil, nil); err != nil {
		return fmt.Errorf("ensuring %s: creating what the models add: %s", u.Redacted(), errtext.OneLine(err))
	}
	return nil
}

// additionsOnly is a diff hook keeping only the changes that add something:
// tables, columns, indexes and foreign keys. Everything else (a changed
// column type, a dropped index, ...) is recorded in res.Skipped.
func additionsOnly(dia string, res *EnsureResult) entschema.DiffHook {
	return func(next entschema.Differ) entschema.Differ {
		return entschema.DiffFunc(func(current, desired *atlas.Schema) ([]atlas.Change, error) {
			changes, err := next.Diff(current, desired)
			if err != nil {
				return nil, err
			}
			// The hook may run more than once; the result reflects the last plan.
			res.Tables, res.Columns, res.Indexes, res.ForeignKeys, res.Skipped = nil, nil, nil, nil, nil
			var keep []atlas.Change
			for _, c := range changes {
				switch c := c.(type) {
				case *atlas.AddTable:
					res.Tables = append(res.Tables, c.T.Name)
					keep = append(keep, c)
				case *atlas.ModifyTable:
					if m := modifyAdditions(dia, current, c, res); m != nil {
						keep = append(keep, m)
					}
				default:
					res.Skipped = append(res.Skipped, describe(c))
				}
			}
			return keep, nil
		})
	}
}

// modifyAdditions keeps the additions of a table modification. On SQLite,
// a modification that is more than plain added columns and indexes makes
// Atlas rebuild the table from the models' definition; that would drop any
// column the models no longer have, so it is allowed only when the table has
// no such column.
func modifyAdditions(dia string, current *atlas.Schema, c *atlas.ModifyTable, res *EnsureResult) atlas.Change {
	var adds, skipped []atlas.Change
	for _, sub := range c.Changes {
		switch sub.(type) {
		case *atlas.AddColumn, *atlas.AddIndex, *atlas.AddForeignKey:
			adds = append(adds, sub)
		default:
			skipped = append(skipped, sub)
		}
	}
	if dia == dialect.SQLite && needsRebuild(adds) {
		if cur, ok := current.Table(c.T.Name); ok {
			if extra := extraColumns(cur, c.T); len(extra) > 0 || len(skipped) > 0 {
				// Keep what SQLite can add in place, skip the rest.
				var inPlace []atlas.Change
				for _, a := range adds {
					if needsRebuild([]atlas.Change{a}) {
						skipped = append(skipped, a)
						continue
					}
					inPlace = append(inPlace, a)
				}
				adds = inPlace
			}
		}
	}
	for _, s := range skipped {
		res.Skipped = append(res.Skipped, c.T.Name+": "+describe(s))
	}
	for _, a := range adds {
		switch a := a.(type) {
		case *atlas.AddColumn:
			res.Columns = append(res.Columns, c.T.Name+"."+a.C.Name)
		case *atlas.AddIndex:
			res.Indexes = append(res.Indexes, c.T.Name+"."+a.I.Name)
		case *atlas.AddForeignKey:
			res.ForeignKeys = append(res.ForeignKeys, c.T.Name+"."+a.F.Symbol)
		}
	}
	if len(adds) == 0 {
		return nil
	}
	return &atlas.ModifyTable{T: c.T, Changes: adds}
}

// needsRebuild reports whether SQLite can apply the changes only by
// rebuilding the table (mirrors Atlas's sqlite alterable).
func needsRebuild(changes []atlas.Change) bool {
	for _, ch := range changes {
		switch ch := ch.(type) {
		case *atlas.AddIndex:
		case *atlas.AddColumn:
			if len(ch.C.Indexes) > 0 || len(ch.C.ForeignKeys) > 0 {
				return true
			}
			switch d := ch.C.Default.(type) {
			case *atlas.Literal:
				if slices.Contains([]string{"CURRENT_TIME", "CURRENT_DATE", "CURRENT_TIMESTAMP"}, strings.ToUpper(d.V)) {
					return true
				}
			case *atlas.RawExpr:
				return true
			}
		default:
			return true
		}
	}
	return false
}

// extraColumns lists the columns of cur that want lacks.
func extraColumns(cur, want *atlas.Table) []string {
	var extra []string
	for _, c := range cur.Columns {
		if _, ok := want.Column(c.Name); !ok {
			extra = append(extra, c.Name)
		}
	}
	return extra
}

// describe names a change Ensure does not make.
func describe(c atlas.Change) string {
	switch c := c.(type) {
	case *atlas.ModifyColumn:
		return fmt.Sprintf("column %s differs from the model", c.To.Name)
	case *atlas.DropColumn:
		return fmt.Sprintf("column %s is not in the models (kept)", c.C.Name)
	case *atlas.DropIndex:
		return fmt.Sprintf("index %s is not in the models (kept)", c.I.Name)
	case *atlas.ModifyIndex:
		return fmt.Sprintf("index %s differs from the model", c.To.Name)
	case *atlas.DropForeignKey:
		return fmt.Sprintf("foreign key %s is not in the models (kept)", c.F.Symbol)
	case *atlas.ModifyForeignKey:
		return fmt.Sprintf("foreign key %s differs from the model", c.To.Symbol)
	case *atlas.AddColumn:
		return fmt.Sprintf("column %s needs a table rebuild, which would drop columns the models no longer have", c.C.Name)
	case *atlas.AddForeignKey:
		return fmt.Sprintf("foreign key %s needs a table rebuild, which would drop columns the models no longer have", c.F.Symbol)
	case *atlas.DropTable:
		return fmt.Sprintf("table %s is not in the models (kept)", c.T.Name)
	case *atlas.ModifyTable:
		return fmt.Sprintf("table %s differs from the model", c.T.Name)
	case *atlas.AddCheck, *atlas.DropCheck, *atlas.ModifyCheck:
		return "a check constraint differs from the model"
	}
	return fmt.Sprintf("%T differs from the model", c)
}
