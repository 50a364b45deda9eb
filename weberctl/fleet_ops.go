package weberctl

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/fleet"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/upgrade"
)

// fleetUpgrade runs `db upgrade` over the command line's targets.
func (e *env) fleetUpgrade(c *cli.Context) error {
	for _, f := range []string{"baseline", "retry", "mark-applied"} {
		if c.IsSet(f) {
			return usagef("--%s decides for one database: run it with --database-url on that target alone, not over --targets", f)
		}
	}
	cfg := e.config(c)
	return e.runFleet(c, "upgrade", func(ctx context.Context, t fleet.Target) (fleet.Result, error) {
		db, dir, err := openFleetTarget(ctx, t, cfg.MigrationsDir, "upgrade")
		if err != nil {
			return fleet.Result{}, err
		}
		defer db.Close()
		opts, err := upgradeOptions(c, e, cfg, t.URL, dir, false)
		if err != nil {
			return fleet.Result{}, err
		}
		opts.To, opts.DryRun = c.String("to"), c.Bool("dry-run")
		opts.AllowOutOfOrder, opts.AllowDataLoss = c.Bool("allow-out-of-order"), c.Bool("allow-data-loss")
		folder, err := migdir.Folder(t.URL.Dialect)
		if err != nil {
			return fleet.Result{}, err
		}
		opts.DevURL = devURLFor(c, cfg, folder)
		res, err := upgrade.Upgrade(ctx, db, t.URL, dir, opts)
		if err != nil {
			return fleet.Result{}, err
		}
		return fleet.Result{Version: res.After, Detail: upgradeDetail(res)}, nil
	})
}

// upgradeDetail says in a few words what an upgrade did.
func upgradeDetail(res *upgrade.Result) string {
	verb := "applied"
	if res.DryRun {
		verb = "would apply"
	}
	if len(res.Files) == 0 {
		if res.DryRun && len(res.Remaining) > 0 {
			return fmt.Sprintf("%s %s", verb, plural(len(res.Remaining), "file", "files"))
		}
		return "nothing to do"
	}
	return fmt.Sprintf("%s %s", verb, plural(len(res.Files), "file", "files"))
}

// fleetStatus runs the history part of `db status` over the command
// line's targets: each target's version and what is pending.
func (e *env) fleetStatus(c *cli.Context) error {
	cfg := e.config(c)
	return e.runFleet(c, "status", func(ctx context.Context, t fleet.Target) (fleet.Result, error) {
		db, dir, err := openFleetTarget(ctx, t, cfg.MigrationsDir, "")
		if err != nil {
			return fleet.Result{}, err
		}
		defer db.Close()
		st, err := upgrade.Status(ctx, db, t.URL, dir)
		if err != nil {
			return fleet.Result{}, err
		}
		res := fleet.Result{Version: st.Current, Detail: "up to date"}
		if n := len(st.Pending); n > 0 {
			res.Detail = plural(n, "file", "files") + " pending"
		}
		var problems []string
		if st.Partial != nil {
			problems = append(problems, fmt.Sprintf("%s partially applied (%d of %d statements)", st.Partial.Name, st.Partial.Applied, st.Partial.Total))
		}
		for _, p := range st.Problems {
			problems = append(problems, p.Message)
		}
		if len(problems) > 0 {
			return res, errors.New(strings.Join(problems, "; "))
		}
		return res, nil
	})
}

// openFleetTarget opens one target, which must exist (a fleet never
// creates databases), with its dialect's migration folder. op, when set,
// is the write about to happen, refused on a system database.
func openFleetTarget(ctx context.Context, t fleet.Target, migrations, op string) (*sql.DB, string, error) {
	dir, err := migdir.DialectDir(migrations, t.URL.Dialect)
	if err != nil {
		return nil, "", err
	}
	if op != "" {
		if err := t.URL.RefuseSystem(op); err != nil {
			return nil, "", err
		}
	}
	ok, err := dbconn.Exists(ctx, t.URL)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", fmt.Errorf("database %s does not exist: create it first, or take it out of the targets", t.Name)
	}
	db, err := dbconn.Open(ctx, t.URL)
	return db, dir, err
}
