package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"entgo.io/ent/dialect"
	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/app"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/upgrade"
)

// openTarget resolves the configuration, opens the database and finds the
// migration folder of its dialect. A database that does not exist is an
// error, except an SQLite file when create is set (an embedded app's first
// upgrade starts from nothing).
func (e *env) openTarget(c *cli.Context, create bool) (cfg app.Config, u *dbconn.URL, db *sql.DB, dir string, err error) {
	cfg, u, err = e.target(c)
	if err != nil {
		return cfg, nil, nil, "", err
	}
	dir, err = migdir.DialectDir(cfg.MigrationsDir, u.Dialect)
	if err != nil {
		return cfg, nil, nil, "", err
	}
	if u.Dialect == dialect.SQLite && !u.Memory {
		if create {
			if _, err := dbconn.EnsureDatabase(c.Context, u); err != nil {
				return cfg, nil, nil, "", err
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

// pendingFiles returns how many migration files of dir are not yet
// (completely) applied to the database.
func pendingFiles(ctx context.Context, db *sql.DB, u *dbconn.URL, dir string) (int, error) {
	st, err := upgrade.Status(ctx, db, u, dir)
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
func upgradeOptions(c *cli.Context, e *env, cfg app.Config, u *dbconn.URL, dir string, live bool) upgrade.Options {
	opts := upgrade.Options{
		LockTimeout: lockTimeout(c),
		Env:         cfg.Env,
		Operator:    operator(),
		Logger:      cfg.Logger,
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
	return opts
}

// printFileEvent reports a file as it starts and ends.
func printFileEvent(e *env, ev upgrade.FileEvent) {
	switch ev.Phase {
	case upgrade.PhaseStart:
		from := ""
		if ev.From > 1 {
			from = fmt.Sprintf(", resuming at statement %d", ev.From)
		}
		fmt.Fprintf(e.stdout, "  %s (%s%s) ... ", ev.Name, plural(ev.Statements, "statement", "statements"), from)
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
	for _, risk := range r.Risks {
		tag := "warning"
		if risk.Blocks() {
			tag = "data loss"
		}
		fmt.Fprintf(w, "  %s: %s\n", tag, oneLine(risk.Message))
	}
	if r.DryRun && r.PreflightSkipped != "" {
		fmt.Fprintf(w, "  the data check did not run: %s\n", oneLine(r.PreflightSkipped))
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
