//go:build linux

package dblock

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// TestFileLockKeepsSQLitesLocks guards the POSIX-lock trap: closing any
// descriptor of the database file drops every POSIX lock this process holds
// on it, including the shared lock an idle WAL connection keeps. Acquire
// and Release must leave the pool's locks in place.
func TestFileLockKeepsSQLitesLocks(t *testing.T) {
	t.Parallel()
	if !fileExists("/proc/locks") {
		t.Skip("needs /proc/locks")
	}
	ctx := context.Background()
	d := newDB(t, testserver.Backend{Name: "sqlite"})
	db := openPool(t, d.u)
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	before := posixLocks(t, d.u.Database)
	if before == 0 {
		t.Skip("the pool holds no POSIX lock on the file at rest (not in WAL mode?)")
	}
	for range 3 {
		l := mustAcquire(t, ctx, db, d.u, 0)
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
	}
	if after := posixLocks(t, d.u.Database); after < before {
		t.Fatalf("the pool's POSIX locks on the file went from %d to %d: a lock descriptor was closed", before, after)
	}
	lockFiles.Lock()
	idle := 0
	for _, list := range lockFiles.idle {
		idle += len(list)
	}
	lockFiles.Unlock()
	if idle == 0 {
		t.Error("no idle lock descriptor kept for reuse")
	}
}

// posixLocks counts this process's POSIX locks on the file.
func posixLocks(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	key, _, _ := statKey(fi)
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Fatal(err)
	}
	suffix := fmt.Sprintf(":%d", key.ino)
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 8 && f[1] == "POSIX" && f[4] == fmt.Sprint(os.Getpid()) && strings.HasSuffix(f[5], suffix) {
			n++
		}
	}
	return n
}
