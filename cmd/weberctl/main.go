// Command weberctl runs a Weber application's database life and serves the
// app: `db ensure` and `db drop` for development, `db revision`, `db
// upgrade`, `db downgrade`, `db status`, `db history` and `db hash` for the
// versioned history, `db check`, `db lint` and `db verify` to guard a
// deploy, `serve` and `version`. Run `weberctl --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
