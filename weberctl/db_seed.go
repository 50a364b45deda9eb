package weberctl

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/app"
	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/envmark"
)

func dbSeedCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "seed",
		Usage: "fill the database with the app's demo rows (development)",
		Description: `Runs the application's seed function (app.Seed in app/seed.go, written with
the typed client) on an existing database whose tables are in place. It runs
for the environment --env or WEBER_ENV, or else the one recorded in the
database, and the seed may do different things per environment (the example
app adds a draft post in development only). Running it twice leaves the same
rows: users are keyed by email, tags by name, posts by author and title, and
a row that exists is left as it is. It all runs in one transaction: on an
error nothing is kept.

A database that records a production environment, or a run with --env
production, is refused unless --force-production is given too.

Example:
   weberctl db seed
   weberctl db seed --env staging --database-url postgres://app@db.internal/app_staging`,
		Flags: withGlobal(
			&cli.BoolFlag{Name: "force-production", Usage: "seed even a database marked as production"},
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("what was created and what was there")},
		),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			cfg, u, db, _, err := e.openTarget(c, false)
			if err != nil {
				return err
			}
			defer db.Close()
			res, err := seedDatabase(c.Context, u, db, cfg.Env, c.Bool("force-production"))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(e.stdout, res)
			}
			fmt.Fprintln(e.stdout, seedSummary(u.Redacted(), res))
			return nil
		},
	}
}

// seedDatabase runs app.Seed on db for env (or, without one, the
// environment the database records), refusing a production database or
// environment unless force.
func seedDatabase(ctx context.Context, u *dbconn.URL, db *sql.DB, env string, force bool) (*app.SeedResult, error) {
	mark, err := envmark.Read(ctx, db, u.Dialect)
	if err != nil {
		return nil, fmt.Errorf("seeding %s: %w", u.Redacted(), err)
	}
	if !force {
		switch {
		case envmark.IsProduction(mark):
			return nil, fmt.Errorf("refusing to seed %s: it is marked as a %q database (see `weberctl db mark`); demo rows do not belong there; if you really mean it, pass --force-production", u.Redacted(), mark)
		case envmark.IsProduction(env):
			return nil, fmt.Errorf("refusing to seed %s for the %q environment (--env or WEBER_ENV): demo rows do not belong in production; if you really mean it, pass --force-production", u.Redacted(), env)
		}
	}
	if strings.TrimSpace(env) == "" {
		env = mark
	}
	client := ent.NewClient(ent.Driver(entsql.OpenDB(u.Dialect, db)))
	res, err := app.Seed(ctx, client, env)
	if err != nil {
		return nil, fmt.Errorf("seeding %s (nothing was kept): %w; if its tables are missing or behind the models, run `weberctl db upgrade` (or `weberctl db reset`) first", u.Redacted(), err)
	}
	return res, nil
}

// seedSummary is the line `db seed` prints.
func seedSummary(database string, r *app.SeedResult) string {
	counts := func(c app.SeedCounts) string {
		return fmt.Sprintf("%s, %s, %s", plural(c.Users, "user", "users"), plural(c.Tags, "tag", "tags"), plural(c.Posts, "post", "posts"))
	}
	if r.Created.Total() == 0 {
		return fmt.Sprintf("Nothing to seed in %s: its %s were already there.", database, counts(r.Existing))
	}
	s := fmt.Sprintf("Seeded %s: created %s", database, counts(r.Created))
	if r.Existing.Total() > 0 {
		s += fmt.Sprintf(" (%s already there)", plural(r.Existing.Total(), "row", "rows"))
	}
	return s + "."
}
