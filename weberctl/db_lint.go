package weberctl

import (
	"fmt"
	"github.com/weber-framework/weber/config"
	"io"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/plan"
)

// dbLintDescription is the command's help page, with an example.
const dbLintDescription = `Lints the migration files of every kept dialect (or --dialect), hand-written
and edited ones included: the history is replayed on a scratch database and
each statement is checked with Atlas's analyzers against the schema it
really changes. Give versions (or file names) to lint only those files; by
default every file is linted.

Each finding is printed with its code, file:line, the statement, the risk in
plain words and the safer alternative. Destructive findings (DS1xx: a
dropped table, column or index) are errors, exit status 1, unless the file
says the change is intended with a directive on the line above the
statement (or in the file's header comments):

   -- atlas:nolint destructive
   ALTER TABLE users DROP COLUMN bio;

A directive names the analyzer (destructive, data_depend, incompatible,
condrop) or the code (DS103) it silences, for that one statement; such a
finding is shown as "intended". A file may instead name what it loses on
purpose, anywhere in it, for lint, the upgrade's pre-flight and db verify:

   -- weber:data-loss users.bio, audit_logs

(a table name covers its drop and its columns). After editing a file run ` + "`weberctl db hash`" + `;
only edit files that no database has applied yet.

PostgreSQL and MySQL replay on the server WEBER_DEV_POSTGRES_URL /
WEBER_DEV_MYSQL_URL (or --dev-postgres-url / --dev-mysql-url) names; without
one, lint only some dialects with --dialect sqlite.
When none is set and the server is installed (Debian: postgresql,
mariadb-server), weberctl starts a private one itself and stops it after
10 minutes unused (see ` + "`weberctl devserver --help`" + `).

Example:
   weberctl db lint
   weberctl db lint --dialect sqlite 20261127011300
   weberctl db lint --latest 1 --json`

func dbLintCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:        "lint",
		Usage:       "lint migration files for destructive and risky statements",
		ArgsUsage:   "[VERSION...]",
		Description: dbLintDescription,
		Flags: withGlobal(append([]cli.Flag{
			&cli.StringSliceFlag{Name: "dialect", Usage: "lint only this `DIALECT`; repeatable; default: every kept dialect"},
			&cli.IntFlag{Name: "latest", DefaultText: "every file", Usage: "lint only the newest `N` files of each folder"},
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("the findings")},
		}, devURLFlags()...)...),
		Action: func(c *cli.Context) error { return dbLint(c, e) },
	}
}

// dbLint runs `db lint`.
func dbLint(c *cli.Context, e *env) error {
	cfg := e.config(c)
	dialects, err := chosenDialects(c, cfg)
	if err != nil {
		return err
	}
	if c.Int("latest") < 0 {
		return usagef("--latest %d: give a positive number of files", c.Int("latest"))
	}
	if c.Int("latest") > 0 && c.NArg() > 0 {
		return usagef("give versions or --latest, not both")
	}
	dev, err := e.devServerURLs(c, cfg, dialects)
	if err != nil {
		return err
	}
	prog := e.newProgressLine(c.Bool("json"))
	v := lintView{Dialects: []lintDialectView{}}
	var unlinted []string
	replayed := 0
	for _, d := range dialects {
		dv := lintDialect(c, e, cfg, d, dev[d], prog)
		if dv.Error != "" {
			unlinted = append(unlinted, d)
		}
		v.Errors += dv.Errors
		replayed += dv.Replayed
		v.Dialects = append(v.Dialects, dv)
	}
	v.OK = v.Errors == 0 && len(unlinted) == 0
	prog.clear()
	if c.Bool("json") {
		if err := writeJSON(e.stdout, v); err != nil {
			return err
		}
	} else {
		renderLint(e, v)
	}
	prog.done(fmt.Sprintf("db lint: %s, %s replayed", plural(len(v.Dialects), "dialect", "dialects"), plural(replayed, "file", "files")))
	var msgs []string
	if v.Errors > 0 {
		msgs = append(msgs, fmt.Sprintf("found %s (destructive statements not marked intended)", plural(v.Errors, "error", "errors")))
	}
	if len(unlinted) > 0 {
		msgs = append(msgs, "could not lint "+strings.Join(unlinted, ", ")+" (see above)")
	}
	if len(msgs) > 0 {
		return fmt.Errorf("db lint %s", strings.Join(msgs, "; "))
	}
	return nil
}

// lintDialect lints one dialect's folder on its dev database.
func lintDialect(c *cli.Context, e *env, cfg config.Config, d, devURL string, prog *progressLine) lintDialectView {
	dir := filepath.Join(cfg.MigrationsDir, d)
	dv := lintDialectView{Dialect: d, Dir: dir, Files: []lintedFileView{}, Warnings: []string{}}
	if d != plan.SQLite && strings.TrimSpace(devURL) == "" {
		dv.Error = fmt.Sprintf("no dev database: set %s (or --dev-%s-url) to a server where weberctl may create scratch databases, "+
			"or lint only some dialects with --dialect sqlite%s", plan.DevURLVariable(d), d, e.devHint(d))
		return dv
	}
	rep, err := plan.LintFiles(c.Context, plan.LintOptions{Dir: dir, Dialect: d, DevURL: devURL,
		Versions: c.Args().Slice(), Latest: c.Int("latest"), Logger: cfg.Logger, Progress: lintProgress(prog)})
	if err != nil {
		dv.Error = errtext.OneLine(err)
		return dv
	}
	dv.Replayed, dv.Files, dv.Warnings = rep.Replayed, lintedFileViews(rep.Files), list(rep.Warnings)
	dv.Errors = len(rep.Errors())
	return dv
}

// lintDialectView is the lint of one dialect's folder.
type lintDialectView struct {
	Dialect  string           `json:"dialect"`
	Dir      string           `json:"dir"`
	Replayed int              `json:"replayed"`
	Errors   int              `json:"errors"`
	Files    []lintedFileView `json:"files"`
	// Error says why the folder could not be linted ("" when it was).
	Error    string   `json:"error,omitempty"`
	Warnings []string `json:"warnings"`
}

// lintView is `db lint --json`.
type lintView struct {
	OK       bool              `json:"ok"`
	Errors   int               `json:"errors"`
	Dialects []lintDialectView `json:"dialects"`
}

func renderLint(e *env, v lintView) {
	w := e.stdout
	for i, d := range v.Dialects {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if d.Error != "" {
			fmt.Fprintf(w, "%s: %s: NOT linted: %s\n", d.Dialect, d.Dir, d.Error)
			continue
		}
		var all []findingView
		intended := 0
		for _, f := range d.Files {
			for _, x := range f.Findings {
				if x.File == "" {
					x.File = f.Name
				}
				all = append(all, x)
				if x.Intended {
					intended++
				}
			}
		}
		fmt.Fprintf(w, "%s: %s: linted %s (replayed %d): %s, %s, %d intended\n", d.Dialect, d.Dir,
			plural(len(d.Files), "file", "files"), d.Replayed, plural(d.Errors, "error", "errors"),
			plural(len(all), "finding", "findings"), intended)
		for _, f := range all {
			printFinding(w, filepath.Join(d.Dir, f.File), f)
		}
		for _, wn := range d.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", wn)
		}
	}
	if v.Errors > 0 {
		fmt.Fprintf(w, "\nIf a change is intended, put `-- atlas:nolint destructive` on the line above its statement, or name what the file loses with `-- weber:data-loss TABLE[.COLUMN]`, and run `weberctl db hash` (only in a file no database has applied yet).\n")
	}
}

// printFinding prints one lint finding: where, code, severity, the
// statement, the risk and the safer way. where is file:line, or a label
// for a file not written yet.
func printFinding(w io.Writer, where string, f findingView) {
	sev := f.Severity
	if f.Intended {
		sev = "intended"
	}
	if f.Line > 0 && where != "" {
		where = fmt.Sprintf("%s:%d", where, f.Line)
	}
	if where != "" {
		where += ": "
	}
	fmt.Fprintf(w, "  %s%s %s: %s\n", where, f.Code, sev, errtext.Flatten(f.Message))
	fmt.Fprintf(w, "      statement:   %s\n", shorten(withSemicolon(errtext.Flatten(f.Statement)), 120))
	if f.Explanation != "" {
		fmt.Fprintf(w, "      risk:        %s\n", f.Explanation)
	}
	if f.Alternative != "" {
		fmt.Fprintf(w, "      safer:       %s\n", f.Alternative)
	}
}

// shorten cuts s to n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

// lintProgress shows the replay of each dialect's history on p: the file
// it is at, of how many; nil (no events) when p shows nothing.
func lintProgress(p *progressLine) func(plan.LintProgress) {
	if p == nil {
		return nil
	}
	return func(ev plan.LintProgress) {
		p.show(fmt.Sprintf("%s: replaying file %d of %d (%s)", ev.Dialect, ev.Done, ev.Total, ev.File))
	}
}
