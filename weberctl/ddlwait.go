package weberctl

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/lockwait"
	"github.com/weber-framework/weber/internal/upgrade"
)

// ddlFlags bound how long a schema change waits for a table's lock on a
// live PostgreSQL or MySQL database, so that the application's queries
// never queue behind it for longer (see docs/deploying.md, "Zero downtime").
func ddlFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "ddl-lock-timeout", Value: lockwait.DefaultTimeout, EnvVars: []string{"WEBER_DDL_LOCK_TIMEOUT"},
			Usage: "how long (`DURATION`) one statement may wait for a table's lock before it gives up, rolls back and tries again: the longest the app's queries queue behind it (0 = no bound)"},
		&cli.DurationFlag{Name: "ddl-retry-for", Value: lockwait.DefaultBudget, EnvVars: []string{"WEBER_DDL_RETRY_FOR"},
			Usage: "how long (`DURATION`) to keep retrying a file whose statement gave up waiting for a lock (0 = try once)"},
		&cli.DurationFlag{Name: "statement-timeout", EnvVars: []string{"WEBER_STATEMENT_TIMEOUT"},
			Usage: "stop any statement that runs longer than `DURATION` (PostgreSQL only; 0 = no bound)"},
		&cli.IntFlag{Name: "blocking-ddl-max-rows", Value: upgrade.DefaultBlockingMaxRows, EnvVars: []string{"WEBER_BLOCKING_DDL_MAX_ROWS"},
			Usage: "refuse, before anything runs, a pending statement that blocks writes on (or rewrites) a table holding more than `N` rows (db lint's WL codes; 0 = no limit)"},
		&cli.BoolFlag{Name: "allow-blocking-ddl",
			Usage: "run statements that block writes on tables of any size (the application waits while they run)"},
	}
}

// blockingMaxRows reads --blocking-ddl-max-rows: 0 means no limit.
func blockingMaxRows(c *cli.Context) (int, error) {
	n := c.Int("blocking-ddl-max-rows")
	switch {
	case n < 0:
		return 0, usagef("--blocking-ddl-max-rows %d is negative: give a number of rows, or 0 for no limit", n)
	case n == 0:
		return -1, nil
	}
	return n, nil
}

// ddlPolicy reads the ddlFlags.
func ddlPolicy(c *cli.Context) (lockwait.Policy, error) {
	var p lockwait.Policy
	for _, f := range []struct {
		name string
		to   *time.Duration
	}{{"ddl-lock-timeout", &p.Timeout}, {"ddl-retry-for", &p.Budget}, {"statement-timeout", &p.StatementTimeout}} {
		d := c.Duration(f.name)
		if d < 0 {
			return p, usagef("--%s %s is negative: give a duration such as 2s, or 0 for %s", f.name, d, map[string]string{
				"ddl-lock-timeout": "no bound", "ddl-retry-for": "a single try", "statement-timeout": "no bound"}[f.name])
		}
		*f.to = d
	}
	// On the command line 0 means "none"; in the policy 0 means "default".
	if p.Timeout == 0 {
		p.Timeout = -1
	}
	if p.Budget == 0 {
		p.Budget = -1
	}
	return p, nil
}

// printLockWait tells the operator, once per try, that a statement gave up
// waiting for a lock, who held it, and when it tries again.
func printLockWait(e *env, ev upgrade.LockWaitEvent) {
	who := "another session"
	if len(ev.Blockers) > 0 {
		who = lockwait.Describe(ev.Blockers)
	}
	fmt.Fprintf(e.stderr, "\n  waiting: %s statement %d (line %d) gave up waiting for a table lock held by %s; retrying in %s (try %d, %s of %s used)\n",
		ev.File, ev.Stmt, ev.Line, who, human(ev.RetryIn), ev.Try+1, human(ev.Waited), human(ev.Budget))
}

// batchPrinter returns an Options.OnBatch that prints a progress line for a
// batched statement at most every interval (every 2s on a terminal, 30s in
// a script's log).
func batchPrinter(e *env) func(upgrade.BatchEvent) {
	every := 30 * time.Second
	if e.isTerminal {
		every = 2 * time.Second
	}
	var last time.Time
	return func(ev upgrade.BatchEvent) {
		if ev.Go != "" {
			// One batch is quick: the file's own line is enough.
			if (time.Since(last) < every && !ev.Done) || (ev.Done && ev.Batches == 1) {
				return
			}
			last = time.Now()
			printGoBatch(e, ev)
			return
		}
		if time.Since(last) < every && ev.Through < ev.Last {
			return
		}
		last = time.Now()
		fmt.Fprintf(e.stderr, "\n  batches: %s statement %d done through key %d of %d (%s, %s changed)",
			ev.File, ev.Stmt, ev.Through, ev.Last, plural(int(ev.Batches), "batch", "batches"), plural(int(ev.Rows), "row", "rows"))
		if ev.Through >= ev.Last {
			fmt.Fprintln(e.stderr)
		}
	}
}

// printGoBatch prints the progress line of a Go data migration.
func printGoBatch(e *env, ev upgrade.BatchEvent) {
	state := "done through key"
	if ev.Done {
		state = "finished at key"
	}
	fmt.Fprintf(e.stderr, "\n  batches: %s data migration %s %s %d (%s, %s changed)",
		ev.File, ev.Go, state, ev.Through, plural(int(ev.Batches), "batch", "batches"), plural(int(ev.Rows), "row", "rows"))
	if ev.Done {
		fmt.Fprintln(e.stderr)
	}
}
