package weberctl

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/errtext"
)

func dbHistoryCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "history",
		Usage: "list the migration files applied to the database",
		Description: `Lists the revisions recorded in the database, oldest first: version, name,
when it ran, how long it took, statements applied of total, and the error of
a file that did not complete. It changes nothing.

Example:
   weberctl db history
   weberctl db history --json`,
		Flags: withGlobal(&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("the revisions")}),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			_, u, db, dir, err := e.openTarget(c, false)
			if err != nil {
				return err
			}
			defer db.Close()
			eng, err := newEngine(u, db, dir, nil, e.dataMigrations())
			if err != nil {
				return err
			}
			revs, err := eng.History(c.Context)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(e.stdout, revisionViews(revs))
			}
			if len(revs) == 0 {
				fmt.Fprintf(e.stdout, "No migration applied to %s yet.\n", u.Redacted())
				return nil
			}
			rows := make([][]string, 0, len(revs))
			for _, r := range revs {
				state := revisionState(r)
				errText := ""
				if r.Error != "" {
					errText = errtext.Flatten(r.Error)
				}
				rows = append(rows, []string{r.Version, r.Description, r.ExecutedAt.UTC().Format(time.RFC3339),
					human(r.ExecutionTime), fmt.Sprintf("%d/%d", r.Applied, r.Total), state, errText})
			}
			return table(e.stdout, []string{"VERSION", "NAME", "APPLIED AT", "DURATION", "STATEMENTS", "STATE", "ERROR"}, rows)
		},
	}
}
