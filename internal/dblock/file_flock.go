//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package dblock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"

	"github.com/weber-framework/weber/internal/dbconn"
)

// An SQLite database file is locked with flock(2) on the file itself.
//
// Why the file itself: the lock is then attached to the database's inode in
// the kernel, so every process that reaches the database, under any path,
// TMPDIR or working directory, meets the same lock; and the kernel drops it
// when the holder's last descriptor closes, which includes the holder being
// killed. No lock file is left behind.
//
// flock and SQLite: SQLite's default unix VFS locks with fcntl(2) byte-range
// (POSIX) locks. On Linux and the BSDs flock locks and POSIX locks are
// independent: holding an exclusive flock does not stop SQLite, in this
// process or another, from reading or writing (the tests check this across
// processes). The exception is NFS on Linux, where flock is emulated with a
// whole-file POSIX lock and would block other processes' SQLite; SQLite
// itself warns against NFS.
//
// The trap: POSIX locks belong to the process and the inode, and closing ANY
// descriptor of the file drops ALL of the process's POSIX locks on it
// (SQLite's "How To Corrupt An SQLite Database File", section 2.2). An idle
// SQLite connection in WAL mode holds a shared POSIX lock on the database
// file for as long as it is open (checked in /proc/locks); closing our lock
// descriptor while the caller's pool is open would silently drop it, letting
// another process checkpoint and delete the WAL under our feet. So a lock
// descriptor is never closed while its file exists: Release unlocks it and
// keeps it in lockFiles for the next Acquire on that file. Descriptors of
// files that have since been deleted are closed (their inode is gone).

// lockFiles keeps the idle lock descriptors, by file. It is package state
// because the POSIX-lock trap above is per process: every Lock in the
// process must reuse these descriptors rather than close them.
var lockFiles = struct {
	sync.Mutex
	idle map[fileKey][]*os.File
}{idle: map[fileKey][]*os.File{}}

// fileKey identifies a file by device and inode.
type fileKey struct{ dev, ino uint64 }

func statKey(fi fs.FileInfo) (fileKey, uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{}, 0, false
	}
	return fileKey{dev: uint64(st.Dev), ino: uint64(st.Ino)}, uint64(st.Nlink), true
}

// fileLock is an exclusive flock on an SQLite database file.
type fileLock struct {
	path string
	f    *os.File
	key  fileKey
	held bool
}

func newFileLock(u *dbconn.URL) (*fileLock, error) {
	f, key, err := openLockFile(u.Database)
	if err != nil {
		return nil, err
	}
	return &fileLock{path: u.Database, f: f, key: key}, nil
}

// openLockFile returns an idle descriptor of the file, or opens one.
func openLockFile(path string) (*os.File, fileKey, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fileKey{}, fmt.Errorf("the database file %s does not exist: create it with `weberctl db ensure`", path)
	case err != nil:
		return nil, fileKey{}, err
	case !fi.Mode().IsRegular():
		return nil, fileKey{}, fmt.Errorf("%s is not a regular file: the URL must name an SQLite database file", path)
	}
	key, _, ok := statKey(fi)
	lockFiles.Lock()
	defer lockFiles.Unlock()
	sweepLockFiles()
	if list := lockFiles.idle[key]; ok && len(list) > 0 {
		f := list[len(list)-1]
		if len(list) == 1 {
			delete(lockFiles.idle, key)
		} else {
			lockFiles.idle[key] = list[:len(list)-1]
		}
		return f, key, nil
	}
	// O_RDONLY is enough for flock, and works on a read-only file.
	f, err := os.Open(path)
	if err != nil {
		return nil, fileKey{}, err
	}
	if fi, err := f.Stat(); err == nil {
		if k, _, ok := statKey(fi); ok {
			key = k // the inode actually opened
		}
	}
	return f, key, nil
}

// sweepLockFiles closes idle descriptors whose file has been deleted: their
// inode can no longer be opened, and its number may be reused by a new file
// that the stale descriptor must not stand for. Callers hold lockFiles.
func sweepLockFiles() {
	for key, list := range lockFiles.idle {
		kept := list[:0]
		for _, f := range list {
			fi, err := f.Stat()
			if err != nil {
				f.Close()
				continue
			}
			if k, nlink, ok := statKey(fi); ok && (nlink == 0 || k != key) {
				f.Close()
				continue
			}
			kept = append(kept, f)
		}
		if len(kept) == 0 {
			delete(lockFiles.idle, key)
		} else {
			lockFiles.idle[key] = kept
		}
	}
}

// putLockFile keeps an unlocked descriptor for the next Acquire.
func putLockFile(f *os.File, key fileKey) {
	lockFiles.Lock()
	defer lockFiles.Unlock()
	lockFiles.idle[key] = append(lockFiles.idle[key], f)
}

func (l *fileLock) try(context.Context) (bool, error) {
	for {
		err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			l.held = true
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EAGAIN):
			return false, nil
		}
		return false, fmt.Errorf("flock %s: %w", l.path, err)
	}
}

func (l *fileLock) holder(context.Context) string {
	if who := flockHolder(l.key); who != "" {
		return who
	}
	return fmt.Sprintf("another process with %s open (`fuser -v %s` names it)", l.path, l.path)
}

func (l *fileLock) unlock(context.Context) error {
	if !l.held {
		return nil
	}
	for {
		err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("unlocking %s: %w", l.path, err)
		}
		l.held = false
		return nil
	}
}

// close hands the descriptor back for reuse, never closing it (see the trap
// above), unless it still holds the lock after a failed unlock: then closing
// is the only way left to free it.
func (l *fileLock) close() error {
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	if l.held {
		return f.Close()
	}
	putLockFile(f, l.key)
	return nil
}
