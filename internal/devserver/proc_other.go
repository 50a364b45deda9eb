//go:build !unix

package devserver

import (
	"errors"
	"os"
	"os/exec"
)

// errUnsupported: private dev servers need Unix file locks and sessions.
func errUnsupported() error {
	return errors.New("private dev servers run on Linux and macOS only: set WEBER_DEV_POSTGRES_URL / WEBER_DEV_MYSQL_URL")
}

func lockFile(string, bool) (*os.File, error)        { return nil, errUnsupported() }
func tryLockExclusive(string) (*os.File, error)      { return nil, errUnsupported() }
func shareLock(*os.File) error                       { return errUnsupported() }
func alive(int) bool                                 { return false }
func ownProcess(int, string) bool                    { return false }
func terminate(int, string)                          {}
func detach(*exec.Cmd)                               {}
func serviceAccount(string) (account, error)         { return account{}, errUnsupported() }
func (account) apply(*exec.Cmd)                      {}
func (account) own(string) error                     { return errUnsupported() }
func (account) writeFile(path, content string) error { return errUnsupported() }

type account struct{}
