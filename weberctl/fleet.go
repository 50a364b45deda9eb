package weberctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/fleet"
)

// fleetHelp is the part of `db upgrade` and `db status` help that speaks of
// fleets.
const fleetHelp = `Over many databases (the tenants or shards of one application, all with this
history): name them with --targets FILE (one URL per line, - for stdin),
--target URL (repeatable) or --targets-like PATTERN (a * in the database name
or file name: postgres://app@db/tenant_*, sqlite://var/tenants/*.db). They
run --parallel at a time (default 4), after --canary N run first, one at a
time; the first failure stops the run unless --keep-going (a failed canary
always does). Each target takes its own lock. --report FILE keeps a JSON
report, rewritten after every target; --resume skips the targets it lists as
ok. SIGINT starts no new target and lets the running ones finish.`

// fleetFlags are the flags that run a command over many databases.
func fleetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "targets", Usage: "run over the databases listed in `FILE`, one URL per line (- reads stdin)"},
		&cli.StringSliceFlag{Name: "target", Usage: "run over this database `URL` too (repeatable)"},
		&cli.StringFlag{Name: "targets-like", Usage: "run over every database matching `PATTERN`, a URL with a * in its database name"},
		&cli.IntFlag{Name: "parallel", Value: fleet.DefaultParallel, Usage: "with targets: run `N` databases at once"},
		&cli.IntFlag{Name: "canary", Usage: "with targets: run the first `N` alone, one at a time, and stop if one fails"},
		&cli.BoolFlag{Name: "keep-going", Usage: "with targets: go on after a target fails"},
		&cli.StringFlag{Name: "report", Usage: "with targets: keep a JSON report in `FILE`, rewritten after every target"},
		&cli.BoolFlag{Name: "resume", Usage: "with targets: skip the targets --report's file lists as ok"},
	}
}

// fleetRequested reports whether the command line names targets.
func fleetRequested(c *cli.Context) bool {
	return c.String("targets") != "" || len(c.StringSlice("target")) > 0 || c.String("targets-like") != ""
}

// fleetTargets reads the targets the command line names, refusing a
// --database-url beside them.
func (e *env) fleetTargets(c *cli.Context) ([]fleet.Target, error) {
	if _, ok := global(c, "database-url"); ok {
		return nil, usagef("--database-url names one database and --targets/--target/--targets-like many: give one or the other")
	}
	if c.Int("parallel") < 1 {
		return nil, usagef("--parallel %d: give at least 1", c.Int("parallel"))
	}
	if c.Int("canary") < 0 {
		return nil, usagef("--canary %d: give 0 (no canary) or more", c.Int("canary"))
	}
	if c.Bool("resume") && c.String("report") == "" {
		return nil, usagef("--resume reads the report of an earlier run: give its file with --report FILE")
	}
	var all []fleet.Target
	if f := c.String("targets"); f != "" {
		ts, err := fleet.ReadFile(f, e.stdin)
		if err != nil {
			return nil, err
		}
		all = append(all, ts...)
	}
	if l := c.StringSlice("target"); len(l) > 0 {
		ts, err := fleet.List(l)
		if err != nil {
			return nil, err
		}
		all = append(all, ts...)
	}
	if p := c.String("targets-like"); p != "" {
		ts, err := fleet.Match(c.Context, p)
		if err != nil {
			return nil, err
		}
		all = append(all, ts...)
	}
	if len(all) == 0 {
		return nil, errors.New("the targets file lists no database: write one database URL per line")
	}
	return all, nil
}

// runFleet runs op over the command line's targets, prints a line per
// target on stderr as it ends and the report (a table, or JSON with
// --json) on stdout, and keeps the --report file.
func (e *env) runFleet(c *cli.Context, verb string, op fleet.Op) error {
	targets, err := e.fleetTargets(c)
	if err != nil {
		return err
	}
	opts := fleet.Options{Parallel: c.Int("parallel"), Canary: c.Int("canary"), KeepGoing: c.Bool("keep-going")}
	reportFile := c.String("report")
	if c.Bool("resume") {
		if opts.Done, err = doneIn(reportFile); err != nil {
			return err
		}
	}
	finished := 0
	opts.Progress = func(o fleet.Outcome, r fleet.Report) {
		finished++
		if reportFile != "" {
			if werr := writeReport(reportFile, verb, r, false); werr != nil {
				fmt.Fprintf(e.stderr, "weberctl: warning: %v\n", werr)
			}
		}
		printFleetProgress(e.stderr, o, finished, len(targets))
	}
	rep, err := fleet.Run(c.Context, targets, op, opts)
	if err != nil {
		return err
	}
	if reportFile != "" {
		if err := writeReport(reportFile, verb, rep, true); err != nil {
			return err
		}
	}
	if c.Bool("json") {
		if err := writeJSON(e.stdout, newFleetView(verb, rep, true)); err != nil {
			return err
		}
	} else {
		renderFleet(e.stdout, verb, rep)
	}
	if rep.Stopped == "interrupted" {
		return fmt.Errorf("%w: %v", context.Canceled, rep.Err())
	}
	if err := rep.Err(); err != nil {
		return fmt.Errorf("%w%s", err, resumeAdvice(reportFile))
	}
	return nil
}

// resumeAdvice says how to run the rest again.
func resumeAdvice(reportFile string) string {
	if reportFile == "" {
		return "; fix the cause and run the same command again (targets already done have nothing left to do)"
	}
	return "; fix the cause and run the same command with --resume to skip the targets already done"
}

// printFleetProgress prints the line of the target that just ended.
func printFleetProgress(w io.Writer, o fleet.Outcome, finished, total int) {
	what := o.Detail
	if o.Status == fleet.Failed {
		what = o.Err
	}
	if what != "" {
		what = ": " + what
	}
	fmt.Fprintf(w, "[%d/%d] %s %s%s (%s)\n", finished, total, o.Target, o.Status, what, human(o.Duration))
}

// renderFleet prints the report as a table.
func renderFleet(w io.Writer, verb string, r fleet.Report) {
	fmt.Fprintf(w, "%s %d targets in %s: %d ok, %d failed, %d not started",
		verbPast(verb), len(r.Outcomes), human(r.Elapsed), r.Count(fleet.OK), r.Count(fleet.Failed), r.Count(fleet.NotStarted))
	if n := r.Count(fleet.Skipped); n > 0 {
		fmt.Fprintf(w, ", %d skipped (done in an earlier run)", n)
	}
	if r.Stopped != "" {
		fmt.Fprintf(w, " (stopped: %s)", r.Stopped)
	}
	fmt.Fprintln(w, ".")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tSTATUS\tVERSION\tDETAIL")
	for _, o := range r.Outcomes {
		detail := o.Detail
		if o.Status == fleet.Failed {
			detail = o.Err
		}
		version := o.Version
		if version == "" {
			version = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Target, o.Status, version, detail)
	}
	tw.Flush()
}

func verbPast(verb string) string {
	switch verb {
	case "upgrade":
		return "Upgraded"
	case "status":
		return "Checked"
	}
	return strings.ToUpper(verb[:1]) + verb[1:]
}

// fleetView is the JSON of a fleet run: the --json output and the
// --report file.
type fleetView struct {
	Command  string            `json:"command"`
	Finished bool              `json:"finished"`
	Stopped  string            `json:"stopped,omitempty"`
	Elapsed  int64             `json:"elapsed_ms"`
	Counts   map[string]int    `json:"counts"`
	Targets  []fleetTargetView `json:"targets"`
}

type fleetTargetView struct {
	Target   string `json:"target"`
	Status   string `json:"status"`
	Version  string `json:"version,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Error    string `json:"error,omitempty"`
	Canary   bool   `json:"canary,omitempty"`
	Duration int64  `json:"duration_ms"`
}

func newFleetView(verb string, r fleet.Report, finished bool) fleetView {
	v := fleetView{Command: verb, Finished: finished, Stopped: r.Stopped, Elapsed: r.Elapsed.Milliseconds(), Counts: map[string]int{}}
	for _, s := range []fleet.Status{fleet.OK, fleet.Failed, fleet.NotStarted, fleet.Skipped} {
		v.Counts[string(s)] = r.Count(s)
	}
	for _, o := range r.Outcomes {
		v.Targets = append(v.Targets, fleetTargetView{
			Target: o.Target, Status: string(o.Status), Version: o.Version, Detail: o.Detail,
			Error: o.Err, Canary: o.Canary, Duration: o.Duration.Milliseconds(),
		})
	}
	return v
}

// writeReport replaces the report file at path with r, atomically (a
// temporary file renamed over it), so that a run killed at any point
// leaves a whole report.
func writeReport(path, verb string, r fleet.Report, finished bool) error {
	b, err := json.MarshalIndent(newFleetView(verb, r, finished), "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".weber-report-*")
	if err != nil {
		return fmt.Errorf("cannot write the report %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write the report %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write the report %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write the report %s: %w", path, err)
	}
	return nil
}

// doneIn reads an earlier run's report and returns the targets it lists
// as ok or skipped.
func doneIn(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // the first run: nothing done yet
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the report %s: %w", path, err)
	}
	var v fleetView
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("the report %s is not a weberctl report (%v): give the file an earlier --report wrote, or drop --resume", path, err)
	}
	done := map[string]bool{}
	for _, t := range v.Targets {
		if t.Status == string(fleet.OK) || t.Status == string(fleet.Skipped) {
			done[t.Target] = true
		}
	}
	return done, nil
}
