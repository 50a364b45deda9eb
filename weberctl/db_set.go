package weberctl

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/upgrade"
)

func dbSetCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "set",
		Usage:     "record the history as applied up to a version, without running anything",
		UsageText: "weberctl db set [options] VERSION",
		Description: `For the day a change was made outside Weber (a DBA ran a file by hand, a
fix was applied in an emergency): records every file up to VERSION as applied
and every later one as not applied, running no statement (Atlas's
` + "`migrate set`" + `, Alembic's ` + "`stamp`" + `). VERSION ` + upgrade.Empty + ` records none.

Under the migration lock it first replays the history up to VERSION on a dev
database (in memory for SQLite; on PostgreSQL and MySQL on --dev-url or
WEBER_DEV_<DIALECT>_URL) and compares it with the live schema: a database
that does not have that schema is refused, naming the first difference,
unless --force. The revisions it writes carry each file's hash and show as
"set" in ` + "`weberctl db history`" + `; files after VERSION lose their
record, and the next ` + "`db upgrade`" + ` runs them.

Example:
   weberctl db set 20261127014341
   weberctl db set 20261127014341 --dry-run
   weberctl db set --force --json 20261127011300`,
		Flags: withGlobal(append([]cli.Flag{
			&cli.BoolFlag{Name: "force", Usage: "record VERSION even when the live schema differs from the history's there (or cannot be compared)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "say what would be recorded and change nothing"},
			lockTimeoutFlag(),
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("what was recorded")},
		}, append(devURLFlags(), devURLFlag())...)...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("`weberctl db set` takes one VERSION (a file's version, or %s for none); options go before it", upgrade.Empty)
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
			res, err := upgrade.Set(c.Context, db, u, dir, upgrade.SetOptions{
				Version:     c.Args().First(),
				Force:       c.Bool("force"),
				DryRun:      c.Bool("dry-run"),
				LockTimeout: lockTimeout(c),
				DevURL:      devURLFor(c, cfg, folder),
				Operator:    operator(),
				Logger:      cfg.Logger,
			})
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(e.stdout, newSetView(u.Redacted(), res))
			}
			renderSet(e, u.Redacted(), res)
			return nil
		},
	}
}

// renderSet prints what `db set` recorded.
func renderSet(e *env, db string, res *upgrade.SetResult) {
	w := e.stdout
	verb := "Set"
	if res.DryRun {
		verb = "Dry run: would set"
	}
	fmt.Fprintf(w, "%s %s to %s (was %s).\n", verb, db, versionOrNone(res.To), versionOrNone(res.From))
	for _, f := range res.Marked {
		fmt.Fprintf(w, "  recorded as applied, not run: %s\n", f.Name)
	}
	for _, f := range res.Unmarked {
		fmt.Fprintf(w, "  no longer recorded (the next upgrade runs it): %s\n", f.Name)
	}
	if len(res.Marked)+len(res.Unmarked) == 0 {
		fmt.Fprintln(w, "  nothing to change: the history already says so")
	}
	switch {
	case !res.Compared:
		fmt.Fprintln(w, "The live schema was not compared with the history (--force, no dev server).")
	case len(res.Differences) > 0:
		fmt.Fprintf(w, "Forced: the live schema differs from the history's (%s would make them equal):\n", plural(len(res.Differences), "statement", "statements"))
		for _, s := range res.Differences {
			fmt.Fprintf(w, "  %s\n", s)
		}
	default:
		fmt.Fprintln(w, "The live schema matches the history at that version.")
	}
}

// setView is the JSON of `db set`.
type setView struct {
	Database    string   `json:"database"`
	Dialect     string   `json:"dialect"`
	From        string   `json:"from"`
	To          string   `json:"to"`
	DryRun      bool     `json:"dry_run"`
	Marked      []string `json:"marked"`
	Unmarked    []string `json:"unmarked"`
	Compared    bool     `json:"compared"`
	Differences []string `json:"differences"`
}

func newSetView(db string, res *upgrade.SetResult) setView {
	v := setView{Database: db, Dialect: res.Dialect, From: res.From, To: res.To, DryRun: res.DryRun,
		Marked: []string{}, Unmarked: []string{}, Compared: res.Compared, Differences: res.Differences}
	for _, f := range res.Marked {
		v.Marked = append(v.Marked, f.Name)
	}
	for _, f := range res.Unmarked {
		v.Unmarked = append(v.Unmarked, f.Name)
	}
	if v.Differences == nil {
		v.Differences = []string{}
	}
	return v
}
