package testserver_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weber-framework/weber/internal/dialect"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// probeEnv turns the probe tests on in a child process; they do nothing in
// an ordinary run.
const probeEnv = "WEBER_TESTSERVER_PROBE"

// TestEachProbeAll and TestEachProbeServers are the tests
// TestEachReportsWhatItSkipped runs in a child process, with chosen
// variables, to read what `go test -v` says about them.
func TestEachProbeAll(t *testing.T) {
	if os.Getenv(probeEnv) == "" {
		t.Skip("run by TestEachReportsWhatItSkipped")
	}
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		t.Logf("ran on %s", b.Name)
	})
}

func TestEachProbeServers(t *testing.T) {
	if os.Getenv(probeEnv) == "" {
		t.Skip("run by TestEachReportsWhatItSkipped")
	}
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		t.Logf("ran on %s", b.Name)
	}, testserver.Except(testserver.SQLite, "the probe is about servers"))
}

func TestEachProbeSkipsItself(t *testing.T) {
	if os.Getenv(probeEnv) == "" {
		t.Skip("run by TestEachReportsWhatItSkipped")
	}
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		t.Skip("nothing to do on " + b.Name)
	}, testserver.Except(testserver.Postgres, "the probe is about SQLite"), testserver.Except(testserver.MySQL, "the probe is about SQLite"))
}

// Without servers, each missing one is a subtest skipped by name with the
// variable to set, and a test that could run on none is SKIP, not PASS.
// Under CI=true the same run fails: CI promised the servers, and a test
// whose subtests all skipped themselves ran nothing.
func TestEachReportsWhatItSkipped(t *testing.T) {
	t.Parallel()
	if os.Getenv(probeEnv) != "" {
		t.Skip("the child process runs the probes only")
	}
	run := func(ci string) map[string]string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestEachProbe", "-test.v", "-test.count=1")
		var env []string
		for _, kv := range os.Environ() {
			k, _, _ := strings.Cut(kv, "=")
			if k != dialect.Postgres.TestURLVar() && k != dialect.MySQL.TestURLVar() && k != testserver.EnvCI {
				env = append(env, kv)
			}
		}
		cmd.Env = append(env, probeEnv+"=1", testserver.EnvCI+"="+ci)
		out, _ := cmd.CombinedOutput()
		return verdicts(string(out))
	}

	skip := "SKIP"
	if diff := cmp.Diff(map[string]string{
		"TestEachProbeAll":                  "PASS",
		"TestEachProbeAll/sqlite":           "PASS ran on sqlite",
		"TestEachProbeAll/postgres":         skip + " no server: set WEBER_TEST_POSTGRES_URL to run on postgres",
		"TestEachProbeAll/mysql":            skip + " no server: set WEBER_TEST_MYSQL_URL to run on mysql",
		"TestEachProbeServers":              skip + " sqlite: the probe is about servers; no server: set WEBER_TEST_POSTGRES_URL to run on postgres; no server: set WEBER_TEST_MYSQL_URL to run on mysql",
		"TestEachProbeServers/sqlite":       skip + " sqlite: the probe is about servers",
		"TestEachProbeServers/postgres":     skip + " no server: set WEBER_TEST_POSTGRES_URL to run on postgres",
		"TestEachProbeServers/mysql":        skip + " no server: set WEBER_TEST_MYSQL_URL to run on mysql",
		"TestEachProbeSkipsItself":          "PASS every backend's subtest skipped itself: the test ran nothing",
		"TestEachProbeSkipsItself/sqlite":   skip + " nothing to do on sqlite",
		"TestEachProbeSkipsItself/postgres": skip + " postgres: the probe is about SQLite",
		"TestEachProbeSkipsItself/mysql":    skip + " mysql: the probe is about SQLite",
	}, run("")); diff != "" {
		t.Errorf("go test -v without servers (-want +got):\n%s", diff)
	}

	ci := run("true")
	for _, name := range []string{"TestEachProbeAll/postgres", "TestEachProbeAll/mysql", "TestEachProbeServers", "TestEachProbeSkipsItself"} {
		if !strings.HasPrefix(ci[name], "FAIL") {
			t.Errorf("under CI=true without servers, %s: %q; want FAIL", name, ci[name])
		}
	}
}

// verdicts reads `go test -v` output: each test's result ("PASS", "FAIL",
// "SKIP"), followed by the last line it logged (a skip's reason).
func verdicts(out string) map[string]string {
	got, logged := map[string]string{}, map[string]string{}
	current := ""
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "=== "); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[0] != "PAUSE" {
				current = f[1]
			}
			continue
		}
		l = strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(l, "--- "); ok {
			v, rest, _ := strings.Cut(rest, ": ")
			name, _, _ := strings.Cut(rest, " ")
			got[name] = strings.TrimSpace(v + " " + logged[name])
			continue
		}
		if _, msg, ok := strings.Cut(l, ".go:"); ok && current != "" {
			_, msg, _ = strings.Cut(msg, ": ")
			logged[current] = msg
		}
	}
	return got
}
