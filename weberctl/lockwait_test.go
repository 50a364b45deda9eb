package weberctl

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/dblock"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// waitLines returns the lock-wait notices in stderr, and stderr without them.
func waitLines(stderr string) (notices []string, rest string) {
	var kept []string
	for _, line := range strings.SplitAfter(stderr, "\n") {
		if strings.HasPrefix(line, "Waiting up to ") {
			notices = append(notices, line)
		} else if line != "" {
			kept = append(kept, line)
		}
	}
	return notices, strings.Join(kept, "")
}

// ISSUE 10.7: a command that finds the migration lock held says so once,
// on stderr, naming the database without its password and the holder
// (here the test process, which holds the lock), then waits; with
// --lock-timeout 0 it does not wait and says nothing of waiting.
func TestE2ELockWaitNamesTheHolder(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "ensure")
		l, err := dblock.Acquire(t.Context(), p.open(), p.u, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Release() })
		holder := map[string]string{
			"sqlite":   fmt.Sprintf("held by pid %d (", os.Getpid()),
			"postgres": fmt.Sprintf("(\"weber lock, pid %d on ", os.Getpid()),
			"mysql":    "held by MySQL connection id ",
		}[filepath.Base(p.folder())]
		checkNotice := func(args []string, stderr string) string {
			t.Helper()
			notices, rest := waitLines(stderr)
			if len(notices) != 1 {
				t.Fatalf("%v: %d wait notices, want 1:\n%s", args, len(notices), stderr)
			}
			n := notices[0]
			for _, want := range []string{p.u.Redacted(), holder, "--lock-timeout"} {
				if !strings.Contains(n, want) {
					t.Errorf("%v: the notice %q does not contain %q", args, n, want)
				}
			}
			if pu, err := url.Parse(p.url); err == nil {
				if pw, ok := pu.User.Password(); ok && strings.Contains(stderr, ":"+pw+"@") {
					t.Errorf("%v: the password appears: %q", args, stderr)
				}
			}
			return rest
		}

		args := []string{"db", "upgrade", "--lock-timeout", "1s"}
		r := p.run(args...)
		if r.code != 1 {
			t.Fatalf("%v with the lock held: exit %d, want 1\n%s", args, r.code, r.stderr)
		}
		rest := checkNotice(args, r.stderr)
		// One error line (not assertOneErrorLine: the holder here is the
		// test binary, whose command line holds "-test.paniconexit0").
		if !strings.HasPrefix(rest, "weberctl: ") || strings.Count(rest, "\n") != 1 {
			t.Errorf("%v: not one error line after the notice: %q", args, rest)
		}
		if !strings.Contains(rest, "holds the migration lock") {
			t.Errorf("%v: the error does not say the lock is held: %q", args, rest)
		}

		for _, cmd := range [][]string{{"db", "upgrade"}, {"db", "ensure"}} {
			r = p.run(append(cmd, "--lock-timeout", "0")...)
			if notices, _ := waitLines(r.stderr); r.code != 1 || len(notices) != 0 || !strings.Contains(r.stderr, "did not wait") {
				t.Errorf("%v --lock-timeout 0: exit %d, want 1 at once without a wait notice:\n%s", cmd, r.code, r.stderr)
			}
		}

		// A waiter that gets the lock: the notice, then success.
		args = []string{"db", "upgrade", "--lock-timeout", "1m"}
		stderr := runUntilReleased(t, p, l, args)
		if rest := checkNotice(args, stderr); rest != "" {
			t.Errorf("%v: more on stderr than the notice: %q", args, rest)
		}
	})
}

// runUntilReleased starts weberctl args while l is held, releases l once
// the process says it waits, and returns its stderr after it succeeded.
func runUntilReleased(t *testing.T, p *project, l *dblock.Lock, args []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := p.command(ctx, nil, args...)
	out, errb := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for !strings.Contains(errb.String(), "Waiting up to ") {
		select {
		case err := <-exited:
			t.Fatalf("%v ended (%v) without a wait notice:\n%s%s", args, err, out, errb)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("%v after the release: %v\n%s%s", args, err, out, errb)
	}
	return errb.String()
}

// ISSUE 10.7: every duration flag of every command refuses a negative
// value with one line and exit status 2.
func TestE2ENegativeDurationsAreRefused(t *testing.T) {
	t.Parallel()
	skipShort(t)
	p := &project{t: t, dir: t.TempDir(), url: "sqlite://var/app.db"}
	var walk func(path []string, cmds []*cli.Command)
	n := 0
	walk = func(path []string, cmds []*cli.Command) {
		for _, cmd := range cmds {
			here := append(append([]string{}, path...), cmd.Name)
			walk(here, cmd.Subcommands)
			for _, f := range cmd.Flags {
				df, ok := f.(*cli.DurationFlag)
				if !ok {
					continue
				}
				n++
				for _, form := range [][]string{{"--" + df.Name, "-1s"}, {"--" + df.Name + "=-5m"}} {
					args := append(append([]string{}, here...), form...)
					r := p.run(args...)
					if r.code != exitUsage || !strings.Contains(r.stderr, "--"+df.Name) || !strings.Contains(r.stderr, "negative") {
						t.Errorf("%v: exit %d, stderr %q; want 2 and a line saying --%s is negative", args, r.code, r.stderr, df.Name)
					}
					assertOneErrorLine(t, r.stderr)
				}
			}
		}
	}
	walk(nil, newApp(&env{getenv: func(string) string { return "" }}).Commands)
	if n == 0 {
		t.Fatal("no duration flag found: the walk is broken")
	}
	if _, err := os.Stat(p.dir + "/var/app.db"); err == nil {
		t.Error("a refused command created the database")
	}
}
