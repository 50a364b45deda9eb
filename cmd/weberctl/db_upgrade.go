package main

import (
	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/upgrade"
)

func dbUpgradeCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "upgrade",
		Usage: "apply the pending migration files (production)",
		Description: `Validates the migration folder of the database's dialect (--dir/<dialect>,
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

Example:
   weberctl db upgrade
   weberctl db upgrade --dry-run
   weberctl db upgrade --to 20261127011300 --database-url postgres://app@db.internal/app
   weberctl db upgrade --baseline 20261127011300   # the tables exist already`,
		Flags: withGlobal(
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
		),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
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
			opts := upgradeOptions(c, e, cfg, u, dir, !asJSON)
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
				opts.Unconfirmed = upgrade.UnconfirmedSkip
			}
			res, err := upgrade.Upgrade(c.Context, db, u, dir, opts)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(e.stdout, newUpgradeView(u.Redacted(), res))
			}
			renderUpgrade(e, u, res)
			return nil
		},
	}
}
