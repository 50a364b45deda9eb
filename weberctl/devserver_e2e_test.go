package weberctl

import (
	"encoding/json"
	"errors"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weber-framework/weber/internal/devserver"
)

// requireServerBinaries skips the test when d's server is not installed;
// under CI, which installs both, that is a failure.
func requireServerBinaries(t *testing.T, d string) {
	t.Helper()
	var missing *devserver.NotInstalledError
	if err := devserver.Installed(d); errors.As(err, &missing) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: CI installs the server packages, but: %v", d, err)
		}
		t.Skipf("%s: %v", d, err)
	}
}

// serverPIDs reads the private dev servers' and their watchdogs' pids.
func serverPIDs(t *testing.T, stateDir, d string) (server, watchdog int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, d, "state.json"))
	if err != nil {
		t.Fatalf("%s: no private dev server recorded: %v", d, err)
	}
	var st devserver.State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st.PID, st.WatchPID
}

func processLives(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	return err != nil || !strings.Contains(string(b), ") Z ")
}

// With no WEBER_DEV_*_URL, db check and db revision start private
// PostgreSQL and MariaDB dev servers, share them, and leave nothing
// running once they have been idle for WEBER_DEVSERVER_IDLE.
func TestE2EPrivateDevServersWithoutConfiguration(t *testing.T) {
	skipShort(t)
	requireServerBinaries(t, devserver.Postgres)
	requireServerBinaries(t, devserver.MySQL)
	p := newProject(t, e2eBackendOf(testserver.Backend{Name: testserver.SQLite})) // SQLite target: the dev servers are all private
	stateDir := t.TempDir()
	p.env = []string{"WEBER_DEVSERVER=on", "WEBER_DEVSERVER_DIR=" + stateDir, "WEBER_DEVSERVER_IDLE=4s"}
	t.Cleanup(func() {
		devserver.Stop(stateDir, devserver.Postgres)
		devserver.Stop(stateDir, devserver.MySQL)
	})

	r := p.run("db", "check", "--json")
	if r.code != 0 {
		t.Fatalf("db check without dev URLs: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var check checkView
	if err := json.Unmarshal([]byte(r.stdout), &check); err != nil {
		t.Fatal(err)
	}
	for _, d := range check.Dialects {
		if d.NotChecked != "" {
			t.Fatalf("db check: %s not checked: %s", d.Dialect, d.NotChecked)
		}
	}
	pg, pgWatch := serverPIDs(t, stateDir, devserver.Postgres)
	my, myWatch := serverPIDs(t, stateDir, devserver.MySQL)

	r = p.run("db", "revision", "--name", "probe")
	if r.code != 0 || !strings.Contains(r.stdout, "No difference") || !strings.Contains(r.stdout, "postgres, mysql") {
		t.Fatalf("db revision without dev URLs: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if again, _ := serverPIDs(t, stateDir, devserver.Postgres); again != pg {
		t.Fatalf("db revision started PostgreSQL again (pid %d, was %d): the running one should be reused", again, pg)
	}
	if again, _ := serverPIDs(t, stateDir, devserver.MySQL); again != my {
		t.Fatalf("db revision started MariaDB again (pid %d, was %d): the running one should be reused", again, my)
	}
	r = p.run("devserver", "status")
	if r.code != 0 || !strings.Contains(r.stdout, "postgres: PostgreSQL") || !strings.Contains(r.stdout, "mysql: MariaDB") {
		t.Fatalf("devserver status: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// The idle timeout passes: servers and watchdogs are gone, and so is
	// the data. Wait for the event, within a bound.
	pids := []int{pg, pgWatch, my, myWatch}
	deadline := time.Now().Add(90 * time.Second)
	for _, pid := range pids {
		for processLives(pid) && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if processLives(pid) {
			t.Fatalf("pid %d still runs long after the idle timeout (servers %d, %d; watchdogs %d, %d)", pid, pg, my, pgWatch, myWatch)
		}
	}
	for _, d := range []string{devserver.Postgres, devserver.MySQL} {
		if _, err := os.Stat(filepath.Join(stateDir, d, "state.json")); !os.IsNotExist(err) {
			t.Fatalf("%s: state left after the stop (%v)", d, err)
		}
	}
}

// Without the server binaries, the advice names the package to install
// and the variable to set.
func TestE2EMissingServerBinariesNamesThePackage(t *testing.T) {
	skipShort(t)
	p := newProject(t, e2eBackendOf(testserver.Backend{Name: testserver.SQLite}))
	p.env = []string{"WEBER_DEVSERVER=on", "WEBER_DEVSERVER_DIR=" + t.TempDir(), "PATH=" + t.TempDir()}
	r := p.run("db", "revision", "--dialect", "mysql")
	if r.code != 1 || !strings.Contains(r.stderr, "WEBER_DEV_MYSQL_URL") || !strings.Contains(r.stderr, "apt-get install mariadb-server") {
		t.Fatalf("db revision --dialect mysql without MariaDB: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = p.run("db", "lint", "--dialect", "mysql")
	if r.code != 1 || !strings.Contains(r.stdout, "WEBER_DEV_MYSQL_URL") || !strings.Contains(r.stdout, "apt-get install mariadb-server") {
		t.Fatalf("db lint --dialect mysql without MariaDB: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
