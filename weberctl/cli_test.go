package weberctl

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// result is what one in-process run of weberctl produced.
type result struct {
	code           int
	stdout, stderr string
}

// cliMu serialises in-process runs: urfave/cli v2 keeps its help and
// version flags in package variables that each run writes to.
var cliMu sync.Mutex

// runCLI runs weberctl in-process with args and the given environment
// (nothing else from the real environment leaks in).
func runCLI(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	cliMu.Lock()
	defer cliMu.Unlock()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if v, ok := vars[k]; ok || k != "WEBER_DEVSERVER" {
			return v
		}
		return "off" // no private dev server unless the test asks for one
	}
	code := run(t.Context(), append([]string{"weberctl"}, args...), strings.NewReader(""), &out, &errb, getenv)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// sqliteURL returns the URL of a fresh SQLite database in a temp dir.
func sqliteURL(t *testing.T) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "weber.db")
}

func TestHelpHasAnExample(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--help"},
		{"db", "--help"},
		{"db", "ensure", "--help"},
		{"db", "drop", "--help"},
		{"db", "seed", "--help"},
		{"db", "reset", "--help"},
		{"db", "revision", "--help"},
		{"db", "upgrade", "--help"},
		{"db", "downgrade", "--help"},
		{"db", "status", "--help"},
		{"db", "history", "--help"},
		{"db", "check", "--help"},
		{"db", "lint", "--help"},
		{"db", "hash", "--help"},
		{"db", "verify", "--help"},
		{"db", "import", "--help"},
		{"serve", "--help"},
		{"version", "--help"},
		{"help", "serve"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, "Example") {
				t.Errorf("help has no example:\n%s", r.stdout)
			}
			if !strings.Contains(r.stdout, "--database-url") {
				t.Errorf("help does not show the global flags:\n%s", r.stdout)
			}
		})
	}
}

func TestUsageMistakes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"db", "ensur"}, `Did you mean "ensure"?`},
		{[]string{"db", "upgarde"}, `Did you mean "upgrade"?`},
		{[]string{"upgrade"}, `Did you mean "db upgrade"?`},
		{[]string{"serv"}, `Did you mean "serve"?`},
		{[]string{"db", "ensure", "--jsn"}, `Did you mean "--json"?`},
		{[]string{"--databse-url", "sqlite://x.db", "db", "ensure"}, `Did you mean "--database-url"?`},
		{[]string{"db", "ensure", "--databse-url", "sqlite://x.db"}, `Did you mean "--database-url"?`},
		{[]string{"db", "drop", "--force-prod"}, `Did you mean "--force-production"?`},
		{[]string{"db", "ensure", "--lock-timeout", "soon"}, `--lock-timeout`},
		{[]string{"db", "ensure", "extra"}, `takes no arguments`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"help", "nosuch"}, `nosuch`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, tc.args...)
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, exitUsage, r.stderr)
			}
			assertOneErrorLine(t, r.stderr)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.want)
			}
			if r.stdout != "" {
				t.Errorf("a usage mistake printed on stdout: %q", r.stdout)
			}
		})
	}
}

// assertOneErrorLine checks the error contract: exactly one line,
// "weberctl: <message>".
func assertOneErrorLine(t *testing.T, stderr string) {
	t.Helper()
	if !strings.HasPrefix(stderr, "weberctl: ") || !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr is not one line `weberctl: <message>`: %q", stderr)
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
		t.Errorf("stderr holds a panic: %q", stderr)
	}
}

// ensureDatabase runs `db ensure --json` and returns the database it says it
// ensured.
func ensureDatabase(t *testing.T, vars map[string]string, args ...string) string {
	t.Helper()
	r := runCLI(t, vars, args...)
	if r.code != 0 {
		t.Fatalf("weberctl %v: exit %d: %s", args, r.code, r.stderr)
	}
	var res struct {
		Database string `json:"database"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("weberctl %v printed no JSON: %v\n%s", args, err, r.stdout)
	}
	return res.Database
}

func TestGlobalFlagsBeforeOrAfterTheCommand(t *testing.T) {
	t.Parallel()
	a, b, c, d := sqliteURL(t), sqliteURL(t), sqliteURL(t), sqliteURL(t)
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"before", nil, []string{"--database-url", a, "db", "ensure", "--json"}, a},
		{"between", nil, []string{"db", "--database-url", a, "ensure", "--json"}, a},
		{"after", nil, []string{"db", "ensure", "--json", "--database-url", a}, a},
		{"equals form", nil, []string{"db", "ensure", "--json", "--database-url=" + a}, a},
		{"after beats before", nil, []string{"--database-url", b, "db", "ensure", "--json", "--database-url", a}, a},
		{"flag beats env", map[string]string{"WEBER_DATABASE_URL": b}, []string{"db", "ensure", "--json", "--database-url", a}, a},
		{"WEBER_DATABASE_URL", map[string]string{"WEBER_DATABASE_URL": c, "DATABASE_URL": d}, []string{"db", "ensure", "--json"}, c},
		{"DATABASE_URL", map[string]string{"DATABASE_URL": d}, []string{"db", "ensure", "--json"}, d},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ensureDatabase(t, tc.vars, tc.args...); got != tc.want {
				t.Errorf("ensured %s, want %s", got, tc.want)
			}
		})
	}
}

func TestGlobalDirAndEnvAfterTheCommand(t *testing.T) {
	t.Parallel()
	url := sqliteURL(t)
	r := runCLI(t, nil, "db", "ensure", "--database-url", url, "--env", "production", "--dir", t.TempDir())
	if r.code != 0 {
		t.Fatalf("ensure: %s", r.stderr)
	}
	// --env after the command was recorded: the database now refuses a drop.
	r = runCLI(t, nil, "db", "drop", "--yes", "--database-url", url)
	if r.code != exitFailure || !strings.Contains(r.stderr, "--force-production") {
		t.Fatalf("drop of a database ensured with --env production: exit %d, %q", r.code, r.stderr)
	}
}

func TestEnsureThenNothingToDo(t *testing.T) {
	t.Parallel()
	url := sqliteURL(t)
	first := runCLI(t, nil, "db", "ensure", "--database-url", url)
	if first.code != 0 || !strings.Contains(first.stdout, "Created table users") {
		t.Fatalf("first ensure: exit %d\n%s%s", first.code, first.stdout, first.stderr)
	}
	second := runCLI(t, nil, "db", "ensure", "--database-url", url)
	if second.code != 0 || !strings.HasPrefix(second.stdout, "Nothing to do") {
		t.Fatalf("second ensure: exit %d\n%s%s", second.code, second.stdout, second.stderr)
	}
}

func TestDropWithoutTerminalRefuses(t *testing.T) {
	t.Parallel()
	url := sqliteURL(t)
	if r := runCLI(t, nil, "db", "ensure", "--database-url", url); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := runCLI(t, nil, "db", "drop", "--database-url", url)
	if r.code != exitFailure || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("drop without --yes off a terminal: exit %d, %q", r.code, r.stderr)
	}
	assertOneErrorLine(t, r.stderr)
	r = runCLI(t, nil, "db", "ensure", "--database-url", url)
	if !strings.HasPrefix(r.stdout, "Nothing to do") {
		t.Errorf("the database changed after a refused drop: %s", r.stdout)
	}
}

func TestBadURLsGiveOneLineWithoutThePassword(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-PW"
	for name, url := range map[string]string{
		"bad escape":     "postgres://weber:" + secret + "%zz@127.0.0.1:5432/app",
		"bad port":       "postgres://weber:" + secret + "@127.0.0.1:port/app",
		"unknown scheme": "oracle://weber:" + secret + "@127.0.0.1/app",
		"no database":    "mysql://weber:" + secret + "@127.0.0.1:3306/",
		"unreachable":    "postgres://weber:" + secret + "@127.0.0.1:1/app?connect_timeout=2",
		"no scheme":      "weber:" + secret + "@127.0.0.1/app",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, args := range [][]string{
				{"db", "ensure", "--database-url", url},
				{"db", "ensure", "--json", "--database-url", url},
				{"db", "drop", "--yes", "--database-url", url},
			} {
				r := runCLI(t, nil, args...)
				if r.code != exitFailure {
					t.Errorf("%v: exit %d, want 1", args, r.code)
				}
				assertOneErrorLine(t, r.stderr)
				if strings.Contains(r.stdout+r.stderr, secret) || strings.Contains(r.stdout+r.stderr, "s3cr3t") {
					t.Errorf("%v: the password appears in the output: %q %q", args, r.stdout, r.stderr)
				}
			}
			// The same URL from the environment.
			r := runCLI(t, map[string]string{"WEBER_DATABASE_URL": url}, "db", "ensure")
			if r.code != exitFailure || strings.Contains(r.stdout+r.stderr, "s3cr3t") {
				t.Errorf("from WEBER_DATABASE_URL: exit %d, %q", r.code, r.stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "version")
	if r.code != 0 || !strings.Contains(r.stdout, runtime.Version()) || !strings.Contains(r.stdout, weberVersion()) {
		t.Errorf("version: exit %d, %q", r.code, r.stdout)
	}
	r = runCLI(t, nil, "version", "--json")
	var v struct{ Weber, Go string }
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Go != runtime.Version() || v.Weber == "" {
		t.Errorf("version --json = %q (%v)", r.stdout, err)
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	secrets := findSecrets([]string{"weberctl", "--database-url", "postgres://u:longpassword1@h/db"}, func(string) string { return "" })
	for in, want := range map[string]string{
		"connecting to postgres://u:longpassword1@h/db failed": "connecting to postgres://u:xxxxx@h/db failed",
		"the driver said: longpassword1 is wrong":              "the driver said: xxxxx is wrong",
		"mysql://root:pw@tcp(h:3306)/db":                       "mysql://root:xxxxx@tcp(h:3306)/db",
		"host=h password=hunter2 dbname=x":                     "host=h password=xxxxx dbname=x",
		"write it as postgres://USER:PASSWORD@HOST/DB":         "write it as postgres://USER:PASSWORD@HOST/DB",
	} {
		if got := scrub(in, secrets); got != want {
			t.Errorf("scrub(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestScrubDevURLs: the passwords in the dev servers' variables are
// scrubbed too, though no flag names them.
func TestScrubDevURLs(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"WEBER_DEV_POSTGRES_URL": "postgres://u:pgdevsecret1@h/postgres",
		"WEBER_DEV_MYSQL_URL":    "mysql://root:mydevsecret2@h:3306/dev",
	}
	secrets := findSecrets([]string{"weberctl", "db", "check"}, func(k string) string { return env[k] })
	for _, pw := range []string{"pgdevsecret1", "mydevsecret2"} {
		if got := scrub("the driver said: "+pw+" is wrong", secrets); strings.Contains(got, pw) {
			t.Errorf("scrub left the dev password %s in %q", pw, got)
		}
	}
}

func TestRevisionThenCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, filepath.Join("..", "migrations"), dir)
	if err := os.MkdirAll(filepath.Join(dir, "sqlite"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "db", "revision", "--dir", dir, "--dialect", "sqlite", "--name", "catch_up")
	if r.code != 0 {
		t.Fatalf("revision: exit %d: %s", r.code, r.stderr)
	}
	r = runCLI(t, nil, "db", "revision", "--dir", dir, "--dialect", "sqlite", "--name", "again")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "No difference") {
		t.Fatalf("second revision: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, nil, "db", "check", "--dir", dir, "--dialect", "sqlite", "--json")
	var res checkView
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 0 {
		t.Fatalf("check after the revision: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	type checked struct {
		OK          bool
		Dialects    int
		ModelsAhead bool
	}
	got := checked{OK: res.OK, Dialects: len(res.Dialects)}
	for _, d := range res.Dialects {
		got.ModelsAhead = got.ModelsAhead || d.ModelsAhead
	}
	if diff := cmp.Diff(checked{OK: true, Dialects: 1}, got); diff != "" {
		t.Fatalf("check after the revision (-want +got):\n%s%s", diff, r.stdout)
	}
}

func TestCheckFailsWhenModelsAreAhead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sqlite"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, nil, "db", "hash", "--dir", dir, "--dialect", "sqlite"); r.code != 0 {
		t.Fatalf("hash of an empty history: %s", r.stderr)
	}
	r := runCLI(t, nil, "db", "check", "--dir", dir, "--dialect", "sqlite")
	want := outcome{Code: exitFailure, StderrLines: 1}
	if diff := cmp.Diff(want, outcomeOf(r, []string{"weberctl db revision", "AHEAD"}, []string{"weberctl: db check found 1 problem\n"})); diff != "" {
		t.Errorf("check of an empty history (-want +got):\n%s\nstdout: %s\nstderr: %s", diff, r.stdout, r.stderr)
	}
	assertOneErrorLine(t, r.stderr)
}

func TestFlagConflictsAreUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"db", "revision", "--dialect", "sqlit"}, `Did you mean "sqlite"?`},
		{[]string{"db", "check", "--dialect", "oracle"}, `not a kept dialect`},
		{[]string{"db", "upgrade", "--retry", "--mark-applied", "--database-url", sqliteURL(t)}, "contradict"},
	} {
		r := runCLI(t, nil, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with %q", tc.args, r.code, r.stderr, tc.want)
		}
		assertOneErrorLine(t, r.stderr)
	}
}

func TestVerboseLogsOnStderr(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "db", "ensure", "--verbose", "--database-url", sqliteURL(t))
	if r.code != 0 || !strings.Contains(r.stderr, "level=DEBUG") {
		t.Errorf("ensure --verbose: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, nil, "--verbose", "db", "ensure", "--database-url", sqliteURL(t))
	if r.code != 0 || !strings.Contains(r.stderr, "level=DEBUG") {
		t.Errorf("--verbose before the command: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestStatusOfAMissingDatabase(t *testing.T) {
	t.Parallel()
	url := sqliteURL(t)
	for _, cmd := range []string{"status", "history", "downgrade"} {
		r := runCLI(t, nil, "db", cmd, "--database-url", url)
		if r.code != exitFailure || !strings.Contains(r.stderr, "does not exist") {
			t.Errorf("db %s of a missing database: exit %d, %q", cmd, r.code, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
	}
	if _, err := os.Stat(strings.TrimPrefix(url, "sqlite://")); !os.IsNotExist(err) {
		t.Errorf("a read-only command created the database file")
	}
}

func TestDropOnATerminalAsksForTheName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		answer  string
		code    int
		dropped bool
	}{
		{"weber.db\n", 0, true},
		{"yes\n", exitFailure, false},
		{"", exitFailure, false},
	} {
		url := sqliteURL(t)
		if r := runCLI(t, nil, "db", "ensure", "--database-url", url); r.code != 0 {
			t.Fatal(r.stderr)
		}
		var out, errb bytes.Buffer
		e := &env{stdin: strings.NewReader(tc.answer), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, isTerminal: true}
		cliMu.Lock()
		code := e.run(t.Context(), []string{"weberctl", "db", "drop", "--database-url", url})
		cliMu.Unlock()
		if code != tc.code {
			t.Errorf("answer %q: exit %d, want %d (%s)", tc.answer, code, tc.code, errb.String())
		}
		if !strings.Contains(errb.String(), "Type the database name (weber.db)") {
			t.Errorf("answer %q: no prompt on stderr: %q", tc.answer, errb.String())
		}
		_, err := os.Stat(strings.TrimPrefix(url, "sqlite://"))
		if dropped := os.IsNotExist(err); dropped != tc.dropped {
			t.Errorf("answer %q: dropped = %v, want %v", tc.answer, dropped, tc.dropped)
		}
	}
}
