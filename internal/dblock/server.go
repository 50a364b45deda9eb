package dblock

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/weber-framework/weber/internal/dbconn"
)

// dialectLock is what PostgreSQL and MySQL do differently on the lock's
// connection.
type dialectLock interface {
	// setup runs once on the lock connection before the first try.
	setup(ctx context.Context, conn *sql.Conn) error
	try(ctx context.Context, conn *sql.Conn) (bool, error)
	holder(ctx context.Context, conn *sql.Conn) string
	unlock(ctx context.Context, conn *sql.Conn) error
}

// serverLock holds a session lock on a connection of its own: a private
// one-connection pool opened from the URL, so the caller's pool, whatever its
// size, is never short of the connection the lock holds.
type serverLock struct {
	db   *sql.DB
	conn *sql.Conn
	d    dialectLock
}

func newServerLock(ctx context.Context, u *dbconn.URL, d dialectLock) (*serverLock, error) {
	db, err := dbconn.Open(ctx, u)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening the lock's connection: %w", err)
	}
	s := &serverLock{db: db, conn: conn, d: d}
	if err := d.setup(ctx, conn); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *serverLock) try(ctx context.Context) (bool, error) { return s.d.try(ctx, s.conn) }

func (s *serverLock) holder(ctx context.Context) string { return s.d.holder(ctx, s.conn) }

func (s *serverLock) unlock(ctx context.Context) error {
	return s.d.unlock(ctx, s.conn)
}

// close ends the lock's session, which releases the lock on the server if
// it is still held.
func (s *serverLock) close() error {
	// The connection goes back to the private pool, and closing the pool
	// closes it.
	err := s.conn.Close()
	if errors.Is(err, sql.ErrConnDone) {
		err = nil
	}
	return errors.Join(err, s.db.Close())
}
