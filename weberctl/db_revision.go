package weberctl

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/config"
	"github.com/weber-framework/weber/internal/plan"
)

func dbRevisionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "revision",
		Usage: "write a migration file with the models' changes, for every kept dialect",
		Description: `For every kept dialect (WEBER_DIALECTS, default sqlite,postgres,mysql), replays
the history on a dev database, plans the difference to the models, and writes
<version>_<name>.sql into --dir/<dialect> with an updated atlas.sum. Every
dialect gets the same version and name. It prints each file and its
statements. With no difference it says so and writes nothing.

Dev databases: an in-memory SQLite; for PostgreSQL and MySQL a scratch
database created on the server --dev-postgres-url / --dev-mysql-url (or
WEBER_DEV_POSTGRES_URL / WEBER_DEV_MYSQL_URL) names, and dropped afterwards.
Without one, pass --dialect to write only some dialects.
When none is set and the server is installed (Debian: postgresql,
mariadb-server), weberctl starts a private one itself and stops it after
10 minutes unused (see ` + "`weberctl devserver --help`" + `).

The models are compared in the form each dev server stores them, and each
file is applied there on top of the replayed history before it is written:
a file that fails, or does not reach the models, is not written anywhere.
MySQL files declare the flavour of the dev server (-- weber:flavor mariadb
or mysql); a history declared for one flavour is refused on the other.

Renames: a field or an entity declared renamed in the model, with
.Annotations(weberschema.RenamedFrom("old_name")) (then go generate ./ent),
is written as RENAME COLUMN / RENAME TABLE, keeping its data, indexes and
foreign keys. A table that drops a column and adds one of the same kind of
type, undeclared, may be a rename: on a terminal it asks "Was users.bio
renamed to users.biography? [y/N]"; elsewhere it refuses, naming the line to
add to the model (or pass --allow-destructive if it is no rename).

It never writes a DROP of a table, column or index, nor narrows a column,
unless --allow-destructive is given: it writes the rest, lists what it left
out and exits 1, since the models are still ahead of the history. Write the
drops in a later revision, once no running code uses what they remove.

With --data NAME it writes no schema change but scaffolds a data migration
in Go (see "Data migrations" in docs/migrations.md): a snapshot of the typed
client as the models are now (--dir/data/NAME/ent, generated with go tool
ent), the migration's file --dir/data/NAME.go, and <version>_NAME.sql in
every kept dialect's folder with -- weber:go NAME and -- weber:touches
(from --touches, required: the columns it may change). Run it from the
project's root.

With --data NAME --frozen the data migration is frozen SQL instead: its
first run writes --dir/data/NAME.go, a function that makes the change with
the project's typed client, and registers it in --dir/data/data.go. Write
the change, then run the same command again from weberctl built with it
(go run ./cmd/weberctl ...): it records the statements the client runs, for
every kept dialect, and writes them as <version>_NAME.sql with
-- weber:touches read from them. Upgrades run that SQL; no Go runs then.
The function may change rows in bulk but not read them.

Example:
   weberctl db revision --name add_bio
   weberctl db revision --data split_user_names --touches users.first_name,users.last_name
   weberctl db revision --data publish_dated_drafts --frozen
   weberctl db revision --name add_bio --dialect sqlite
   weberctl db revision --name drop_legacy --allow-destructive --json`,
		Flags: withGlobal(append([]cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "the revision's `NAME`, e.g. add_bio (default: " + plan.DefaultName + ")"},
			&cli.BoolFlag{Name: "allow-destructive", Usage: "write drops of tables, columns and indexes, and narrowed columns"},
			&cli.StringSliceFlag{Name: "dialect", Usage: "write only this `DIALECT` (sqlite, postgres or mysql); repeatable; default: every kept dialect"},
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("what was planned and written")},
			&cli.StringFlag{Name: "data", Usage: "scaffold a Go data migration named `NAME` instead of a schema change"},
			&cli.BoolFlag{Name: "frozen", Usage: "with --data: a frozen data migration, whose SQL is recorded from the typed client into the files (run twice: scaffold, then record)"},
			&cli.StringFlag{Name: "touches", Usage: "with --data: the `COLUMNS` it may change, e.g. users.first_name,users.last_name"},
			&cli.StringFlag{Name: "schema", Value: "ent/schema", Usage: "with --data: the models' `FOLDER`, copied into the snapshot"},
		}, devURLFlags()...)...),
		Action: func(c *cli.Context) error { return dbRevision(c, e) },
	}
}

// dbRevision runs `db revision`.
func dbRevision(c *cli.Context, e *env) error {
	if c.Bool("frozen") && c.String("data") == "" {
		return usagef("--frozen goes with --data NAME: `weberctl db revision --data NAME --frozen`")
	}
	if c.String("data") != "" && c.Bool("frozen") {
		return dbRevisionFrozen(c, e)
	}
	if c.String("data") != "" {
		return dbRevisionData(c, e)
	}
	cfg, dialects, dev, err := devDialects(c, e)
	if err != nil {
		return err
	}
	res, err := reviseAsking(c, e, plan.ReviseOptions{
		Root:             cfg.MigrationsDir,
		Dialects:         dialects,
		DevURLs:          dev,
		Name:             c.String("name"),
		AllowDestructive: c.Bool("allow-destructive"),
		Tables:           e.project.Tables,
		Renames:          e.project.Renames,
		Logger:           cfg.Logger,
	})
	var destructive *plan.DestructiveError
	if errors.As(err, &destructive) {
		renderRefusedRevision(e, destructive, c.Bool("json"))
		return err
	}
	if err != nil {
		return err
	}
	if c.Bool("json") {
		if err := writeJSON(e.stdout, newReviseView(res)); err != nil {
			return err
		}
	} else {
		renderRevision(e, res)
	}
	return leftOutError(res)
}

// noArgsDialects refuses arguments and returns the configuration and the
// dialects --dialect chose (chosenDialects), for the commands that work on
// every kept dialect.
func noArgsDialects(c *cli.Context, e *env) (config.Config, []string, error) {
	if err := noArgs(c); err != nil {
		return config.Config{}, nil, err
	}
	cfg := e.config(c)
	dialects, err := chosenDialects(c, cfg)
	return cfg, dialects, err
}

// devDialects is noArgsDialects for the commands that replay the history
// on dev servers: with the dev server URL of each chosen dialect (a
// private one started when none is configured, see devServerURLs).
func devDialects(c *cli.Context, e *env) (config.Config, []string, map[string]string, error) {
	cfg, dialects, err := noArgsDialects(c, e)
	if err != nil {
		return cfg, nil, nil, err
	}
	dev, err := e.devServerURLs(c, cfg, dialects)
	return cfg, dialects, dev, err
}

// chosenDialects returns the --dialect values, which must be kept
// dialects, or every kept dialect.
func chosenDialects(c *cli.Context, cfg config.Config) ([]string, error) {
	chosen := c.StringSlice("dialect")
	if len(chosen) == 0 {
		return cfg.Dialects, nil
	}
	var out []string
	for _, d := range chosen {
		for _, p := range strings.Split(d, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if !slices.Contains(cfg.Dialects, p) {
				hint := ""
				if s := suggest(p, cfg.Dialects); s != "" {
					hint = fmt.Sprintf(" Did you mean %q?", s)
				}
				return nil, usagef("--dialect %s is not a kept dialect (kept: %s).%s", p, strings.Join(cfg.Dialects, ", "), hint)
			}
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func renderRevision(e *env, r *plan.ReviseResult) {
	w := e.stdout
	if !r.Written {
		fmt.Fprintf(w, "No difference: the history matches the models")
		var left []string
		for _, d := range r.Dialects {
			for _, l := range d.LeftOut {
				left = append(left, d.Dialect+": "+l.String())
			}
		}
		if len(left) == 0 {
			names := make([]string, len(r.Dialects))
			for i, d := range r.Dialects {
				names[i] = d.Dialect
			}
			fmt.Fprintf(w, " (%s); nothing written.\n", strings.Join(names, ", "))
		} else {
			fmt.Fprintf(w, " apart from destructive changes; nothing written. Left out (pass --allow-destructive to write them):\n")
			for _, l := range left {
				fmt.Fprintf(w, "  %s\n", l)
			}
		}
		printWarnings(e, r)
		return
	}
	fmt.Fprintf(w, "Revision %s_%s:\n", r.Version, r.Name)
	for _, d := range r.Dialects {
		if d.File == "" {
			fmt.Fprintf(w, "\n%s: no change (replayed %s)\n", d.Dialect, plural(d.Replayed, "file", "files"))
			continue
		}
		fmt.Fprintf(w, "\n%s: wrote %s (%s, replayed %s in %s)\n", d.Dialect, d.File,
			plural(len(d.Statements), "statement", "statements"), plural(d.Replayed, "file", "files"), human(d.Duration))
		for _, s := range d.Statements {
			fmt.Fprintf(w, "  %s\n", withSemicolon(s.SQL))
		}
		if len(d.LeftOut) > 0 {
			fmt.Fprintf(w, "  left out (destructive; pass --allow-destructive to write them):\n")
			for _, l := range d.LeftOut {
				fmt.Fprintf(w, "    %s\n", l.String())
			}
		}
		if len(d.Findings) > 0 {
			fmt.Fprintf(w, "  lint (%s):\n", plural(len(d.Findings), "finding", "findings"))
		}
		for _, f := range findingViews(d.Findings) {
			printFinding(w, d.File, f)
		}
	}
	printWarnings(e, r)
}

func printWarnings(e *env, r *plan.ReviseResult) {
	for _, d := range r.Dialects {
		for _, wn := range d.Warnings {
			fmt.Fprintf(e.stderr, "warning: %s: %s\n", d.Dialect, wn)
		}
	}
}

// renderRefusedRevision shows every destructive finding that stopped a
// revision (no file was written), before the one-line error.
func renderRefusedRevision(e *env, d *plan.DestructiveError, asJSON bool) {
	refused := reviseView{Dialects: []revisionDialectView{{Dialect: d.Dialect, Statements: []statementView{},
		LeftOut: []leftOutView{}, Findings: findingViews(d.Findings), Warnings: []string{}}}}
	if asJSON {
		_ = writeJSON(e.stdout, refused)
		return
	}
	fmt.Fprintf(e.stdout, "%s: lint found %s; no file was written (pass --allow-destructive if it is intended):\n", d.Dialect,
		plural(len(d.Findings), "destructive change", "destructive changes"))
	for _, f := range refused.Dialects[0].Findings {
		printFinding(e.stdout, "", f)
	}
}

// leftOutError is the error of a revision that left destructive changes
// out: the models are still ahead of the history, which a script must not
// take for success. nil when nothing was left out.
func leftOutError(r *plan.ReviseResult) error {
	n := 0
	for _, d := range r.Dialects {
		n += len(d.LeftOut)
	}
	if n == 0 {
		return nil
	}
	written := "no file was written"
	if r.Written {
		written = "the rest was written"
	}
	return fmt.Errorf("db revision left out %s (listed above; %s): the models are still ahead of the history: "+
		"write them with `weberctl db revision --allow-destructive` once no running code uses what they remove",
		plural(n, "destructive change", "destructive changes"), written)
}
