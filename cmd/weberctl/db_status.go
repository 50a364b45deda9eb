package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/upgrade"
)

// modelsState says whether the models are ahead of the history.
type modelsState struct {
	// Checked is false when the comparison could not run (Reason says why).
	Checked bool `json:"checked"`
	// Ahead reports that a revision would write something.
	Ahead bool `json:"ahead"`
	// Statements are what a revision would write; LeftOut the destructive
	// differences it would leave out.
	Statements []string `json:"statements"`
	LeftOut    []string `json:"left_out"`
	Reason     string   `json:"reason,omitempty"`
}

// compareModels plans the dialect's history against the compiled models.
func compareModels(c *cli.Context, folder, dir, devURL string) (*modelsState, error) {
	p, err := plan.ModelsAhead(c.Context, folder, dir, devURL, migrate.Tables)
	var missing *plan.MissingDevURLError
	if errors.As(err, &missing) {
		return &modelsState{Statements: []string{}, LeftOut: []string{},
			Reason: fmt.Sprintf("no dev database for %s: set %s or --dev-%s-url", missing.Dialect, missing.Variable, missing.Dialect)}, nil
	}
	if err != nil {
		return nil, err
	}
	m := &modelsState{Checked: true, Ahead: p.Ahead(), Statements: []string{}, LeftOut: []string{}}
	for _, s := range p.Statements {
		m.Statements = append(m.Statements, s.SQL)
	}
	for _, l := range p.LeftOut {
		m.LeftOut = append(m.LeftOut, l.String())
	}
	return m, nil
}

func dbStatusCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the database's version, pending files and whether the models are ahead",
		Description: `Shows where the database stands against the migration folder of its dialect:
the current version, how many files are applied, the pending files, a
partially applied file if any, what an upgrade would refuse, and whether the
models are ahead of the history (a revision would write something). It takes
no lock and changes nothing.

Example:
   weberctl db status
   weberctl db status --json --database-url postgres://app@db.internal/app`,
		Flags: withGlobal(append([]cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("the status")},
			&cli.BoolFlag{Name: "skip-models", Usage: "do not compare the models with the history (faster; needs no dev database)"},
		}, append(devURLFlags(), devURLFlag())...)...),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			cfg, u, db, dir, err := e.openTarget(c, false)
			if err != nil {
				return err
			}
			defer db.Close()
			st, err := upgrade.Status(c.Context, db, u, dir)
			if err != nil {
				return err
			}
			var models *modelsState
			if !c.Bool("skip-models") {
				folder, err := migdir.Folder(u.Dialect)
				if err != nil {
					return err
				}
				if models, err = compareModels(c, folder, dir, devURLFor(c, cfg, folder)); err != nil {
					// Status reports what it can: the live database still
					// has a status when the history cannot be replayed.
					models = &modelsState{Statements: []string{}, LeftOut: []string{}, Reason: oneLine(err.Error())}
				}
			}
			if c.Bool("json") {
				return writeJSON(e.stdout, struct {
					Database string                `json:"database"`
					UpToDate bool                  `json:"up_to_date"`
					Status   *upgrade.StatusResult `json:"status"`
					Models   *modelsState          `json:"models,omitempty"`
				}{u.Redacted(), st.UpToDate(), st, models})
			}
			w := e.stdout
			fmt.Fprintf(w, "Database:  %s\n", u.Redacted())
			fmt.Fprintf(w, "History:   %s (%s)\n", dir, plural(st.Files, "file", "files"))
			switch {
			case !st.HasHistory:
				fmt.Fprintf(w, "Current:   none (no revision table yet)\n")
			case st.Current == "":
				fmt.Fprintf(w, "Current:   none\n")
			default:
				fmt.Fprintf(w, "Current:   %s (%s)\n", st.Current, st.CurrentName)
			}
			fmt.Fprintf(w, "Applied:   %d\n", st.Applied)
			fmt.Fprintf(w, "Pending:   %d\n", len(st.Pending))
			for _, p := range st.Pending {
				fmt.Fprintf(w, "  %s (%s)\n", p.Name, plural(p.Statements, "statement", "statements"))
			}
			if len(st.OutOfOrder) > 0 {
				fmt.Fprintf(w, "Out of order: %v\n", st.OutOfOrder)
			}
			if p := st.Partial; p != nil {
				fmt.Fprintf(w, "Partial:   %s: applied %d of %d statements", p.Name, p.Applied, p.Total)
				if p.Error != "" {
					fmt.Fprintf(w, "; failed: %s", oneLine(p.Error))
				}
				if p.Unconfirmed {
					fmt.Fprintf(w, "; statement %d started but its outcome was never recorded", p.Applied+1)
				}
				fmt.Fprintln(w)
			}
			if len(st.UntrackedTables) > 0 {
				fmt.Fprintf(w, "Untracked: %s without history: baseline with `weberctl db upgrade --baseline VERSION`\n", plural(len(st.UntrackedTables), "table", "tables"))
			}
			switch {
			case models == nil:
			case !models.Checked:
				fmt.Fprintf(w, "Models:    not compared: %s\n", models.Reason)
			case models.Ahead:
				fmt.Fprintf(w, "Models:    ahead of the history (%s, %s left out): run `weberctl db revision`\n",
					plural(len(models.Statements), "statement", "statements"), plural(len(models.LeftOut), "destructive change", "destructive changes"))
			default:
				fmt.Fprintf(w, "Models:    in sync with the history\n")
			}
			if len(st.Problems) > 0 {
				fmt.Fprintf(w, "Problems (an upgrade would refuse):\n")
				for _, p := range st.Problems {
					fmt.Fprintf(w, "  %s\n", p.Message)
				}
			}
			return nil
		},
	}
}
