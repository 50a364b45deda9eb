package weberctl

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// consoleClient is the client program db console starts on dia.
func consoleClient(dia string) string {
	switch dia {
	case dialect.SQLite:
		return "sqlite3"
	case dialect.Postgres:
		return "psql"
	}
	return "mariadb"
}

// db console runs a query from its standard input through the database's
// own client and prints the answer; while the client runs, its command
// line (what ps shows) holds no password.
func TestE2EConsoleRunsQueryFromStdin(t *testing.T) {
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		client := consoleClient(p.u.Dialect)
		if _, err := exec.LookPath(client); err != nil {
			t.Skipf("%s: the client is not installed; install it to run this test", client)
		}
		p.must("db", "ensure")
		password := ""
		if b.URL != "" {
			// A role of the test's own, whose password appears nowhere
			// else on the command line (not as the user or database).
			p.url, password = testserver.PasswordURL(t, b, p.u.Database)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := p.command(ctx, nil, "db", "console")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The client waits on the open standard input: read its command
		// line and environment meanwhile.
		child := waitChild(t, cmd.Process.Pid)
		if child == 0 {
			stdin.Close()
			err := cmd.Wait()
			t.Fatalf("db console ended before starting a client: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
		}
		argv, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(child), "cmdline"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(argv), client) {
			t.Errorf("child command line %q is not %s's", argv, client)
		}
		if password != "" && bytes.Contains(argv, []byte(password)) {
			t.Errorf("the client's command line holds the password: %q", bytes.ReplaceAll(argv, []byte(password), []byte("xxxxx")))
		}
		if _, err := stdin.Write([]byte("select 40+2 as answer;\n")); err != nil {
			t.Fatal(err)
		}
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("db console: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
		}
		if !strings.Contains(out.String(), "42") {
			t.Errorf("db console printed %q; want the answer 42\nstderr: %s", out.String(), errb.String())
		}
	})
}

// waitChild returns the pid of the first child of pid, polling /proc until
// it has one; 0 when pid ends first.
func waitChild(t *testing.T, pid int) int {
	t.Helper()
	for ctx := t.Context(); ctx.Err() == nil; time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat")); err != nil || bytes.Contains(b, []byte(") Z ")) {
			return 0
		}
		procs, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, f := range procs {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
			i := bytes.LastIndexByte(b, ')')
			fields := strings.Fields(string(b[i+1:]))
			if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
				n, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
				return n
			}
		}
	}
	t.Fatal("the client process never started")
	return 0
}

// Without the client installed, db console says in one line which package
// to install.
func TestE2EConsoleMissingClientNamesPackage(t *testing.T) {
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "ensure")
		empty := t.TempDir()
		r := p.runEnv([]string{"PATH=" + empty}, "db", "console")
		pkg := map[string]string{dialect.SQLite: "sqlite3", dialect.Postgres: "postgresql-client", dialect.MySQL: "mariadb-client"}[p.u.Dialect]
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "apt-get install "+pkg) {
			t.Errorf("db console without a client: exit %d, stderr %q; want exit 1 and one line naming %s", r.code, r.stderr, pkg)
		}
	})
}

// Arguments after -- go to the client as they are.
func TestE2EConsolePassesArgsAfterDashes(t *testing.T) {
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		client := consoleClient(p.u.Dialect)
		if _, err := exec.LookPath(client); err != nil {
			t.Skipf("%s: the client is not installed; install it to run this test", client)
		}
		p.must("db", "ensure")
		args := map[string][]string{
			dialect.SQLite:   {"select 6*7;"},
			dialect.Postgres: {"-c", "select 6*7"},
			dialect.MySQL:    {"-e", "select 6*7"},
		}[p.u.Dialect]
		r := p.must(append([]string{"db", "console", "--"}, args...)...)
		if !strings.Contains(r.stdout, "42") {
			t.Errorf("db console -- %q printed %q; want 42", args, r.stdout)
		}
	})
}

// A SQLite file that does not exist is refused, not created empty by
// sqlite3.
func TestConsoleRefusesMissingSQLiteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.db")
	r := runCLI(t, nil, "--database-url", "sqlite://"+path, "db", "console")
	if r.code != exitFailure || !strings.Contains(r.stderr, "weberctl db ensure") {
		t.Errorf("db console on a missing file: exit %d, stderr %q; want exit 1 advising db ensure", r.code, r.stderr)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("db console created %s", path)
	}
}
