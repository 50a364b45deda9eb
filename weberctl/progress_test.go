package weberctl

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The renderer, given events: the first line shows at once, a line within
// the interval is dropped, the next one after it replaces the line, and
// done clears it and prints the summary with the time since the start.
func TestProgressLineRendersEvents(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p := startProgressLine(&out, clock)
	p.show("postgres: replaying file 1 of 3 (a.sql)")
	now = now.Add(50 * time.Millisecond)
	p.show("postgres: replaying file 2 of 3 (b.sql)") // within 100ms: dropped
	now = now.Add(100 * time.Millisecond)
	p.show("postgres: replaying file 3 of 3 (c.sql)")
	now = now.Add(2350 * time.Millisecond)
	p.done("db lint: 1 dialect, 3 files replayed")
	want := "\r\033[Kpostgres: replaying file 1 of 3 (a.sql)" +
		"\r\033[Kpostgres: replaying file 3 of 3 (c.sql)" +
		"\r\033[Kdb lint: 1 dialect, 3 files replayed in 2.5s\n"
	if out.String() != want {
		t.Fatalf("rendered %q\nwant     %q", out.String(), want)
	}
}

// Off a terminal, and under --json on one, commands get no progress line,
// and a nil one prints nothing.
func TestProgressLineIsSilentOffATerminal(t *testing.T) {
	var out bytes.Buffer
	for _, e := range []*env{{stderr: &out, progress: false}} {
		if p := e.newProgressLine(false); p != nil {
			t.Fatal("a progress line off a terminal")
		}
	}
	if p := (&env{stderr: &out, progress: true}).newProgressLine(true); p != nil {
		t.Fatal("a progress line under --json")
	}
	var p *progressLine
	p.show("x")
	p.clear()
	p.done("y")
	if out.Len() != 0 {
		t.Fatalf("a nil progress line printed %q", out.String())
	}
}

// db lint on a terminal shows the replay file by file and a summary line;
// the same run off a terminal prints nothing on stderr.
func TestLintProgressOnATerminalOnly(t *testing.T) {
	for _, tc := range []struct{ command, summary string }{
		{"lint", "db lint: 1 dialect, "},
		{"check", "db check: 1 dialect checked in "},
	} {
		args := []string{"weberctl", "db", tc.command, "--dir", repoMigrations, "--dialect", "sqlite"}
		for _, terminal := range []bool{true, false} {
			var out, errb bytes.Buffer
			e := &env{project: weberProject(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, progress: terminal}
			cliMu.Lock()
			code := e.run(t.Context(), args)
			cliMu.Unlock()
			if code != 0 {
				t.Fatalf("db %s: exit %d: %s", tc.command, code, errb.String())
			}
			got := errb.String()
			if !terminal {
				if got != "" {
					t.Fatalf("db %s off a terminal printed on stderr: %q", tc.command, got)
				}
				continue
			}
			if !strings.Contains(got, "\r\033[Ksqlite: replaying file 1 of ") || !strings.Contains(got, "\r\033[K"+tc.summary) ||
				!strings.HasSuffix(got, "s\n") {
				t.Fatalf("db %s on a terminal: stderr %q; want the replay's progress and a summary line", tc.command, got)
			}
		}
	}
}
