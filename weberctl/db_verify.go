package weberctl

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/datagen"
	"github.com/weber-framework/weber/internal/errtext"
	count "github.com/weber-framework/weber/internal/plural"
	"github.com/weber-framework/weber/internal/verify"
)

func dbVerifyCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "rehearse the upgrade on a populated scratch database and prove no row is lost",
		Description: `For each kept dialect (SQLite in memory; PostgreSQL and MySQL on the dev
servers), builds a scratch database at the deployed version (default: every
file but the newest; --from to say which), fills every table with generated
rows (--rows) or the project's seed data (--seed-file), applies the remaining
files through the real upgrade path and proves: each file applies, no table
lost rows, every value of a column the files did not touch is unchanged,
foreign keys hold, and the final schema equals the models. Where the files
can be reversed it downgrades and upgrades again and proves the same. It
changes no real database, prints a table per dialect and exits 1 on any
failure, naming the table, the column and the counts. A dialect that could
not be rehearsed (no dev server for it) is a failure too: give its server
with --dev-postgres-url / --dev-mysql-url (or WEBER_DEV_POSTGRES_URL /
WEBER_DEV_MYSQL_URL), or leave it out with --dialect.
When none is set and the server is installed (Debian: postgresql,
mariadb-server), weberctl starts a private one itself and stops it after
10 minutes unused (see ` + "`weberctl devserver --help`" + `).

Memory stays flat whatever --rows is: rows are generated in batches and
the snapshots of the data are kept in temporary files. On a terminal the
rows done so far are shown on stderr.

A file that loses data on purpose says so with a directive, and every
step (this rehearsal, its down-and-up round, db lint and the upgrade's
pre-flight) accepts that loss:
   -- weber:data-loss audit_logs, users.legacy_note
names tables whose rows (or whose drop) and columns whose values the file
may lose. --allow-data-loss accepts any loss.

Example:
   weberctl db verify
   weberctl db verify --dialect sqlite --from 20261127011300 --rows 500
   weberctl db verify --seed-file db/seed.sql --json`,
		Flags: withGlobal(append([]cli.Flag{
			&cli.StringSliceFlag{Name: "dialect", Usage: "verify only this `DIALECT`; repeatable; default: every kept dialect"},
			&cli.StringFlag{Name: "from", Usage: "the deployed `VERSION` the rehearsal starts at (0: an empty database; default: all files but the newest)"},
			&cli.IntFlag{Name: "rows", Value: datagen.DefaultRows, Usage: "the number `N` of generated rows per table"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "the `N` that seeds the generated data: the same seed gives the same rows"},
			&cli.StringFlag{Name: "seed-file", Usage: "a .sql `FILE` of the project's own seed data, used instead of generated rows"},
			&cli.BoolFlag{Name: "allow-data-loss", Usage: "accept any data loss: dropped tables and columns that held data, deleted rows"},
			&cli.BoolFlag{Name: "no-reverse", Usage: "skip the downgrade-and-upgrade-again round"},
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("the report")},
		}, devURLFlags()...)...),
		Action: func(c *cli.Context) error {
			cfg, dialects, dev, err := devDialects(c, e)
			if err != nil {
				return err
			}
			prog := e.newProgressLine(c.Bool("json"))
			rep, err := verify.Run(c.Context, verify.Options{
				Root:           cfg.MigrationsDir,
				Dialects:       dialects,
				DevURLs:        dev,
				From:           c.String("from"),
				Rows:           c.Int("rows"),
				Seed:           c.Int64("seed"),
				SeedFile:       c.String("seed-file"),
				Tables:         e.project.Tables,
				AllowDataLoss:  c.Bool("allow-data-loss"),
				NoReverse:      c.Bool("no-reverse"),
				Logger:         cfg.Logger,
				DataMigrations: e.dataMigrations(),
				Progress:       verifyProgress(prog),
			})
			prog.clear()
			if err != nil {
				return err
			}
			if c.Bool("json") {
				if err := writeJSON(e.stdout, newVerifyView(rep)); err != nil {
					return err
				}
			} else {
				renderVerify(e, rep)
			}
			prog.done(fmt.Sprintf("db verify: %s", plural(len(rep.Dialects), "dialect", "dialects")))
			if !rep.Passed() {
				return verifyError(rep)
			}
			return skippedError(rep)
		},
	}
}

// verifyError is the one line for a rehearsal that failed: how many steps
// failed, and the first failure with its table, column and counts.
func verifyError(rep *verify.Report) error {
	var first string
	n := 0
	for _, d := range rep.Dialects {
		for _, s := range d.Steps {
			if s.Status != verify.Fail {
				continue
			}
			n++
			if first != "" {
				continue
			}
			first = d.Dialect + ": " + s.Name
			// The detail names every table, column and count; a finding
			// only one of them.
			if s.Detail != "" {
				first += ": " + s.Detail
			} else if len(s.Findings) > 0 {
				first += ": " + s.Findings[0].Message
			}
		}
	}
	return fmt.Errorf("verify: %s failed; first: %s", plural(n, "step", "steps"), errtext.Flatten(first))
}

// skippedError is the one line for dialects that could not be rehearsed:
// a dialect left unchecked must not read as a pass.
func skippedError(rep *verify.Report) error {
	var names, why []string
	for _, d := range rep.Dialects {
		if !d.Skipped {
			continue
		}
		names = append(names, d.Dialect)
		for _, s := range d.Steps {
			if s.Status == verify.Skip && s.Detail != "" {
				why = append(why, s.Detail)
				break
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("verify: %s not rehearsed: %s", strings.Join(names, ", "), strings.Join(why, "; "))
}

// verifyProgress shows the rehearsal's progress on p; nil (no events)
// when p shows nothing.
func verifyProgress(p *progressLine) func(verify.Progress) {
	if p == nil {
		return nil
	}
	return func(ev verify.Progress) {
		line := ev.Dialect + ": " + ev.Step
		if ev.Table != "" {
			line += ": " + ev.Table + " " + count.Thousands(ev.Rows)
			if ev.Total > 0 {
				line += " of " + count.Thousands(ev.Total)
			}
			line += " rows"
		}
		p.show(line)
	}
}

func renderVerify(e *env, rep *verify.Report) {
	w := e.stdout
	for i, d := range rep.Dialects {
		if i > 0 {
			fmt.Fprintln(w)
		}
		verdict := "PASS"
		switch {
		case d.Skipped:
			verdict = "SKIPPED"
		case !d.Passed():
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "%s: %s (from %s, %s)\n", d.Dialect, verdict, versionOrNone(d.From), plural(len(d.Files), "file", "files"))
		rows := make([][]string, 0, len(d.Steps))
		for _, s := range d.Steps {
			// The detail goes last: it can be long.
			rows = append(rows, []string{s.Name, strings.ToUpper(string(s.Status)), human(s.Duration), errtext.Flatten(s.Detail)})
			for _, f := range s.Findings {
				if msg := errtext.Flatten(f.Message); msg != errtext.Flatten(s.Detail) {
					rows = append(rows, []string{"", "", "", "  " + msg})
				}
			}
		}
		_ = table(w, []string{"STEP", "STATUS", "DURATION", "DETAIL"}, rows)
	}
}
