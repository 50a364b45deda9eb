package weberctl

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/engine"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/devdb"
	"github.com/weber-framework/weber/internal/envmark"
	"github.com/weber-framework/weber/internal/migdir"
)

func dbResetCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "reset",
		Usage: "drop the database, rebuild it from the migration history, seed it (development)",
		Description: `Three steps in one: ` + "`db drop`" + `, then ` + "`db upgrade`" + ` on a new, empty
database (its tables come from the migration files in --dir/<dialect>, not from
the models), then ` + "`db seed`" + `. It checks the migration folder before dropping
anything, and stops at the first step that fails.

Like ` + "`db drop`" + `, on a terminal it asks you to type the database's name, and
without a terminal it requires --yes. A database that records a production
environment, or a run with --env production, is refused unless
--force-production is given too.

Example:
   weberctl db reset
   weberctl db reset --yes --database-url sqlite://var/test.db
   weberctl db reset --yes --json`,
		Flags: withGlobal(
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "reset without asking (required when not on a terminal)"},
			&cli.BoolFlag{Name: "force-production", Usage: "reset even a database marked as production"},
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("what was dropped, applied and seeded")},
		),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			cfg, u, err := e.target(c)
			if err != nil {
				return err
			}
			if envmark.IsProduction(cfg.Env) && !c.Bool("force-production") {
				return fmt.Errorf("refusing to reset %s for the %q environment (--env or WEBER_ENV): reset drops every row; if you really mean it, pass --force-production", u.Redacted(), cfg.Env)
			}
			dir, err := migdir.DialectDir(cfg.MigrationsDir, u.Dialect)
			if err != nil {
				return err
			}
			if _, err := migdir.OpenDialect(dir, u.Dialect); err != nil {
				return fmt.Errorf("not resetting %s (nothing was dropped): the migration history it would be rebuilt from is not usable: %w", u.Redacted(), err)
			}
			dropped, err := devdb.Drop(c.Context, u, dropOptions(c, e))
			if err != nil {
				return err
			}
			v, err := rebuildAndSeed(c, e, u, dir, cfg.Env, dropped.Existed)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(e.stdout, v)
			}
			return nil
		},
	}
}

// resetView is `db reset --json`.
type resetView struct {
	Database string      `json:"database"`
	Dropped  bool        `json:"dropped"` // false when there was no database to drop
	Upgrade  upgradeView `json:"upgrade"`
	Seed     *seedView   `json:"seed"` // null for a project without a seed
}

// rebuildAndSeed creates the database u names, applies the migration
// history in dir to it and seeds it: the steps of `db reset` after the drop.
// It prints each step unless --json, and returns them.
func rebuildAndSeed(c *cli.Context, e *env, u *dbconn.URL, dir, env string, dropped bool) (*resetView, error) {
	text := !c.Bool("json")
	if dropped && text {
		fmt.Fprintf(e.stdout, "Dropped %s.\n", u.Redacted())
	}
	if _, err := dbconn.EnsureDatabase(c.Context, u); err != nil {
		return nil, err
	}
	if text {
		fmt.Fprintf(e.stdout, "Created %s.\n", u.Redacted())
	}
	db, err := dbconn.Open(c.Context, u)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	eng, err := newEngine(u, db, dir, nil, e.dataMigrations())
	if err != nil {
		return nil, err
	}
	res, err := eng.Upgrade(c.Context, engine.UpgradeOptions{
		Env:      env,
		Operator: operator(),
		Logger:   e.logger(c),
	})
	if err != nil {
		return nil, fmt.Errorf("resetting %s: the database was dropped and created again, but applying the migration history failed: %w", u.Redacted(), err)
	}
	if text {
		renderUpgrade(e, u, res)
	}
	view := &resetView{Database: u.Redacted(), Dropped: dropped, Upgrade: newUpgradeView(u.Redacted(), res)}
	if e.project.Seed == nil {
		return view, nil
	}
	seeded, err := seedDatabase(c.Context, e.project, u, db, env, c.Bool("force-production"))
	if err != nil {
		return nil, err
	}
	if text {
		fmt.Fprintln(e.stdout, seedSummary(u.Redacted(), seeded))
	}
	sv := newSeedView(seeded)
	view.Seed = &sv
	return view, nil
}
