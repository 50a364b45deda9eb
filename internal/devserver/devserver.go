// Package devserver starts a private, throwaway PostgreSQL or MariaDB
// server for the commands that need a dev server (`db revision`, `db check`,
// `db lint`, `db status`, `db verify`) when none is configured but the
// server binaries are installed.
//
// One server per dialect and user: its state (pid, port, password) sits in
// a state directory (by default os.UserCacheDir()/weber/devserver/<dialect>),
// its data in a fresh temporary directory, on a free port of 127.0.0.1, with
// durability off. Commands share it: Acquire starts it or reuses the running
// one under an exclusive file lock, then holds a shared lock until Release.
// A watchdog process (see Watch) stops the server and removes its data once
// no command has used it for the idle timeout.
//
// As root, the server runs as the packages' own user (postgres, mysql) or
// nobody: PostgreSQL refuses to run as root.
package devserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// The dialects a dev server can be started for, by folder name.
const (
	Postgres = "postgres"
	MySQL    = "mysql"
)

// DefaultIdle is how long a dev server lives after the last command used it.
const DefaultIdle = 10 * time.Minute

// Options configures Acquire.
type Options struct {
	// Dialect is Postgres or MySQL.
	Dialect string
	// Dir is the state root; the dialect's state lives in Dir/<dialect>.
	// Default: DefaultDir().
	Dir string
	// Idle is how long the server lives unused (default DefaultIdle). It
	// is passed to Watchdog.
	Idle time.Duration
	// Watchdog, when set, returns the command that watches the server
	// (it must call Watch with the same state directory and idle time).
	// Acquire starts it detached when no watchdog runs. Without one the
	// server runs until Stop.
	Watchdog func(stateDir string, idle time.Duration) *exec.Cmd
	// StartTimeout bounds the server's start (default 90s).
	StartTimeout time.Duration
}

// DefaultDir is os.UserCacheDir()/weber/devserver, or the temp dir's
// weber-devserver-<uid> when there is no cache dir.
func DefaultDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "weber", "devserver")
	}
	return filepath.Join(os.TempDir(), "weber-devserver-"+strconv.Itoa(os.Getuid()))
}

// State is a running dev server, as recorded in its state directory.
type State struct {
	Dialect  string    `json:"dialect"`
	PID      int       `json:"pid"`
	Port     int       `json:"port"`
	User     string    `json:"user"`
	Password string    `json:"password"`
	DataDir  string    `json:"data_dir"` // the temporary directory, removed on stop
	Version  string    `json:"version"`  // e.g. "PostgreSQL 15"
	Started  time.Time `json:"started"`
	WatchPID int       `json:"watch_pid,omitempty"`
}

// URL is the server's administrative URL, password included.
func (s *State) URL() string {
	if s.Dialect == MySQL {
		return fmt.Sprintf("mysql://%s:%s@127.0.0.1:%d/mysql", s.User, s.Password, s.Port)
	}
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/postgres?sslmode=disable", s.User, s.Password, s.Port)
}

// Address is where the server listens, without credentials.
func (s *State) Address() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// NotInstalledError is returned when the server binaries are missing.
type NotInstalledError struct {
	Dialect string // Postgres or MySQL
	Missing string // what was looked for, e.g. "initdb and postgres"
	Package string // the Debian package that provides them
}

// Error names the package to install.
func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("no %s server binaries (%s) found: install them (Debian: apt-get install %s) and weberctl starts a private dev server itself",
		displayName(e.Dialect), e.Missing, e.Package)
}

func displayName(d string) string {
	if d == MySQL {
		return "MariaDB"
	}
	return "PostgreSQL"
}

// Lease is a command's use of a running dev server; Release ends it.
type Lease struct {
	// State is the server.
	State State
	// Started is true when this Acquire started the server.
	Started bool
	// StateDir holds the server's state and lock.
	StateDir string
	lock     *os.File
}

// URL is the server's administrative URL, password included.
func (l *Lease) URL() string { return l.State.URL() }

// Release records the use and lets the watchdog count the idle time from
// now. It is safe to call twice.
func (l *Lease) Release() error {
	if l.lock == nil {
		return nil
	}
	touch(filepath.Join(l.StateDir, "used"))
	err := l.lock.Close()
	l.lock = nil
	return err
}

// Acquire returns a lease on the dialect's dev server, starting one when
// none runs. It fails with *NotInstalledError when the binaries are
// missing.
func Acquire(ctx context.Context, opts Options) (*Lease, error) {
	if opts.Dialect != Postgres && opts.Dialect != MySQL {
		return nil, fmt.Errorf("devserver: unknown dialect %q: use postgres or mysql", opts.Dialect)
	}
	srv, err := find(opts.Dialect)
	if err != nil {
		return nil, err
	}
	dir := stateDir(opts)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("dev server state directory: %w", err)
	}
	// The common case, a server that runs and is watched, needs only the
	// shared lock that every command holds while it uses the server.
	if l, err := reuse(opts, dir); l != nil || err != nil {
		return l, err
	}
	lock, err := lockFile(dir, true)
	if err != nil {
		return nil, err
	}
	l, err := acquireLocked(ctx, opts, srv, dir)
	if err != nil {
		lock.Close()
		return nil, err
	}
	touch(filepath.Join(dir, "used"))
	if err := shareLock(lock); err != nil {
		lock.Close()
		return nil, err
	}
	l.lock = lock
	return l, nil
}

// reuse returns a lease on the running server under a shared lock, or
// nil when it must be started (or its watchdog restarted).
func reuse(opts Options, dir string) (*Lease, error) {
	lock, err := lockFile(dir, false)
	if err != nil {
		return nil, err
	}
	st, err := readState(dir)
	if err != nil || st == nil || !serving(st) || (opts.Watchdog != nil && !alive(st.WatchPID)) {
		lock.Close()
		return nil, err
	}
	touch(filepath.Join(dir, "used"))
	return &Lease{State: *st, StateDir: dir, lock: lock}, nil
}

// acquireLocked reuses or starts the server, with the state locked.
func acquireLocked(ctx context.Context, opts Options, srv server, dir string) (*Lease, error) {
	l := &Lease{StateDir: dir}
	st, err := readState(dir)
	if err != nil {
		return nil, err
	}
	if st != nil && serving(st) {
		l.State = *st
	} else {
		if st != nil {
			stopServer(st)
			removeState(dir)
		}
		started, err := start(ctx, opts, srv)
		if err != nil {
			return nil, err
		}
		l.State, l.Started = *started, true
	}
	if opts.Watchdog != nil && !alive(l.State.WatchPID) {
		pid, err := startWatchdog(opts, dir)
		if err != nil {
			stopServer(&l.State)
			removeState(dir)
			return nil, err
		}
		l.State.WatchPID = pid
	}
	if err := writeState(dir, &l.State); err != nil {
		stopServer(&l.State)
		return nil, err
	}
	return l, nil
}

func stateDir(opts Options) string {
	root := opts.Dir
	if root == "" {
		root = DefaultDir()
	}
	return filepath.Join(root, opts.Dialect)
}

func idleOf(opts Options) time.Duration {
	if opts.Idle > 0 {
		return opts.Idle
	}
	return DefaultIdle
}

// startWatchdog starts opts.Watchdog detached, its output in the state
// directory's watch.log.
func startWatchdog(opts Options, dir string) (int, error) {
	cmd := opts.Watchdog(dir, idleOf(opts))
	logf, err := os.OpenFile(filepath.Join(dir, "watch.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, logf, logf
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting the dev server's watchdog: %w", err)
	}
	pid := cmd.Process.Pid
	go cmd.Wait() //nolint:errcheck // reaps it should this process outlive it
	return pid, nil
}

// Stop stops the dialect's dev server under root (DefaultDir() when
// empty), if one runs, and removes its data. It reports whether one ran.
func Stop(root, dialect string) (bool, error) {
	dir := stateDir(Options{Dir: root, Dialect: dialect})
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	lock, err := lockFile(dir, true)
	if err != nil {
		return false, err
	}
	defer lock.Close()
	st, err := readState(dir)
	if err != nil || st == nil {
		return false, err
	}
	ran := serving(st)
	stopServer(st)
	removeState(dir)
	return ran, nil
}

// Status returns the dialect's running dev server under root, or nil.
func Status(root, dialect string) (*State, error) {
	st, err := readState(stateDir(Options{Dir: root, Dialect: dialect}))
	if err != nil || st == nil || !serving(st) {
		return nil, err
	}
	return st, nil
}

func readState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		// A torn or foreign file: treat as no server.
		return nil, nil
	}
	return &st, nil
}

func writeState(dir string, st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "state.json"))
}

func removeState(dir string) {
	os.Remove(filepath.Join(dir, "state.json"))
}

// serving reports whether st's server process lives and accepts TCP
// connections on its port.
func serving(st *State) bool {
	if !ownProcess(st.PID, st.DataDir) {
		return false
	}
	c, err := net.DialTimeout("tcp", st.Address(), 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func touch(path string) {
	now := time.Now()
	if err := os.Chtimes(path, now, now); errors.Is(err, fs.ErrNotExist) {
		if f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			f.Close()
		}
	}
}

// lastUse is when a command last acquired or released the server.
func lastUse(dir string) time.Time {
	fi, err := os.Stat(filepath.Join(dir, "used"))
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomPassword() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Installed returns nil when the dialect's server binaries are installed,
// a *NotInstalledError otherwise.
func Installed(dialect string) error {
	_, err := find(dialect)
	return err
}
