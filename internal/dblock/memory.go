package dblock

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"sync"

	"github.com/weber-framework/weber/internal/dbconn"
)

// memLocks holds the locks of in-memory SQLite databases. It is package
// state on purpose: an in-memory database exists only inside this process,
// so the lock that guards it must be shared by the whole process, and
// nothing outside the process can reach the database to need more. Entries
// live only while someone holds or waits for the lock.
var memLocks = struct {
	sync.Mutex
	m map[any]*memEntry
}{m: map[any]*memEntry{}}

type memEntry struct {
	sem  chan struct{} // holds one token while the lock is held
	refs int           // holders and waiters
}

// memoryLock is the lock of one in-memory SQLite database.
type memoryLock struct {
	key  any
	e    *memEntry
	held bool
}

// newMemoryLock keys the lock by the database: the pool itself, since
// dbconn gives each in-memory URL a private database inside its pool, or the
// shared name when the URL names one (_name=...), which every pool of this
// process opening that name reaches.
func newMemoryLock(db *sql.DB, u *dbconn.URL) *memoryLock {
	var key any = db
	if _, rawQuery, ok := strings.Cut(u.Redacted(), "?"); ok {
		if q, err := url.ParseQuery(rawQuery); err == nil && q.Get("_name") != "" {
			key = "sqlite-memory:" + q.Get("_name")
		}
	}
	memLocks.Lock()
	defer memLocks.Unlock()
	e := memLocks.m[key]
	if e == nil {
		e = &memEntry{sem: make(chan struct{}, 1)}
		memLocks.m[key] = e
	}
	e.refs++
	return &memoryLock{key: key, e: e}
}

func (m *memoryLock) try(context.Context) (bool, error) {
	select {
	case m.e.sem <- struct{}{}:
		m.held = true
		return true, nil
	default:
		return false, nil
	}
}

func (m *memoryLock) holder(context.Context) string {
	return "this process (the database is in memory)"
}

func (m *memoryLock) unlock(context.Context) error {
	if m.held {
		m.held = false
		<-m.e.sem
	}
	return nil
}

// close drops this lock's reference, and the entry with the last one.
func (m *memoryLock) close() error {
	memLocks.Lock()
	defer memLocks.Unlock()
	if m.e == nil {
		return nil
	}
	m.e.refs--
	if m.e.refs == 0 {
		delete(memLocks.m, m.key)
	}
	m.e = nil
	return nil
}
