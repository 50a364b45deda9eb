// Package weberctl is Weber's command line as a library: a project's own
// cmd/weberctl/main.go hands Main its models (ent's migrate.Tables), its
// migration folder and, optionally, its app and seed, and gets every
// weberctl command on them: `db ensure` and `db drop` for development,
// `db revision`, `db upgrade`, `db downgrade`, `db status`, `db history`
// and `db hash` for the versioned history, `db check`, `db lint` and
// `db verify` to guard a deploy, `serve`, `new` and `version`. See Project,
// and docs/adopting.md for an existing ent project.
package weberctl

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

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
