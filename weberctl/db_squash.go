package weberctl

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/envmark"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/upgrade"
)

// dbSquashDescription is the command's help page, with an example.
const dbSquashDescription = `Collapses the migration files up to and including --through VERSION into
one file per kept dialect, VERSION_squashed.sql, for a long history that
makes every new database (tests, CI, a new developer) replay years of
changes. Its statements are planned from an empty database to the schema the
old files build; before anything is written, the old files and the new one
are each replayed on a dev database and the two schemas must be equal.

The new file starts with ` + "`-- weber:squashes FIRST..VERSION`" + `. A database that
applied the old files counts it as applied: db upgrade and db status read
that directive, nothing is re-run and nothing needs stamping. A database
that applied only some of them is refused: upgrade it through VERSION with
the history as it was before the squash, then with this one.

What a squash cannot keep is refused: a file that writes rows (INSERT,
UPDATE, DELETE) unless --drop-data-statements (a new database then lacks
those rows), and views, triggers or functions (squash up to before them).

A production database that has not applied VERSION yet must not lose the
files it still needs: when the target database (--database-url) is reachable
and is production (its mark, or --env / WEBER_ENV), a squash past its
latest applied version is refused.

Example:
   weberctl db squash --through 20261201093000
   weberctl db squash --through 20261201093000 --database-url "$PRODUCTION_URL" --json`

func dbSquashCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:        "squash",
		Usage:       "collapse the migration files up to a version into one per dialect, proven equivalent",
		Description: dbSquashDescription,
		Flags: withGlobal(append([]cli.Flag{
			&cli.StringFlag{Name: "through", Usage: "the `VERSION` of the last file to squash (required)"},
			&cli.BoolFlag{Name: "drop-data-statements", Usage: "leave out the squashed files' INSERT, UPDATE and DELETE statements"},
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("what was squashed")},
		}, devURLFlags()...)...),
		Action: func(c *cli.Context) error { return dbSquash(c, e) },
	}
}

// dbSquash runs `db squash`.
func dbSquash(c *cli.Context, e *env) error {
	if err := noArgs(c); err != nil {
		return err
	}
	through := strings.TrimSpace(c.String("through"))
	if through == "" {
		return usagef("`weberctl db squash` needs --through VERSION, the last file to squash, e.g. `weberctl db squash --through 20261201093000`")
	}
	cfg := e.config(c)
	checked, err := e.productionThrough(c, cfg.Env, through)
	if err != nil {
		return err
	}
	dev, err := e.devServerURLs(c, cfg, cfg.Dialects)
	if err != nil {
		return err
	}
	res, err := plan.Squash(c.Context, plan.SquashOptions{
		Root: cfg.MigrationsDir, Dialects: cfg.Dialects, DevURLs: dev,
		Through: through, DropData: c.Bool("drop-data-statements"), Logger: cfg.Logger,
	})
	if err != nil {
		return adviseDevURL(e, c.Command, err)
	}
	if c.Bool("json") {
		return writeJSON(e.stdout, newSquashView(res, checked))
	}
	fmt.Fprintf(e.stdout, "Squashed the files %s to %s into one file per dialect (proven: both build the same schema):\n", res.First, res.Through)
	for _, d := range res.Dialects {
		fmt.Fprintf(e.stdout, "  %s: %s replaces %s (%s)\n", d.Dialect, d.File, plural(len(d.Removed), "file", "files"), plural(d.Statements, "statement", "statements"))
		if len(d.DroppedData) > 0 {
			fmt.Fprintf(e.stdout, "    left out the data statements at %s\n", strings.Join(d.DroppedData, ", "))
		}
		for _, w := range d.Warnings {
			fmt.Fprintf(e.stdout, "    warning: %s\n", w)
		}
	}
	fmt.Fprintf(e.stdout, "Checked: %s.\n", checked)
	fmt.Fprintln(e.stdout, "Databases that applied the old files count the squashed one as applied. Next: `weberctl db check`, and commit.")
	return nil
}

// productionThrough refuses a squash past what a reachable production
// database has applied; it says what it checked.
func (e *env) productionThrough(c *cli.Context, env, through string) (string, error) {
	_, u, db, _, err := e.openDatabase(c, false)
	if err != nil {
		return "no production database checked (" + errtext.OneLine(err) + ")", nil
	}
	defer db.Close()
	mark, err := envmark.Read(c.Context, db, u.Dialect)
	if err != nil {
		return "no production database checked (" + errtext.OneLine(err) + ")", nil
	}
	if !envmark.IsProduction(mark) && !envmark.IsProduction(env) {
		return u.Redacted() + " is not production, so not checked", nil
	}
	revs, err := upgrade.History(c.Context, db, u)
	if err != nil {
		return "", fmt.Errorf("squash: reading what production database %s applied: %s: make it reachable, or point --database-url elsewhere", u.Redacted(), errtext.OneLine(err))
	}
	latest := ""
	for _, r := range revs {
		if r.Done() && (latest == "" || migdir.CompareVersions(r.Version, latest) > 0) {
			latest = r.Version
		}
	}
	if latest == "" || migdir.CompareVersions(latest, through) < 0 {
		if latest == "" {
			latest = "nothing yet"
		}
		return "", fmt.Errorf("squash: the production database %s has applied %s, before %s: it still needs the files a squash through %s would remove; squash through %s or earlier, or upgrade production first", u.Redacted(), latest, through, through, latest)
	}
	return fmt.Sprintf("production database %s has applied %s", u.Redacted(), latest), nil
}

// squashView is the JSON of `db squash`.
type squashView struct {
	First    string              `json:"first"`
	Through  string              `json:"through"`
	Checked  string              `json:"checked"`
	Dialects []squashDialectView `json:"dialects"`
}

type squashDialectView struct {
	Dialect     string   `json:"dialect"`
	File        string   `json:"file"`
	Removed     []string `json:"removed"`
	Statements  int      `json:"statements"`
	DroppedData []string `json:"dropped_data"`
	Warnings    []string `json:"warnings"`
}

func newSquashView(res *plan.SquashResult, checked string) squashView {
	v := squashView{First: res.First, Through: res.Through, Checked: checked, Dialects: []squashDialectView{}}
	for _, d := range res.Dialects {
		dv := squashDialectView{Dialect: d.Dialect, File: d.File, Removed: d.Removed, Statements: d.Statements,
			DroppedData: d.DroppedData, Warnings: d.Warnings}
		if dv.DroppedData == nil {
			dv.DroppedData = []string{}
		}
		if dv.Warnings == nil {
			dv.Warnings = []string{}
		}
		v.Dialects = append(v.Dialects, dv)
	}
	return v
}
