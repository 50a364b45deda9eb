package weberctl

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"entgo.io/ent/dialect"
	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/config"
	"github.com/weber-framework/weber/engine"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/envmark"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/upgrade"
)

// openTarget resolves the configuration, opens the database and finds the
// migration folder of its dialect, and notes on stderr an environment mark
// that differs from the command's environment (noteMark). A database that
// does not exist is an error, except an SQLite file when create is set
// (`db upgrade`, which writes: see createSQLite).
func (e *env) openTarget(c *cli.Context, create bool) (cfg config.Config, u *dbconn.URL, db *sql.DB, dir string, err error) {
	cfg, u, db, dir, err = e.openDatabase(c, create)
	if err != nil {
		return cfg, nil, nil, "", err
	}
	e.noteMark(c.Context, u, db, cfg.Env, create)
	return cfg, u, db, dir, nil
}

// openDatabase is openTarget without the note.
func (e *env) openDatabase(c *cli.Context, create bool) (cfg config.Config, u *dbconn.URL, db *sql.DB, dir string, err error) {
	cfg, u, err = e.target(c)
	if err != nil {
		return cfg, nil, nil, "", err
	}
	dir, err = migdir.DialectDir(cfg.MigrationsDir, u.Dialect)
	if err != nil {
		return cfg, nil, nil, "", err
	}
	if create {
		// A write to a system database is refused before connecting.
		if err := u.RefuseSystem("upgrade"); err != nil {
			return cfg, nil, nil, "", err
		}
	}
	if u.Dialect == dialect.SQLite && !u.Memory {
		if create {
			standIn, err := e.createSQLite(c, cfg, u)
			if err != nil {
				return cfg, nil, nil, "", err
			}
			if standIn {
				db, err = openStandIn(c)
				return cfg, u, db, dir, err
			}
		} else if ok, err := dbconn.Exists(c.Context, u); err != nil {
			return cfg, nil, nil, "", err
		} else if !ok {
			return cfg, nil, nil, "", fmt.Errorf("database %s does not exist: create it with `weberctl db ensure` or `weberctl db upgrade`, or check --database-url", u.Redacted())
		}
	}
	db, err = dbconn.Open(c.Context, u)
	if err != nil {
		return cfg, nil, nil, "", err
	}
	return cfg, u, db, dir, nil
}

// createSQLite lets `db upgrade` start an SQLite database from nothing, in
// its existing folder only: it never creates folders (a mistyped path must
// not become a fresh database), and in production (--env or WEBER_ENV) it
// refuses a missing file as it refuses a missing server database. When it
// creates the file it says so first: on stdout, or on stderr with --json.
// A dry run creates nothing: it reports standIn, and runs on an empty
// in-memory database instead (openStandIn).
func (e *env) createSQLite(c *cli.Context, cfg config.Config, u *dbconn.URL) (standIn bool, err error) {
	ok, err := dbconn.Exists(c.Context, u)
	if err != nil || ok {
		return false, err
	}
	if envmark.IsProduction(cfg.Env) {
		return false, fmt.Errorf("database %s does not exist, and this is a production upgrade (environment %q): upgrade does not create a production database, which usually means a mistyped path; check --database-url, or create it on purpose with `weberctl db ensure --env %s`",
			u.Redacted(), cfg.Env, cfg.Env)
	}
	w := e.stdout
	if c.Bool("json") {
		w = e.stderr
	}
	if c.Bool("dry-run") {
		if err := dbconn.CheckSQLiteFolder(u); err != nil {
			return false, fmt.Errorf("upgrade never creates folders, so that a mistyped path cannot become a new database: %w", err)
		}
		fmt.Fprintf(w, "The SQLite database %s does not exist: a real upgrade would create it (a new, empty database); this dry run creates nothing.\n", u.Redacted())
		return true, nil
	}
	created, err := dbconn.CreateSQLiteFile(u)
	if errors.Is(err, dbconn.ErrNoFolder) {
		return false, fmt.Errorf("upgrade never creates folders, so that a mistyped path cannot become a new database: %w", err)
	}
	if err != nil || !created {
		return false, err
	}
	fmt.Fprintf(w, "Created the SQLite database %s: the file did not exist (a new, empty database).\n", u.Redacted())
	return false, nil
}

// openStandIn opens the empty in-memory database a dry run of `db upgrade`
// reads in place of an SQLite file that does not exist yet.
func openStandIn(c *cli.Context) (*sql.DB, error) {
	mem, err := dbconn.Parse("sqlite://:memory:")
	if err != nil {
		return nil, err
	}
	return dbconn.Open(c.Context, mem)
}

// pendingFiles returns how many migration files of dir are not yet
// (completely) applied to the database.
func pendingFiles(ctx context.Context, db *sql.DB, u *dbconn.URL, dir string, data map[string]engine.DataMigration) (int, error) {
	eng, err := newEngine(u, db, dir, nil, data)
	if err != nil {
		return 0, err
	}
	st, err := eng.Status(ctx)
	if err != nil {
		return 0, err
	}
	n := len(st.Pending)
	if st.Partial != nil {
		n++
	}
	return n, nil
}

// operator names weberctl in the revisions it writes.
func operator() string { return "weber " + weberVersion() }

// upgradeOptions are the flags shared by `db upgrade` and `serve --migrate`.
// With live set, each file is printed as it starts and ends, under a
// heading naming the database and the folder.
func upgradeOptions(c *cli.Context, e *env, cfg config.Config, u *dbconn.URL, dir string, live bool) (upgrade.Options, error) {
	ddl, err := ddlPolicy(c)
	if err != nil {
		return upgrade.Options{}, err
	}
	maxRows, err := blockingMaxRows(c)
	if err != nil {
		return upgrade.Options{}, err
	}
	opts := upgrade.Options{
		LockTimeout:      lockTimeout(c),
		DDL:              ddl,
		OnLockWait:       func(ev upgrade.LockWaitEvent) { printLockWait(e, ev) },
		OnBatch:          batchPrinter(e),
		DataMigrations:   e.dataMigrations(),
		AllowBlockingDDL: c.Bool("allow-blocking-ddl"),
		BlockingMaxRows:  maxRows,
		Env:              cfg.Env,
		Operator:         operator(),
		Logger:           cfg.Logger,
	}
	if live {
		headed := false
		opts.OnFile = func(ev upgrade.FileEvent) {
			if !headed {
				fmt.Fprintf(e.stdout, "Upgrading %s with %s:\n", u.Redacted(), dir)
				headed = true
			}
			printFileEvent(e, ev)
		}
	}
	return opts, nil
}

// printFileEvent reports a file as it starts and ends.
func printFileEvent(e *env, ev upgrade.FileEvent) {
	switch ev.Phase {
	case upgrade.PhaseStart:
		from := ""
		if ev.From > 1 {
			from = fmt.Sprintf(", resuming at statement %d", ev.From)
		}
		what := plural(ev.Statements, "statement", "statements")
		if ev.Go != "" {
			what = "Go data migration " + ev.Go
		}
		fmt.Fprintf(e.stdout, "  %s (%s%s) ... ", ev.Name, what, from)
	case upgrade.PhaseDone:
		fmt.Fprintf(e.stdout, "done in %s\n", human(ev.Duration))
	case upgrade.PhaseFailed:
		fmt.Fprintf(e.stdout, "failed after %s\n", human(ev.Duration))
	}
}

// renderUpgrade prints the summary of an upgrade for people.
func renderUpgrade(e *env, u *dbconn.URL, r *upgrade.Result) {
	w := e.stdout
	if len(r.Baselined) > 0 {
		fmt.Fprintf(w, "Baselined at %s: recorded %s as applied without running them.\n",
			r.Baselined[len(r.Baselined)-1], plural(len(r.Baselined), "file", "files"))
	}
	switch {
	case r.DryRun && len(r.Files) == 0:
		fmt.Fprintf(w, "Nothing to do: the database is at version %s.\n", versionOrNone(r.Before))
	case r.DryRun:
		fmt.Fprintf(w, "Dry run: would apply %s to %s (nothing was changed):\n", plural(len(r.Files), "file", "files"), u.Redacted())
		for _, f := range r.Files {
			fmt.Fprintf(w, "\n-- %s (%s)\n", f.Name, plural(f.Statements, "statement", "statements"))
			for _, s := range f.SQL {
				fmt.Fprintln(w, withSemicolon(s))
			}
		}
	case len(r.Files) == 0 && len(r.Baselined) == 0:
		fmt.Fprintf(w, "Nothing to do: the database is at version %s.\n", versionOrNone(r.After))
	case len(r.Files) > 0:
		fmt.Fprintln(w, upgradeSummary(u.Redacted(), r))
	}
	for _, f := range r.Files {
		for _, ix := range f.RebuiltIndexes {
			fmt.Fprintf(w, "  %s: dropped the INVALID index %s that an interrupted concurrent build had left, and built it again.\n", f.Name, ix)
		}
	}
	for _, risk := range r.Risks {
		tag := "warning"
		if risk.Blocks() {
			tag = "data loss"
		}
		fmt.Fprintf(w, "  %s: %s\n", tag, errtext.Flatten(risk.Message))
	}
	if r.DryRun && r.PreflightSkipped != "" {
		fmt.Fprintf(w, "  the data check did not run: %s\n", errtext.Flatten(r.PreflightSkipped))
	}
	for _, b := range r.Blocking {
		fmt.Fprintf(w, "  blocks writes: %s statement %d (line %d) %s while it runs (%s): %s\n",
			b.File, b.Stmt, b.Line, b.Table, plural(int(b.Rows), "row", "rows"), b.Finding.Code)
	}
	if r.BlockingRefusal != "" {
		fmt.Fprintf(w, "  a real run would refuse: %s\n", errtext.Flatten(r.BlockingRefusal))
	}
	if len(r.Remaining) > 0 {
		fmt.Fprintf(w, "Still pending (after --to): %s, up to %s.\n", plural(len(r.Remaining), "file", "files"), r.Remaining[len(r.Remaining)-1].Name)
	}
}

// upgradeSummary sums up an upgrade that applied files. The database's
// version is its newest applied file, so a file applied out of order
// (older than that) or the completion of a partially applied file leaves
// it where it was: the summary says so rather than "from X to X" or a
// "from" newer than the "to", which would read like a downgrade.
func upgradeSummary(database string, r *upgrade.Result) string {
	after := r.After // the newest applied file: never older than Before
	var notes []string
	older := 0
	for _, f := range r.Files {
		switch c := migdir.CompareVersions(f.Version, r.Before); {
		case r.Before != "" && c == 0:
			notes = append(notes, fmt.Sprintf("completed %s, which was partially applied", f.Name))
		case r.Before != "" && c < 0:
			older++
		}
	}
	if older > 0 {
		notes = append(notes, fmt.Sprintf("%s older than %s applied out of order", plural(older, "file", "files"), r.Before))
	}
	files := plural(len(r.Files), "file", "files")
	if len(notes) > 0 {
		files += " (" + strings.Join(notes, "; ") + ")"
	}
	if after == r.Before {
		return fmt.Sprintf("Applied %s to %s in %s; the database stays at version %s.", files, database, human(r.Duration), versionOrNone(after))
	}
	return fmt.Sprintf("Upgraded %s from %s to %s: %s in %s.", database, versionOrNone(r.Before), versionOrNone(after), files, human(r.Duration))
}

func versionOrNone(v string) string {
	if v == "" {
		return "none (empty history)"
	}
	return v
}

// withSemicolon ends a statement with one semicolon, for printing.
func withSemicolon(stmt string) string {
	stmt = strings.TrimSpace(stmt)
	if strings.HasSuffix(stmt, ";") {
		return stmt
	}
	return stmt + ";"
}
