//go:build unix

package devserver

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// lockFile opens dir/lock and takes its lock, exclusive or shared,
// waiting for it.
func lockFile(dir string, exclusive bool) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dev server lock: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dev server lock: %w", err)
	}
	return f, nil
}

// tryLockExclusive takes dir/lock exclusively without waiting; nil, nil
// when a command holds it.
func tryLockExclusive(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, nil
		}
		return nil, err
	}
	return f, nil
}

// shareLock turns an exclusive lock into a shared one.
func shareLock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_SH)
}

// alive reports whether pid is a live process (a zombie is not).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no procfs: kill(0) said it exists
	}
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// ownProcess reports whether pid lives and is the server of dataDir (its
// command line names it), so that a reused pid is never signalled.
func ownProcess(pid int, dataDir string) bool {
	if !alive(pid) || dataDir == "" {
		return false
	}
	if _, err := os.Stat("/proc/self"); err != nil {
		return true // no procfs (macOS): the pid is all there is to go on
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return !os.IsNotExist(err)
	}
	return bytes.Contains(b, []byte(dataDir))
}

// terminate asks the server to shut down (fast shutdown for PostgreSQL)
// and waits for it, killing it after 30s.
func terminate(pid int, dialect string) {
	sig := syscall.SIGTERM
	if dialect == Postgres {
		sig = syscall.SIGINT // fast shutdown: no waiting for clients
	}
	_ = syscall.Kill(pid, sig)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !alive(pid) {
			return
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for deadline := time.Now().Add(5 * time.Second); alive(pid) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
}

// detach runs cmd in its own session, so that it outlives the command
// and a Ctrl-C on the terminal does not reach it.
func detach(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setsid = true
}

// account is the OS user the server runs as: the current one, or, as
// root, the package's own user (postgres, mysql) or nobody.
type account struct {
	switchTo bool
	uid, gid int
}

func serviceAccount(dialect string) (account, error) {
	if os.Geteuid() != 0 {
		return account{}, nil
	}
	names := []string{"postgres", "nobody"}
	if dialect == MySQL {
		names = []string{"mysql", "nobody"}
	}
	for _, n := range names {
		u, err := user.Lookup(n)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return account{switchTo: true, uid: uid, gid: gid}, nil
	}
	return account{}, fmt.Errorf("starting a private %s dev server as root: no %s or nobody user to run it as (the server refuses root): create one, or set WEBER_DEV_%s_URL",
		displayName(dialect), names[0], map[string]string{Postgres: "POSTGRES", MySQL: "MYSQL"}[dialect])
}

// apply makes cmd run as the account.
func (a account) apply(cmd *exec.Cmd) {
	if !a.switchTo {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid)}
}

// own gives path to the account, readable by it alone.
func (a account) own(path string) error {
	if err := os.Chmod(path, 0o700); err != nil {
		return err
	}
	if !a.switchTo {
		return nil
	}
	return os.Chown(path, a.uid, a.gid)
}

// writeFile writes a file only the account can read.
func (a account) writeFile(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return err
	}
	if !a.switchTo {
		return nil
	}
	return os.Chown(path, a.uid, a.gid)
}
