package weberctl

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/envmark"
)

func dbSeedCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "seed",
		Usage: "fill the database with the app's demo rows (development)",
		Description: `Runs the project's seed function (Seed in its weberctl.Project; in
Weber's example, app.Seed in app/seed.go, written with the typed client) on an
existing database whose tables are in place. It runs for the environment
--env or WEBER_ENV, or else the one recorded in the
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
			if e.project.Seed == nil {
				return errNoSeed(e.project)
			}
			cfg, u, db, _, err := e.openTarget(c, false)
			if err != nil {
				return err
			}
			defer db.Close()
			res, err := seedDatabase(c.Context, e.project, u, db, cfg.Env, c.Bool("force-production"))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(e.stdout, newSeedView(res))
			}
			fmt.Fprintln(e.stdout, seedSummary(u.Redacted(), res))
			return nil
		},
	}
}

// seedDatabase runs the project's Seed on db for env (or, without one, the
// environment the database records), refusing a production database or
// environment unless force.
func seedDatabase(ctx context.Context, p Project, u *dbconn.URL, db *sql.DB, env string, force bool) (*SeedResult, error) {
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
	res, err := p.Seed(ctx, db, u.Dialect, env)
	if err == nil && res == nil {
		err = errors.New("the project's Seed returned no result")
	}
	if err != nil {
		return nil, fmt.Errorf("seeding %s (nothing was kept): %w; if its tables are missing or behind the models, run `weberctl db upgrade` (or `weberctl db reset`) first", u.Redacted(), err)
	}
	return res, nil
}

// seedSummary is the line `db seed` prints.
func seedSummary(database string, r *SeedResult) string {
	var created, existing []string
	var nCreated, nExisting int
	for _, t := range r.Tables {
		one := t.One
		if one == "" {
			one = t.Table
		}
		created = append(created, plural(t.Created, one, t.Table))
		existing = append(existing, plural(t.Existing, one, t.Table))
		nCreated += t.Created
		nExisting += t.Existing
	}
	if nCreated == 0 {
		return fmt.Sprintf("Nothing to seed in %s: its %s were already there.", database, strings.Join(existing, ", "))
	}
	s := fmt.Sprintf("Seeded %s: created %s", database, strings.Join(created, ", "))
	if nExisting > 0 {
		s += fmt.Sprintf(" (%s already there)", plural(nExisting, "row", "rows"))
	}
	return s + "."
}

// errNoSeed is db seed's refusal for a project without a Seed.
func errNoSeed(p Project) error {
	return fmt.Errorf("db seed: this project gives weberctl no seed function: set Seed in the weberctl.Project of its %s main.go", p.name())
}

// seedView is db seed's --json: the environment, and the rows created and
// already there, by table in the seed's order.
type seedView struct {
	Env      string      `json:"env"`
	Created  orderedInts `json:"created"`
	Existing orderedInts `json:"existing"`
}

func newSeedView(r *SeedResult) seedView {
	v := seedView{Env: r.Env}
	for _, t := range r.Tables {
		v.Created = append(v.Created, namedInt{t.Table, t.Created})
		v.Existing = append(v.Existing, namedInt{t.Table, t.Existing})
	}
	return v
}

type namedInt struct {
	name string
	n    int
}

// orderedInts is a JSON object whose keys keep their order.
type orderedInts []namedInt

// MarshalJSON writes {"users":2,"tags":3,...} in the slice's order.
func (o orderedInts) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, x := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(x.name)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s:%d", k, x.n)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads {"users":2,...}, the keys in name order (JSON
// objects keep none), for the tests that read --json back.
func (o *orderedInts) UnmarshalJSON(b []byte) error {
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*o = nil
	for _, k := range slices.Sorted(maps.Keys(m)) {
		*o = append(*o, namedInt{k, m[k]})
	}
	return nil
}

// get returns the count of name, 0 when it is not there.
func (o orderedInts) get(name string) int {
	for _, x := range o {
		if x.name == name {
			return x.n
		}
	}
	return 0
}
