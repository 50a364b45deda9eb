package weberctl

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/schemadoc"
)

func dbCheckCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "the CI gate: every kept dialect's history is valid, linted and in sync with the models",
		Description: `For every kept dialect (WEBER_DIALECTS, default sqlite,postgres,mysql; or
--dialect), checks the migration folder and fails, exit status 1, naming each
problem on its own line, when:

  - the folder fails its integrity check (atlas.sum missing or not
    matching, malformed or duplicate versions, stray files, CRLF endings);
  - the models are ahead of the history (run ` + "`weberctl db revision`" + `);
  - lint finds a destructive statement not marked intended by an
    ` + "`-- atlas:nolint destructive`" + ` directive (see ` + "`weberctl db lint --help`" + `);
  - the kept dialects' folders disagree: a version in one folder and not in
    another, or under another name (every revision has one version and one
    name in every kept dialect; this is checked even with --dialect);
  - a kept dialect cannot be checked: PostgreSQL and MySQL replay the history
    on a scratch database on the server WEBER_DEV_POSTGRES_URL /
    WEBER_DEV_MYSQL_URL (or --dev-postgres-url / --dev-mysql-url) names. A
    project whose CI has no such server checks only some dialects with
    --dialect sqlite or WEBER_DIALECTS=sqlite: the gate never passes a kept
    dialect it did not check. When none is set and the server is installed
    (Debian: postgresql, mariadb-server), weberctl starts a private one
    itself (see ` + "`weberctl devserver --help`" + `);
  - docs/schema.md (next to the migrations folder), when the project keeps
    one, is not what ` + "`weberctl db schema --format mermaid --write docs/schema.md`" + `
    would write from the models (regenerate it and commit it).

A rename declared in the models (weberschema.RenamedFrom) that the history
already holds is a notice, not a problem: "notice: sqlite: users.biography:
RenamedFrom("bio") is in the history since VERSION; you can remove the
annotation".

The report goes to stdout (one line per problem); stderr gets one line,
"weberctl: db check found N problems". It needs no target database and
changes nothing.

Example:
   weberctl db check
   weberctl db check --dialect sqlite --json
   WEBER_DEV_POSTGRES_URL=postgres://postgres:pass@127.0.0.1:5432/postgres weberctl db check`,
		Flags: withGlobal(append([]cli.Flag{
			&cli.StringSliceFlag{Name: "dialect", Usage: "check only this `DIALECT`; repeatable; default: every kept dialect"},
			&cli.IntFlag{Name: "lint-latest", DefaultText: "every file", Usage: "lint only each folder's newest `N` files (old files already applied cannot be edited)"},
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("the verdict per dialect")},
		}, devURLFlags()...)...),
		Action: func(c *cli.Context) error {
			cfg, dialects, dev, err := devDialects(c, e)
			if err != nil {
				return err
			}
			prog := e.newProgressLine(c.Bool("json"))
			rep, err := plan.Check(c.Context, plan.CheckOptions{
				Root:       cfg.MigrationsDir,
				Dialects:   dialects,
				DevURLs:    dev,
				Tables:     e.project.Tables,
				Renames:    e.project.Renames,
				LintLatest: c.Int("lint-latest"),
				Kept:       cfg.Dialects,
				Logger:     cfg.Logger,
				Progress:   lintProgress(prog),
			})
			if err != nil {
				prog.clear()
				return err
			}
			prog.clear()
			v := newCheckView(rep, dev, e.devHint)
			if err := checkSchemaDoc(c, e, cfg.MigrationsDir, &v); err != nil {
				return err
			}
			if c.Bool("json") {
				if err := writeJSON(e.stdout, v); err != nil {
					return err
				}
			} else {
				renderCheck(e, v)
			}
			prog.done("db check: " + plural(len(rep.Dialects), "dialect", "dialects") + " checked")
			if n := len(v.Problems); n > 0 {
				return fmt.Errorf("db check found %s", plural(n, "problem", "problems"))
			}
			return nil
		},
	}
}

// checkSchemaDoc compares the committed schema page (docs/schema.md next
// to the migrations folder) with the models; a stale page is a problem, a
// project without the page is not checked.
func checkSchemaDoc(c *cli.Context, e *env, migrations string, v *checkView) error {
	path := filepath.Join(filepath.Dir(filepath.Clean(migrations)), "docs", "schema.md")
	present, err := schemadoc.CheckDoc(c.Context, path, e.project.Tables)
	var stale *schemadoc.StaleDocError
	switch {
	case errors.As(err, &stale):
		v.SchemaDoc = "stale"
		v.Problems = append(v.Problems, err.Error())
		v.OK = false
	case err != nil:
		return err
	case present:
		v.SchemaDoc = "current"
	}
	if v.SchemaDoc != "" {
		v.SchemaDocPath = path
	}
	return nil
}

// checkDialectView is `db check`'s verdict on one dialect.
type checkDialectView struct {
	Dialect      string           `json:"dialect"`
	Dir          string           `json:"dir"`
	Files        int              `json:"files"`
	Integrity    string           `json:"integrity,omitempty"`
	NotChecked   string           `json:"not_checked,omitempty"`
	ModelsAhead  bool             `json:"models_ahead"`
	ModelChanges []string         `json:"model_changes"`
	LintErrors   int              `json:"lint_errors"`
	Lint         []lintedFileView `json:"lint"`
	Problems     []string         `json:"problems"`
	Warnings     []string         `json:"warnings"`
	Notices      []string         `json:"notices,omitempty"`
}

// checkView is `db check --json`.
type checkView struct {
	OK       bool               `json:"ok"`
	Problems []string           `json:"problems"`
	Dialects []checkDialectView `json:"dialects"`
	// SchemaDoc is "current" or "stale" for a project that keeps
	// docs/schema.md, "" otherwise.
	SchemaDoc     string `json:"schema_doc,omitempty"`
	SchemaDocPath string `json:"schema_doc_path,omitempty"`
}

// newCheckView maps the report, rewording a dialect that could not be
// checked for want of a dev server: the fix is a variable or --dialect.
func newCheckView(rep *plan.CheckReport, dev map[string]string, hint func(dialect string) string) checkView {
	v := checkView{Problems: []string{}, Dialects: []checkDialectView{}}
	for _, d := range rep.Dialects {
		dv := checkDialectView{Dialect: d.Dialect, Dir: d.Dir, Files: d.Files, Integrity: d.Integrity, NotChecked: d.NotChecked,
			ModelsAhead: d.ModelsAhead, ModelChanges: list(d.ModelChanges), LintErrors: d.LintErrors, Lint: lintedFileViews(d.Lint),
			Problems: list(d.Problems), Warnings: list(d.Warnings), Notices: d.Notices}
		if d.Integrity == "" && d.NotChecked != "" && d.Dialect != plan.SQLite && strings.TrimSpace(dev[d.Dialect]) == "" {
			dv.NotChecked = fmt.Sprintf("no dev database: set %s (or --dev-%s-url) to a server where weberctl may create scratch databases, "+
				"or check only some dialects with --dialect sqlite or WEBER_DIALECTS=sqlite%s", plan.DevURLVariable(d.Dialect), d.Dialect, hint(d.Dialect))
			dv.Problems = []string{d.Dialect + ": not checked: " + dv.NotChecked}
		}
		v.Problems = append(v.Problems, dv.Problems...)
		v.Dialects = append(v.Dialects, dv)
	}
	v.Problems = append(v.Problems, rep.Versions...)
	v.OK = len(v.Problems) == 0
	return v
}

// renderCheck prints one line per dialect, then one line per problem.
func renderCheck(e *env, v checkView) {
	w := e.stdout
	for _, d := range v.Dialects {
		var verdict string
		switch {
		case d.Integrity != "":
			verdict = "INVALID folder"
		case d.NotChecked != "":
			verdict = fmt.Sprintf("%s valid; models and lint NOT checked", plural(d.Files, "file", "files"))
		default:
			models := "models in sync"
			if d.ModelsAhead {
				models = fmt.Sprintf("models AHEAD (%s)", plural(len(d.ModelChanges), "change", "changes"))
			}
			findings, intended := 0, 0
			for _, f := range d.Lint {
				for _, x := range f.Findings {
					findings++
					if x.Intended {
						intended++
					}
				}
			}
			verdict = fmt.Sprintf("%s valid; %s; lint: %s, %s, %d intended", plural(d.Files, "file", "files"), models,
				plural(d.LintErrors, "error", "errors"), plural(findings, "finding", "findings"), intended)
		}
		fmt.Fprintf(w, "%-9s %s: %s\n", d.Dialect, d.Dir, verdict)
	}
	if v.SchemaDoc != "" {
		fmt.Fprintf(w, "%-9s %s: %s\n", "schema", v.SchemaDocPath, v.SchemaDoc)
	}
	for _, d := range v.Dialects {
		for _, wn := range d.Warnings {
			// On stdout: stderr is the one verdict line.
			fmt.Fprintf(w, "warning: %s: %s\n", d.Dialect, wn)
		}
		for _, n := range d.Notices {
			fmt.Fprintf(w, "notice: %s: %s\n", d.Dialect, n)
		}
	}
	if len(v.Problems) == 0 {
		fmt.Fprintf(w, "OK: every kept dialect is valid, linted and in sync with the models.\n")
		return
	}
	fmt.Fprintf(w, "\n%s:\n", plural(len(v.Problems), "problem", "problems"))
	for _, p := range v.Problems {
		fmt.Fprintf(w, "%s\n", errtext.Flatten(p))
	}
}
