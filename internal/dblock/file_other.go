//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package dblock

import (
	"fmt"
	"runtime"

	"github.com/weber-framework/weber/internal/dbconn"
)

// newFileLock refuses: without flock(2) this build has no lock on an SQLite
// file that other processes would respect, and a lock that does not exclude
// is worse than none.
func newFileLock(u *dbconn.URL) (backend, error) {
	return nil, fmt.Errorf("locking the SQLite file %s needs flock(2), which %s lacks: run schema changes on Linux, macOS or a BSD", u.Database, runtime.GOOS)
}
