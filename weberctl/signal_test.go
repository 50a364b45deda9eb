package weberctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An operation that does not notice the cancellation (as reading a FIFO
// did) must not make weberctl deaf to signals: the first SIGTERM cancels
// the context, a second one exits at once with status 130. The test runs
// itself as a child process (under -short, which skips building the
// binary) whose "operation" ignores the context and blocks forever.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	if os.Getenv("WEBER_SECOND_SIGNAL_CHILD") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		go exitOnSecondSignal(ctx, os.Stderr)
		fmt.Println("ready")
		select {} // deaf to ctx, as a blocked read would be
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a hang fails, not a speed target
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSecondSignalExitsAtOnce$", "-test.short")
	cmd.Env = append(os.Environ(), "WEBER_SECOND_SIGNAL_CHILD=1")
	out, errb := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(out.String(), "ready") {
		if ctx.Err() != nil {
			t.Fatalf("the child never started:\n%s%s", out, errb)
		}
		time.Sleep(10 * time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Signal until it exits: the first cancels, a later one ends it.
	var err error
	for waiting := true; waiting; {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err = <-done:
			waiting = false
		case <-time.After(100 * time.Millisecond):
		}
	}
	var ee *exec.ExitError
	if ctx.Err() != nil || !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("child exited with %v (context %v); want status %d\n%s", err, ctx.Err(), exitInterrupted, errb)
	}
	if !strings.HasPrefix(errb.String(), "weberctl: stopped at once by a second signal (terminated)") {
		t.Errorf("stderr: %q", errb)
	}
}
