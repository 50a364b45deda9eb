package devdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/drift"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/liveschema"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/upgrade"
)

// PendingError is a pending migration file that Ensure could not apply to
// a database with a history, typically because `weberctl db ensure` had
// already added part of what the file adds (from the models, before the
// file existed). Its message is one line with the ways out.
type PendingError struct {
	// Database is the URL, password redacted.
	Database string
	// File is the migration file's name; Stmt the failing statement
	// (1-based) and Line its first line.
	File       string
	Stmt, Line int
	// Err is the database's error.
	Err error
	// DevVariable is set when the target is a server dialect and no dev
	// URL was given: the environment variable that names one
	// (WEBER_DEV_POSTGRES_URL, WEBER_DEV_MYSQL_URL). With it, Ensure can
	// tell that the database already has the file's changes and record the
	// file as applied instead of running it.
	DevVariable string
}

func (e *PendingError) Error() string {
	if e.DevVariable != "" {
		return fmt.Sprintf("ensuring %s: applying the pending %s, statement %d (line %d): %s: the database probably has this file's changes already (added by `weberctl db ensure` from the models before the file existed), which ensure can only tell with a dev server: set %s (or pass --dev-url) to a server where scratch databases may be created and run `weberctl db ensure` again, and it records the file as applied without running it, losing nothing; if that does not help, undo by hand what statement %d adds that the database already has, or in development rebuild it with `weberctl db drop --yes && weberctl db ensure` (its data is lost)",
			e.Database, e.File, e.Stmt, e.Line, errtext.OneLine(e.Err), e.DevVariable, e.Stmt)
	}
	return fmt.Sprintf("ensuring %s: applying the pending %s, statement %d (line %d): %s: if the database already has part of this file's changes (added by `weberctl db ensure` before the file existed), then in development rebuild it from the history with `weberctl db drop --yes && weberctl db ensure` (its data is lost), or undo by hand what statement %d adds that the database already has and run `weberctl db ensure` again",
		e.Database, e.File, e.Stmt, e.Line, errtext.OneLine(e.Err), e.Stmt)
}

// Unwrap returns the database's error.
func (e *PendingError) Unwrap() error { return e.Err }

// UntrackedError is Ensure's refusal of a database that has tables but no
// migration history while the project has one: the database was not made
// by Weber (or by this project), and adding the models' tables to it would
// mix two schemas. Nothing was changed.
type UntrackedError struct {
	// Database is the URL, password redacted.
	Database string
	// Tables are the tables found; Dir the history's folder.
	Tables []string
	Dir    string
}

func (e *UntrackedError) Error() string {
	list, more := e.Tables, ""
	if len(list) > 5 {
		list, more = list[:5], fmt.Sprintf(" and %d more", len(e.Tables)-5)
	}
	return fmt.Sprintf("ensuring %s: the database has tables (%s%s) but no migration history, so ensure will not add the models to it: if these tables are this app's schema up to some file of %s, record that with `weberctl db upgrade --baseline VERSION` and run `weberctl db ensure` again; otherwise point --database-url at a new database (ensure creates it)",
		e.Database, strings.Join(list, ", "), more, e.Dir)
}

// WithDevAdvice adds the development ways out to an *upgrade.Refusal of
// an applied file that was deleted or edited, which on a development
// database usually means a switch to another branch: switch back, or
// rebuild the database with `db drop` and `db ensure`. With production set
// (by the run's environment or the database's mark) err is returned as it
// is, with the production advice alone; so is any other error.
func WithDevAdvice(err error, production bool) error {
	var ref *upgrade.Refusal
	if production || !errors.As(err, &ref) || (ref.Kind != upgrade.KindDeleted && ref.Kind != upgrade.KindEdited) {
		return err
	}
	return fmt.Errorf("%w; on a development database (after switching branches, say): switch back to the branch that has that file, or rebuild the database from this branch's history with `weberctl db drop --yes && weberctl db ensure` (its data is lost)", err)
}

// historyFolder returns the dialect folder of opts.Root for u, or "" when
// there is no history to apply.
func historyFolder(u *dbconn.URL, opts EnsureOptions, log *slog.Logger) (string, error) {
	if opts.Root == "" {
		return "", nil
	}
	folder, err := migdir.DialectDir(opts.Root, u.Dialect)
	if err != nil {
		return "", err
	}
	if !isDir(folder) {
		log.Debug("no migration history for this dialect", "dir", folder)
		return "", nil
	}
	return folder, nil
}

// catchUp brings a database that has a migration history up to its
// pending files before the models are compared: it records them as applied
// without running them when the database already has their effect (made by
// an earlier Ensure from the models), except the data migrations among
// them, which it runs; and it applies them all otherwise. It returns the
// files adopted and the files applied.
func catchUp(ctx context.Context, db *sql.DB, u *dbconn.URL, opts EnsureOptions, timeout time.Duration, log *slog.Logger) (adopted, applied []string, err error) {
	folder, err := historyFolder(u, opts, log)
	if err != nil || folder == "" {
		return nil, nil, err
	}
	st, err := upgrade.Status(ctx, db, u, folder)
	if err != nil {
		return nil, nil, fmt.Errorf("ensuring %s: %w", u.Redacted(), err)
	}
	untracked := func() bool {
		return st.Applied == 0 && st.Partial == nil && len(st.UntrackedTables) > 0 && st.Files > 0
	}
	if untracked() {
		// Another ensure may be applying the history right now (its
		// tables visible, their revisions not yet when Status read them):
		// wait for the lock it holds, then look again.
		release, err := lock(ctx, db, u, timeout)
		if err != nil {
			return nil, nil, err
		}
		if err := release(); err != nil {
			return nil, nil, err
		}
		if st, err = upgrade.Status(ctx, db, u, folder); err != nil {
			return nil, nil, fmt.Errorf("ensuring %s: %w", u.Redacted(), err)
		}
	}
	if untracked() {
		return nil, nil, &UntrackedError{Database: u.Redacted(), Tables: st.UntrackedTables, Dir: folder}
	}
	if !st.HasHistory || (st.Applied == 0 && st.Partial == nil) || (len(st.Pending) == 0 && st.Partial == nil) {
		return nil, nil, nil // no history to follow, or nothing pending
	}
	base := upgrade.Options{LockTimeout: timeout, Env: opts.Env, Operator: opts.Operator, Logger: log, DataMigrations: opts.DataMigrations}

	// Adoption needs a dev database to replay the history on: SQLite's is
	// in memory, a server dialect's needs a dev URL.
	if (st.Partial == nil || (st.Partial.Applied == 0 && !st.Partial.Unconfirmed)) && (u.Dialect == dialect.SQLite || opts.DevURL != "") {
		ao := base
		ao.DevURL = opts.DevURL
		ao.Adopt, ao.AdoptCheck = true, matchesHistory(db, u, opts.DevURL, filepath.Dir(folder))
		r, err := upgrade.Upgrade(ctx, db, u, folder, ao)
		var ref *upgrade.Refusal
		switch {
		case err == nil:
			// The data migrations among the pending files ran: their
			// effect is on rows, which the schema check cannot see.
			for _, f := range r.Files {
				applied = append(applied, f.Name)
			}
			return r.Adopted, applied, nil
		case errors.As(err, &ref) && ref.Kind == upgrade.KindAdopt:
			log.Debug("pending files not adopted; applying them", "reason", ref.Msg)
		default:
			return nil, nil, fmt.Errorf("ensuring %s: %s%w%s", u.Redacted(), doneBefore(r), err, mixedFileAdvice(err))
		}
	}

	uo := base
	uo.DevURL = opts.DevURL
	r, err := upgrade.Upgrade(ctx, db, u, folder, uo)
	if err != nil {
		var se *upgrade.StatementError
		if errors.As(err, &se) {
			pe := &PendingError{Database: u.Redacted(), File: se.File, Stmt: se.Stmt, Line: se.Line, Err: se.Err}
			if folder, ferr := migdir.Folder(u.Dialect); ferr == nil && u.Dialect != dialect.SQLite && opts.DevURL == "" {
				pe.DevVariable = plan.DevURLVariable(folder)
			}
			return nil, nil, pe
		}
		return nil, nil, fmt.Errorf("ensuring %s: applying the pending migration files in %s: %w", u.Redacted(), folder, err)
	}
	for _, f := range r.Files {
		applied = append(applied, f.Name)
	}
	return nil, applied, nil
}

// mixedFileAdvice is the way out when a data file failed on a statement
// while ensure adopted the files around it: most likely the file also
// changes the schema, which db ensure had added from the models already.
func mixedFileAdvice(err error) string {
	var se *upgrade.StatementError
	if !errors.As(err, &se) {
		return ""
	}
	version, _, _ := strings.Cut(se.File, "_")
	return fmt.Sprintf("; if %s also changes the schema and the database has that part already (db ensure added it from the models), make its changes to rows by hand and record the file with `weberctl db set %s`, or rebuild the database with `weberctl db reset` (its data is lost)", se.File, version)
}

// doneBefore says what an adoption that failed on a data migration did
// before it ("" for nothing): the files it recorded and the ones it ran
// stay so.
func doneBefore(r *upgrade.Result) string {
	if r == nil || len(r.Adopted)+len(r.Files) == 0 {
		return ""
	}
	var parts []string
	if len(r.Adopted) > 0 {
		parts = append(parts, "recorded "+strings.Join(r.Adopted, ", ")+" as applied (the database had their changes)")
	}
	if len(r.Files) > 0 {
		names := make([]string, len(r.Files))
		for i, f := range r.Files {
			names[i] = f.Name
		}
		what := "ran the data migration "
		if len(names) > 1 {
			what = "ran the data migrations "
		}
		parts = append(parts, what+strings.Join(names, ", "))
	}
	return strings.Join(parts, " and ") + ", then "
}

// matchesHistory is the adoption check: it replays files on an empty dev
// database of u's dialect and compares the result with the live database
// db, the way `weberctl db status` looks for drift (drift.Compare). The
// live database may have more than the history builds (tables, columns,
// indexes that db ensure added for model changes not yet revised); anything
// the history builds that the database lacks or has differently refuses
// the adoption, and the files are then applied instead.
func matchesHistory(db *sql.DB, u *dbconn.URL, devURL, root string) func(context.Context, []*migdir.File) error {
	return func(ctx context.Context, files []*migdir.File) (err error) {
		d, err := plan.OpenDev(ctx, plan.DevOptions{Dialect: u.Dialect, URL: devURL, Root: root})
		if err != nil {
			return err
		}
		dev, cleanup := d.DB, d.Close
		defer func() {
			if cerr := cleanup(); cerr != nil && err == nil {
				err = cerr
			}
		}()
		if err := liveschema.PrepareDev(ctx, dev, db, u.Dialect, plan.DevURLVariable(plan.MySQL)); err != nil {
			return err
		}
		mf := make([]atlasmigrate.File, len(files))
		for i, f := range files {
			mf[i] = atlasmigrate.NewLocalFile(f.Name, f.Bytes)
		}
		if _, err := plan.Replay(ctx, dev, u.Dialect, mf, ""); err != nil {
			return err
		}
		want, err := liveschema.Inspect(ctx, dev, u.Dialect)
		if err != nil {
			return fmt.Errorf("reading the replayed history: %w", err)
		}
		got, err := liveschema.Inspect(ctx, db, u.Dialect)
		if err != nil {
			return fmt.Errorf("reading %s: %w", u.Redacted(), err)
		}
		drv, err := liveschema.Driver(dev, u.Dialect)
		if err != nil {
			return err
		}
		all, err := drift.Compare(u.Dialect, drv, want, got)
		if err != nil {
			return err
		}
		var diffs []drift.Difference
		for _, d := range all {
			if !onlyExtra(d.Kind) {
				diffs = append(diffs, d)
			}
		}
		if len(diffs) == 0 {
			return nil
		}
		names := make([]string, 0, 3)
		for _, d := range diffs[:min(3, len(diffs))] {
			names = append(names, d.String())
		}
		more := ""
		if len(diffs) > 3 {
			more = fmt.Sprintf(" and %d more", len(diffs)-3)
		}
		return fmt.Errorf("the database differs from what the history with them builds: %s%s", strings.Join(names, "; "), more)
	}
}

// onlyExtra reports a difference that is something the live database has
// beyond the history: harmless to adopting the history's files.
func onlyExtra(kind string) bool {
	switch kind {
	case drift.TableAdded, drift.ColumnAdded, drift.IndexAdded, drift.ForeignKeyAdded, drift.CheckAdded, drift.ObjectAdded:
		return true
	}
	return false
}
