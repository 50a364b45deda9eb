// Package weberctl is the weberctl command line as a library. It runs a
// Weber application's database life and serves the app: `db ensure` and `db drop` for development, `db revision`, `db
// upgrade`, `db downgrade`, `db status`, `db history` and `db hash` for the
// versioned history, `db check`, `db lint` and `db verify` to guard a
// deploy, `serve` and `version`. Run `weberctl --help`.
package weberctl

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main runs weberctl on the process's arguments and exits with its code.
func Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go exitOnSecondSignal(ctx, os.Stderr)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// exitOnSecondSignal exits at once when SIGINT or SIGTERM arrives again
// after the first one cancelled ctx, so that an operation that does not
// notice the cancellation can still be stopped from the keyboard or by a
// supervisor.
func exitOnSecondSignal(ctx context.Context, stderr io.Writer) {
	<-ctx.Done()
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	s := <-ch
	fmt.Fprintf(stderr, "weberctl: stopped at once by a second signal (%s): a statement that was running may have completed; run `weberctl db status` before going on\n", s)
	os.Exit(130)
}
