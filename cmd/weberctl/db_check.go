package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/migdir"
)

// checkResult is one dialect's verdict.
type checkResult struct {
	Dialect string       `json:"dialect"`
	Dir     string       `json:"dir"`
	Files   int          `json:"files"`
	Models  *modelsState `json:"models"`
}

func dbCheckCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "check in CI that every kept dialect's history is valid and in sync with the models",
		Description: `For every kept dialect: validates the migration folder (atlas.sum, names,
versions, line endings), then replays the history on a dev database and
compares it with the models. It fails, exit status 1, when a folder is
invalid or the models are ahead of the history (run ` + "`weberctl db revision`" + `).
It needs no target database and changes nothing.

Example:
   weberctl db check
   weberctl db check --dialect sqlite --json`,
		Flags: withGlobal(append([]cli.Flag{
			&cli.StringSliceFlag{Name: "dialect", Usage: "check only this `DIALECT`; repeatable; default: every kept dialect"},
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("the verdict per dialect")},
		}, devURLFlags()...)...),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			cfg := e.config(c)
			dialects, err := chosenDialects(c, cfg)
			if err != nil {
				return err
			}
			dev := devURLs(c, cfg)
			var results []checkResult
			var ahead, unchecked []string
			for _, d := range dialects {
				dir := filepath.Join(cfg.MigrationsDir, d)
				md, err := migdir.Open(dir)
				if err != nil {
					return err
				}
				m, err := compareModels(c, d, dir, dev[d])
				if err != nil {
					return err
				}
				results = append(results, checkResult{Dialect: d, Dir: dir, Files: len(md.Files), Models: m})
				switch {
				case !m.Checked:
					unchecked = append(unchecked, m.Reason)
				case m.Ahead:
					ahead = append(ahead, d)
				}
			}
			if c.Bool("json") {
				if err := writeJSON(e.stdout, results); err != nil {
					return err
				}
			} else {
				for _, r := range results {
					verdict := "in sync with the models"
					switch {
					case !r.Models.Checked:
						verdict = "NOT compared (" + r.Models.Reason + ")"
					case r.Models.Ahead:
						verdict = fmt.Sprintf("models AHEAD (%s, %s left out)", plural(len(r.Models.Statements), "statement", "statements"),
							plural(len(r.Models.LeftOut), "destructive change", "destructive changes"))
					}
					fmt.Fprintf(e.stdout, "%-9s %s: %s valid; %s\n", r.Dialect, r.Dir, plural(r.Files, "file", "files"), verdict)
				}
			}
			switch {
			case len(ahead) > 0:
				return fmt.Errorf("check: the models are ahead of the history in %s: run `weberctl db revision` and commit the files", strings.Join(ahead, ", "))
			case len(unchecked) > 0:
				return fmt.Errorf("check: models not compared with the history: %s; or pass --dialect to check only some dialects", strings.Join(unchecked, "; "))
			}
			return nil
		},
	}
}
