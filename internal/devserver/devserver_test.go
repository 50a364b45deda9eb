package devserver

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
)

// acquire starts (or reuses) d's dev server under root, skipping the test
// when the binaries are missing (a failure under CI, which installs them).
func acquire(t *testing.T, root, d string) *Lease {
	t.Helper()
	l, err := Acquire(t.Context(), Options{Dialect: d, Dir: root})
	var missing *NotInstalledError
	if errors.As(err, &missing) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: CI installs the server packages, but: %v", d, err)
		}
		t.Skipf("%s: %v", d, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// ping creates and drops a database on the server, as `db revision` does.
func ping(t *testing.T, l *Lease) {
	t.Helper()
	u, err := dbconn.Parse(l.URL())
	if err != nil {
		t.Fatal(err)
	}
	db, err := dbconn.OpenServer(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), "CREATE DATABASE weber_devserver_probe"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), "DROP DATABASE weber_devserver_probe"); err != nil {
		t.Fatal(err)
	}
}

func TestServerIsSharedAndStopsWhenIdle(t *testing.T) {
	for _, d := range []string{Postgres, MySQL} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			first := acquire(t, root, d)
			t.Cleanup(func() { Stop(root, d) })
			if !first.Started || first.State.Port == 55432 || first.State.Port == 53306 {
				t.Fatalf("first Acquire: started=%v port=%d, want a new server on a port of its own", first.Started, first.State.Port)
			}
			ping(t, first)
			second := acquire(t, root, d)
			if second.Started || second.State.PID != first.State.PID {
				t.Fatalf("second Acquire started=%v pid %d, want the running server (pid %d) reused", second.Started, second.State.PID, first.State.PID)
			}
			ping(t, second)
			first.Release()

			// A command still holds the server: the watchdog waits.
			ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
			defer cancel()
			if err := Watch(ctx, second.StateDir, 200*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if !alive(first.State.PID) {
				t.Fatal("the watchdog stopped a server a command still held")
			}
			second.Release()
			if err := Watch(t.Context(), second.StateDir, 200*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if alive(first.State.PID) {
				t.Fatalf("server pid %d still runs after the idle timeout", first.State.PID)
			}
			if _, err := os.Stat(first.State.DataDir); !os.IsNotExist(err) {
				t.Fatalf("data directory %s left behind (%v)", first.State.DataDir, err)
			}
			if st, err := Status(root, d); st != nil || err != nil {
				t.Fatalf("Status after stop = %+v, %v; want none", st, err)
			}
		})
	}
}

// A server that died (killed, machine slept) is replaced by the next
// Acquire, and Stop reports whether one ran.
func TestDeadServerIsReplaced(t *testing.T) {
	root := t.TempDir()
	l := acquire(t, root, Postgres)
	l.Release()
	terminate(l.State.PID, Postgres)
	again := acquire(t, root, Postgres)
	if !again.Started || again.State.PID == l.State.PID {
		t.Fatalf("Acquire after the server died: started=%v pid=%d; want a new server", again.Started, again.State.PID)
	}
	ping(t, again)
	again.Release()
	if ran, err := Stop(root, Postgres); !ran || err != nil {
		t.Fatalf("Stop = %v, %v; want true, nil", ran, err)
	}
	if alive(again.State.PID) {
		t.Fatal("Stop left the server running")
	}
	if ran, err := Stop(root, Postgres); ran || err != nil {
		t.Fatalf("second Stop = %v, %v; want false, nil", ran, err)
	}
}

// Without the installer in PATH no MariaDB server can be set up: the
// error names the Debian package.
func TestNotInstalledNamesThePackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := findMariaDB()
	var missing *NotInstalledError
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "apt-get install mariadb-server") {
		t.Fatalf("err = %v; want a NotInstalledError naming mariadb-server", err)
	}
}
