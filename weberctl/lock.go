package weberctl

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/dblock"
)

// lockTimeoutFlag is how long a command waits for another weberctl holding
// the database's migration lock.
func lockTimeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "lock-timeout", Value: time.Minute,
		Usage: "how long to wait (`DURATION`, e.g. 30s; 0: do not wait) for another weberctl holding the database's migration lock"}
}

// lockTimeout returns --lock-timeout as the engine reads it: 0 on the
// command line means "do not wait", which the engine spells as a negative
// timeout (its 0 is its default wait).
func lockTimeout(c *cli.Context) time.Duration {
	if d := c.Duration("lock-timeout"); d > 0 {
		return d
	}
	return -1
}

// withLockNotice makes every lock wait of the command say, once on w, that
// it waits, for whom and for how long, before the wait begins.
func withLockNotice(ctx context.Context, w io.Writer) context.Context {
	return dblock.WithWaitNotice(ctx, func(wt dblock.Wait) {
		who := wt.Holder
		if who == "" {
			who = "another process"
		}
		fmt.Fprintf(w, "Waiting up to %s (--lock-timeout) for the migration lock on %s, held by %s ...\n",
			human(wt.Timeout), wt.Database, who)
	})
}

// rejectNegativeDurations refuses a negative value of any duration flag of
// the command: a wait or a limit cannot be negative.
func rejectNegativeDurations(c *cli.Context) error {
	for _, f := range c.Command.Flags {
		df, ok := f.(*cli.DurationFlag)
		if !ok || !c.IsSet(df.Name) {
			continue
		}
		if d := c.Duration(df.Name); d < 0 {
			return usagef("--%s %s is negative: give a duration of 0 or more, e.g. --%s 30s", df.Name, d, df.Name)
		}
	}
	return nil
}
