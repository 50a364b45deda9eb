package dblock

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/weber-framework/weber/internal/errtext"
)

// mysqlPrefix starts every lock name. MySQL's user-level locks are
// server-wide, so the database name follows it.
const mysqlPrefix = "weber_migrate:"

// mysqlMaxName is MySQL's limit on a user-level lock name (5.7 and later).
const mysqlMaxName = 64

// mysqlLock is a user-level lock (GET_LOCK) named after the database.
type mysqlLock struct{ name string }

// mysqlLockName is the lock name for a database: the prefix and the name,
// or the prefix and a hash of the name when that would be too long. Lock
// names compare case-insensitively, so databases whose names differ only in
// case share one lock: they wait for each other, which is safe.
func mysqlLockName(database string) string {
	name := mysqlPrefix + database
	if len(name) <= mysqlMaxName {
		return name
	}
	sum := sha256.Sum256([]byte(database))
	return mysqlPrefix + "sha256:" + hex.EncodeToString(sum[:])[:mysqlMaxName-len(mysqlPrefix)-len("sha256:")]
}

// getLockResult interprets GET_LOCK's answer: 1 is the lock; 0 is a timeout
// (someone else holds it); NULL is an error, never success.
func getLockResult(v sql.NullInt64) (bool, error) {
	switch {
	case !v.Valid:
		return false, errors.New("GET_LOCK returned NULL (an error on the server, such as the session being killed or out of memory)")
	case v.Int64 == 1:
		return true, nil
	case v.Int64 == 0:
		return false, nil
	}
	return false, fmt.Errorf("GET_LOCK returned %d, expected 0 or 1", v.Int64)
}

func (m *mysqlLock) setup(ctx context.Context, conn *sql.Conn) error {
	var name sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name); err != nil {
		return fmt.Errorf("reading the database name on the lock's connection: %s", errtext.OneLine(err))
	}
	if !name.Valid || name.String == "" {
		return errors.New("the lock's connection has no current database: name one in the URL")
	}
	m.name = mysqlLockName(name.String)
	// The session sits idle while the migration runs on other connections:
	// wait_timeout (often minutes on hosted servers) must not end it, since
	// that would free the lock mid-migration. 31536000 s (a year) is the
	// largest value MySQL and MariaDB accept on Linux; others clamp it.
	if _, err := conn.ExecContext(ctx, "SET SESSION wait_timeout = 31536000"); err != nil {
		return fmt.Errorf("raising wait_timeout on the lock's connection: %s", errtext.OneLine(err))
	}
	return nil
}

func (m *mysqlLock) try(ctx context.Context, conn *sql.Conn) (bool, error) {
	var v sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", m.name).Scan(&v); err != nil {
		return false, fmt.Errorf("GET_LOCK(%q): %s", m.name, errtext.OneLine(err))
	}
	ok, err := getLockResult(v)
	if err != nil {
		return false, fmt.Errorf("GET_LOCK(%q): %w", m.name, err)
	}
	return ok, nil
}

func (m *mysqlLock) holder(ctx context.Context, conn *sql.Conn) string {
	var id sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?)", m.name).Scan(&id); err != nil || !id.Valid {
		return fmt.Sprintf("a MySQL session (SELECT IS_USED_LOCK('%s') names its connection id)", m.name)
	}
	s := fmt.Sprintf("MySQL connection id %d", id.Int64)
	var user, host string
	var secs sql.NullInt64
	// PROCESSLIST shows other users' sessions only with the PROCESS privilege.
	err := conn.QueryRowContext(ctx, "SELECT USER, HOST, TIME FROM information_schema.PROCESSLIST WHERE ID = ?", id.Int64).
		Scan(&user, &host, &secs)
	if err == nil {
		s += fmt.Sprintf(" (user %s from %s", user, host)
		if secs.Valid {
			s += fmt.Sprintf(", in its current state for %ds", secs.Int64)
		}
		s += ")"
	}
	return s + ", see SHOW PROCESSLIST"
}

func (m *mysqlLock) unlock(ctx context.Context, conn *sql.Conn) error {
	var v sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", m.name).Scan(&v); err != nil {
		return fmt.Errorf("RELEASE_LOCK(%q): %s: the lock's session may have been lost, which freed the lock early; "+
			"check that no other schema change ran meanwhile", m.name, errtext.OneLine(err))
	}
	if !v.Valid || v.Int64 != 1 {
		return fmt.Errorf("RELEASE_LOCK(%q): the lock was no longer held by its session; "+
			"check that no other schema change ran meanwhile", m.name)
	}
	return nil
}
