package weberctl

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/upgrade"
)

// dbRebaseDescription is the command's help page, with an example.
const dbRebaseDescription = `After merging a branch that added migration files into one that added its
own, the versions interleave (a database that applied the other branch would
find this branch's older file out of order) and every atlas.sum conflicts.
db rebase puts this branch's revisions after the newest file of the other
branch, in every kept dialect's folder at once, each under one new version
(the same in every folder), in the order they had. It rewrites every
atlas.sum, conflict markers or not.

Which revisions are this branch's: the VERSIONs given, or, without them, the
migration files git says this branch added since it forked from --onto REF
(default: the branch being merged, MERGE_HEAD, during a merge).

It then replays the merged history on a dev database per dialect and
compares it with the models. When it fails or does not reach them (both
branches changed the same thing), the moved files written by db revision
are planned again, as one revision named after the newest of them; those
written by db new keep their content and follow it. The moved files are
linted. Anything fails: every folder is restored as it was.

A moved revision must not be applied on a shared database: when the target
database (--database-url) exists, a version applied there is refused.

Example:
   git merge main            # conflict in migrations/*/atlas.sum
   weberctl db rebase
   weberctl db rebase --onto main --json
   weberctl db rebase 20261201093000 20261201101500`

func dbRebaseCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:        "rebase",
		Usage:       "after a merge, move this branch's revisions after the other branch's, in every dialect",
		ArgsUsage:   "[VERSION...]",
		Description: dbRebaseDescription,
		Flags: withGlobal(append([]cli.Flag{
			&cli.StringFlag{Name: "onto", Usage: "the other branch `REF`: move the files this branch added since it forked from it (default: MERGE_HEAD during a merge)"},
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("what was moved")},
		}, devURLFlags()...)...),
		Action: func(c *cli.Context) error { return dbRebase(c, e) },
	}
}

// dbRebase runs `db rebase`.
func dbRebase(c *cli.Context, e *env) error {
	cfg := e.config(c)
	versions := c.Args().Slice()
	if len(versions) == 0 {
		var err error
		if versions, err = branchVersions(c, cfg.MigrationsDir); err != nil {
			return err
		}
		if len(versions) == 0 {
			fmt.Fprintln(e.stdout, "This branch added no migration file: nothing to rebase.")
			return nil
		}
	}
	applied, checked := e.appliedVersions(c)
	dev, err := e.devServerURLs(c, cfg, cfg.Dialects)
	if err != nil {
		return err
	}
	res, err := plan.Rebase(c.Context, plan.RebaseOptions{
		Root: cfg.MigrationsDir, Dialects: cfg.Dialects, DevURLs: dev,
		Tables: e.project.Tables, Versions: versions, Applied: applied, Logger: cfg.Logger,
	})
	if err != nil {
		return adviseDevURL(e, c.Command, err)
	}
	if c.Bool("json") {
		if err := writeJSON(e.stdout, newRebaseView(res, checked)); err != nil {
			return err
		}
	} else {
		renderRebase(e, res, checked)
	}
	if n := res.LintErrors(); n > 0 {
		return fmt.Errorf("rebase: the moved files have %s: see above; mark intended changes with `-- atlas:nolint` and run `weberctl db hash`", plural(n, "lint error", "lint errors"))
	}
	return nil
}

var reMigrationFile = regexp.MustCompile(`^([0-9]+)(_.*)?\.sql$`)

// branchVersions asks git for the migration files this branch added
// since it forked from --onto (default MERGE_HEAD).
func branchVersions(c *cli.Context, dir string) ([]string, error) {
	onto := c.String("onto")
	if onto == "" {
		if _, err := gitOutput(c, "rev-parse", "-q", "--verify", "MERGE_HEAD"); err != nil {
			return nil, usagef("no merge in progress: name the branch you merged with --onto BRANCH (e.g. `weberctl db rebase --onto main`), or the versions to move")
		}
		onto = "MERGE_HEAD"
	}
	base, err := gitOutput(c, "merge-base", onto, "HEAD")
	if err != nil {
		return nil, fmt.Errorf("rebase: git merge-base %s HEAD: %s: name an existing branch with --onto, or the versions to move", onto, err)
	}
	out, err := gitOutput(c, "diff", "--name-only", "--relative", "--diff-filter=A", strings.TrimSpace(base), "HEAD", "--", dir)
	if err != nil {
		return nil, fmt.Errorf("rebase: git diff: %s", err)
	}
	var versions []string
	for _, line := range strings.Split(out, "\n") {
		m := reMigrationFile.FindStringSubmatch(filepath.Base(strings.TrimSpace(line)))
		if m != nil && !slices.Contains(versions, m[1]) {
			versions = append(versions, m[1])
		}
	}
	return versions, nil
}

// gitOutput runs git in the current directory and returns its stdout, or
// an error holding its stderr's first line.
func gitOutput(c *cli.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(c.Context, "git", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if msg := errtext.OneLine(errors.New(strings.TrimSpace(stderr.String()))); errors.As(err, &ee) && msg != "" {
			return "", errors.New(msg)
		}
		return "", err
	}
	return string(out), nil
}

// appliedVersions reads the versions the target database has applied, to
// refuse moving one; checked says which database, or why none was read.
func (e *env) appliedVersions(c *cli.Context) (applied []string, checked string) {
	_, u, db, _, err := e.openDatabase(c, false)
	if err != nil {
		return nil, "not checked against a database (" + errtext.OneLine(err) + ")"
	}
	defer db.Close()
	revs, err := upgrade.History(c.Context, db, u)
	if err != nil {
		return nil, "not checked against " + u.Redacted() + " (" + errtext.OneLine(err) + ")"
	}
	for _, r := range revs {
		applied = append(applied, r.Version)
	}
	return applied, "none of them is applied on " + u.Redacted()
}

// renderRebase prints what Rebase did.
func renderRebase(e *env, res *plan.RebaseResult, checked string) {
	for _, r := range res.Repaired {
		fmt.Fprintf(e.stdout, "Repaired %s (it held git conflict markers).\n", r)
	}
	if len(res.Moved) == 0 {
		fmt.Fprintln(e.stdout, "This branch's revisions already follow every other file: nothing moved; atlas.sum rewritten.")
	} else {
		fmt.Fprintf(e.stdout, "Moved %s after the other branch's, in every dialect folder:\n", plural(len(res.Moved), "revision", "revisions"))
		for _, m := range res.Moved {
			to := m.To
			if to == "" {
				to = "(removed: the merged history already makes its change)"
			}
			fmt.Fprintf(e.stdout, "  %s -> %s  %s\n", m.From, to, m.Action)
		}
	}
	if res.Replanned {
		fmt.Fprintf(e.stdout, "Re-planned against the merged history because %s.\n", res.Reason)
	}
	fmt.Fprintf(e.stdout, "Checked: %s.\n", checked)
	for _, l := range res.Lint {
		for _, f := range l.Findings() {
			fmt.Fprintf(e.stdout, "  lint %s %s/%s:%d %s\n", f.Code, l.Dialect, f.File, f.Line, f.Message)
		}
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stdout, "Warning: %s\n", w)
	}
	fmt.Fprintln(e.stdout, "Next: review the files, run `weberctl db check`, and commit.")
}

// rebaseView is the JSON of `db rebase`.
type rebaseView struct {
	Repaired   []string          `json:"repaired"`
	Moved      []rebaseMovedView `json:"moved"`
	Replanned  bool              `json:"replanned"`
	Reason     string            `json:"reason,omitempty"`
	Checked    string            `json:"checked"`
	LintErrors int               `json:"lint_errors"`
	Findings   []plan.Finding    `json:"findings"`
	Warnings   []string          `json:"warnings"`
}

type rebaseMovedView struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Action string `json:"action"`
}

func newRebaseView(res *plan.RebaseResult, checked string) rebaseView {
	v := rebaseView{Repaired: res.Repaired, Replanned: res.Replanned, Reason: res.Reason, Checked: checked,
		LintErrors: res.LintErrors(), Warnings: res.Warnings, Moved: []rebaseMovedView{}, Findings: []plan.Finding{}}
	for _, m := range res.Moved {
		v.Moved = append(v.Moved, rebaseMovedView{From: m.From, To: m.To, Action: m.Action})
	}
	for _, l := range res.Lint {
		v.Findings = append(v.Findings, l.Findings()...)
	}
	if v.Repaired == nil {
		v.Repaired = []string{}
	}
	if v.Warnings == nil {
		v.Warnings = []string{}
	}
	return v
}
