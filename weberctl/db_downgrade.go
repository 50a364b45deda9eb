package weberctl

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/engine"
	"github.com/weber-framework/weber/internal/migdir"
)

func dbDowngradeCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "downgrade",
		Usage: "bring the database back to an earlier version of the history",
		Description: `Plans from the live database to the schema the history has at --to (default:
one file back; ` + engine.Empty + ` for before the first file) and shows the plan with
the rows each drop would destroy. It refuses a plan that drops a table holding
rows or a column holding values unless --allow-data-loss (dropping what is
empty needs no flag), then applies it under the migration lock and removes
the revision records above the target. PostgreSQL and MySQL need a dev server
to replay the history on (--dev-url, --dev-postgres-url / --dev-mysql-url, or
WEBER_DEV_POSTGRES_URL / WEBER_DEV_MYSQL_URL).

Example:
   weberctl db downgrade --dry-run
   weberctl db downgrade --to 20261127011300 --allow-data-loss`,
		Flags: withGlobal(append([]cli.Flag{
			&cli.StringFlag{Name: "to", Usage: "the `VERSION` to go back to (" + engine.Empty + ": before the first file; default: one file back)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan and change nothing"},
			&cli.BoolFlag{Name: "allow-data-loss", Usage: "allow a plan that drops tables holding rows or columns holding values"},
			lockTimeoutFlag(),
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("the plan and what was done")},
		}, append(append(devURLFlags(), devURLFlag()), ddlFlags()[:3]...)...)...),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			cfg, u, db, dir, err := e.openTarget(c, false)
			if err != nil {
				return err
			}
			defer db.Close()
			folder, err := migdir.Folder(u.Dialect)
			if err != nil {
				return err
			}
			dry := c.Bool("dry-run")
			ddl, err := ddlPolicy(c)
			if err != nil {
				return err
			}
			eng, err := newEngine(u, db, dir, cfg.Logger, e.dataMigrations())
			if err != nil {
				return err
			}
			res, err := eng.Downgrade(c.Context, engine.DowngradeOptions{
				To:     c.String("to"),
				DryRun: dry,
				// A dry run changes nothing: it shows the whole plan, data
				// loss included, and says which flag applying it needs.
				AllowDataLoss: c.Bool("allow-data-loss") || dry,
				LockTimeout:   lockTimeout(c),
				DevURL:        devURLFor(c, cfg, folder),
				DDL:           ddl,
				Logger:        cfg.Logger,
			})
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(e.stdout, newDowngradeView(u.Redacted(), res))
			}
			w := e.stdout
			if res.DryRun {
				fmt.Fprintf(w, "Dry run: would bring %s from %s back to %s (nothing was changed).\n", u.Redacted(), versionOrNone(res.From), versionOrNone(res.To))
			} else {
				fmt.Fprintf(w, "Downgraded %s from %s to %s in %s.\n", u.Redacted(), versionOrNone(res.From), versionOrNone(res.To), human(res.Duration))
			}
			for _, r := range res.Reverted {
				fmt.Fprintf(w, "  reverted %s\n", r.Name)
			}
			if len(res.Statements) > 0 {
				fmt.Fprintf(w, "Plan (%s):\n", plural(len(res.Statements), "statement", "statements"))
				for _, s := range res.Statements {
					fmt.Fprintf(w, "  %s\n", withSemicolon(s))
				}
			}
			for _, d := range res.DataLoss {
				fmt.Fprintf(w, "  data loss: %s\n", d)
			}
			if dry && res.Lossy && !c.Bool("allow-data-loss") {
				fmt.Fprintf(w, "Applying this plan destroys data: back up the database, then pass --allow-data-loss.\n")
			}
			return nil
		},
	}
}
