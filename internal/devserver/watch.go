package devserver

import (
	"context"
	"time"
)

// Watch stops the dev server whose state is in stateDir once no command
// has used it for idle, then returns. It returns early, stopping nothing,
// when the server is gone (stopped by Stop, or dead). It is what the
// watchdog process runs; ctx ends it without stopping the server.
func Watch(ctx context.Context, stateDir string, idle time.Duration) error {
	if idle <= 0 {
		idle = DefaultIdle
	}
	// While a command holds the server, look again every poll.
	poll := min(idle/4, 5*time.Second)
	for {
		st, err := readState(stateDir)
		if err != nil || st == nil {
			return err
		}
		if !ownProcess(st.PID, st.DataDir) {
			return stopIfGone(stateDir, st.PID)
		}
		wait := time.Until(lastUse(stateDir).Add(idle))
		if wait <= 0 {
			stopped, err := stopIdle(stateDir, idle)
			if stopped || err != nil {
				return err
			}
			wait = poll
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// stopIdle stops the server when no command holds it and none used it
// within idle; it reports whether it did.
func stopIdle(stateDir string, idle time.Duration) (bool, error) {
	lock, err := tryLockExclusive(stateDir)
	if err != nil || lock == nil {
		return false, err
	}
	defer lock.Close()
	if time.Since(lastUse(stateDir)) < idle {
		return false, nil // a command released it just now
	}
	st, err := readState(stateDir)
	if err != nil || st == nil {
		return st == nil, err
	}
	stopServer(st)
	removeState(stateDir)
	return true, nil
}

// stopIfGone cleans up after a server that died on its own, unless
// another command has started a new one meanwhile.
func stopIfGone(stateDir string, pid int) error {
	lock, err := lockFile(stateDir, true)
	if err != nil {
		return err
	}
	defer lock.Close()
	st, err := readState(stateDir)
	if err != nil || st == nil || st.PID != pid {
		return err
	}
	stopServer(st)
	removeState(stateDir)
	return nil
}
