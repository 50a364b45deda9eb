package weberctl

import (
	"database/sql"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/devdb"
	"github.com/weber-framework/weber/internal/envmark"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/upgrade"
)

// dbUpgradeDescription is the command's help page, with an example.
const dbUpgradeDescription = `Validates the migration folder of the database's dialect (--dir/<dialect>,
atlas.sum included), takes a lock that excludes every other weberctl on this
database, re-reads the applied history under the lock, then applies each
pending file: in its own transaction with its revision record on SQLite and
PostgreSQL, statement by statement with progress recorded on MySQL; a file
marked ` + "`-- weber:as-written`" + ` runs exactly as written, its own BEGIN/COMMIT
included. It prints each file as it runs, then a summary; with nothing pending
it says so. SIGINT or SIGTERM stops it (a second one at once).

It refuses, changing nothing, a folder whose atlas.sum does not match or
that holds a file with its own BEGIN/COMMIT not marked as written, an
applied file that was edited or deleted, files added behind the applied
history (unless --allow-out-of-order) and a database with tables but no
history (unless --baseline names the version its tables match). Before
running, it checks what the pending statements would do to the rows in the
database (rehearsing them on a scratch copy of the schema on PostgreSQL and
MySQL, for which it needs --dev-url or WEBER_DEV_<DIALECT>_URL) and refuses
statements that would destroy or reject rows unless --allow-data-loss.

On a live PostgreSQL or MySQL database each statement waits at most
--ddl-lock-timeout (default 1s) for its table's lock, so that the
application's queries never queue behind it for longer; when it gives up, the
file rolls back (MySQL: the statement did not run) and is tried again after a
pause, naming on stderr the session that held the lock, for up to
--ddl-retry-for (default 3m). --lock-timeout is another thing: how long to
wait for another weberctl.

On SQLite it never creates a folder; it creates a missing file in an existing
folder, saying so on its first line, except in production (--env production or
WEBER_ENV=production), where a missing file is refused like a missing server
database. With --env (or WEBER_ENV) it records the environment in the database;
a mark is only raised, never lowered (see ` + "`weberctl db mark`" + `).

` + fleetHelp + `

--sql prints the script the upgrade would run, for a DBA to review or run
with the database's own client (psql, mariadb, sqlite3): the migration lock,
the lock wait settings, each file's transaction and every record it writes
in atlas_schema_revisions. It starts from the database's version, or with
--from VERSION (` + "0" + ` for an empty database) without connecting.

Example:
   weberctl db upgrade
   weberctl db upgrade --dry-run
   weberctl db upgrade --to 20261127011300 --database-url postgres://app@db.internal/app
   weberctl db upgrade --baseline 20261127011300   # the tables exist already
   weberctl db upgrade --ddl-lock-timeout 500ms --ddl-retry-for 10m   # a busy table
   weberctl db upgrade --sql --from 0 > upgrade.sql
   weberctl db upgrade --targets-like 'postgres://app@db.internal/tenant_*' --canary 1 --parallel 8 --report upgrade.json`

func dbUpgradeCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:        "upgrade",
		Usage:       "apply the pending migration files (production)",
		Description: dbUpgradeDescription,
		Flags: append(withGlobal(
			&cli.StringFlag{Name: "to", Usage: "stop after the file with this `VERSION` (default: the latest)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the SQL that would run and change nothing"},
			&cli.StringFlag{Name: "baseline", Usage: "on a database with tables but no history, record the files up to `VERSION` as applied without running them"},
			lockTimeoutFlag(),
			&cli.BoolFlag{Name: "allow-out-of-order", Usage: "apply files older than the latest applied one (merged from a branch)"},
			&cli.BoolFlag{Name: "allow-data-loss", Usage: "run statements that destroy or reject rows (a dropped column holding data, NOT NULL over NULLs, ...)"},
			&cli.BoolFlag{Name: "retry", Usage: "run again a statement whose outcome was never recorded (after checking it did not take effect)"},
			&cli.BoolFlag{Name: "mark-applied", Usage: "record as applied a statement whose outcome was never recorded (after checking it did take effect)"},
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("the result")},
			devURLFlag(),
			devURLFlags()[0],
			devURLFlags()[1],
		), append(append(ddlFlags(), fleetFlags()...), sqlFlags()...)...),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			if c.IsSet("from") && !c.Bool("sql") {
				return usagef("--from starts a script: use it with --sql")
			}
			if c.Bool("sql") {
				return e.upgradeSQL(c)
			}
			if fleetRequested(c) {
				return e.fleetUpgrade(c)
			}
			if c.Bool("retry") && c.Bool("mark-applied") {
				return usagef("--retry and --mark-applied contradict each other: the statement either took effect (--mark-applied) or not (--retry)")
			}
			cfg, u, db, dir, err := e.openTarget(c, true)
			if err != nil {
				return err
			}
			defer db.Close()
			asJSON := c.Bool("json")
			opts, err := upgradeOptions(c, e, cfg, u, dir, !asJSON)
			if err != nil {
				return err
			}
			opts.To = c.String("to")
			opts.DryRun = c.Bool("dry-run")
			opts.Baseline = c.String("baseline")
			opts.AllowOutOfOrder = c.Bool("allow-out-of-order")
			opts.AllowDataLoss = c.Bool("allow-data-loss")
			folder, err := migdir.Folder(u.Dialect)
			if err != nil {
				return err
			}
			opts.DevURL = devURLFor(c, cfg, folder)
			switch {
			case c.Bool("retry"):
				opts.Unconfirmed = upgrade.UnconfirmedRetry
			case c.Bool("mark-applied"):
				opts.Unconfirmed = upgrade.UnconfirmedMarkApplied
			}
			eng, err := newEngine(u, db, dir, nil, e.dataMigrations())
			if err != nil {
				return err
			}
			res, err := eng.Upgrade(c.Context, opts)
			if err != nil {
				return devdb.WithDevAdvice(err, !inDevelopment(c, cfg.Env, u, db))
			}
			if asJSON {
				return writeJSON(e.stdout, newUpgradeView(u.Redacted(), res))
			}
			renderUpgrade(e, u, res)
			return nil
		},
	}
}

// inDevelopment reports that the upgrade runs on a development database:
// its environment (--env or WEBER_ENV) is a development one, or, without
// one, the database's mark is. A database marked production never is.
func inDevelopment(c *cli.Context, env string, u *dbconn.URL, db *sql.DB) bool {
	mark, err := envmark.Read(c.Context, db, u.Dialect)
	if err != nil || envmark.IsProduction(mark) {
		return false
	}
	if strings.TrimSpace(env) != "" {
		return envmark.LevelOf(env) == envmark.LevelDevelopment
	}
	return mark != "" && envmark.LevelOf(mark) == envmark.LevelDevelopment
}
