package devdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/envmark"
)

// ErrNotConfirmed is returned by Drop when nobody confirmed the drop: no
// terminal to ask on and no Yes, or an answer that was not the database's
// name. Nothing was dropped.
var ErrNotConfirmed = errors.New("drop not confirmed")

// notConfirmed is an ErrNotConfirmed with its own message.
type notConfirmed string

func (e notConfirmed) Error() string { return string(e) }
func (e notConfirmed) Unwrap() error { return ErrNotConfirmed }

// ProductionError is returned by Drop for a database that records a
// production environment when ForceProduction is not set. Nothing was
// dropped.
type ProductionError struct {
	// Database is the URL, password redacted.
	Database string
	// Env is the environment recorded in the database.
	Env string
}

func (e *ProductionError) Error() string {
	return fmt.Sprintf("refusing to drop %s: it is marked as a %q database (recorded by `db ensure`/`db upgrade` with WEBER_ENV=%s); if you really mean it, pass --force-production",
		e.Database, e.Env, e.Env)
}

// DropOptions configure Drop.
type DropOptions struct {
	// Yes confirms the drop without asking.
	Yes bool
	// IsTerminal reports that a person can answer Confirm. Without a
	// terminal and without Yes, Drop refuses.
	IsTerminal bool
	// Confirm asks the question in prompt and returns the answer typed. The
	// drop goes ahead only if the answer is the database's name. Required
	// when IsTerminal is set and Yes is not.
	Confirm func(prompt string) (string, error)
	// ForceProduction allows dropping a database marked as production.
	ForceProduction bool
}

// DropResult says what Drop did.
type DropResult struct {
	// Database is the URL, password redacted.
	Database string
	// Existed reports that there was a database to drop.
	Existed bool
	// Dropped reports that the database is gone.
	Dropped bool
	// Env is the environment the database recorded, if any.
	Env string
	// Files are the files removed (SQLite: the database, -wal, -shm).
	Files []string
}

// Name returns what a person types to confirm dropping u's database: the
// database name on a server, the file name on SQLite.
func Name(u *dbconn.URL) string {
	if u.Dialect == dialect.SQLite {
		return filepath.Base(u.Database)
	}
	return u.Database
}

// Drop removes the database u names completely: the SQLite file with its
// -wal and -shm, or DROP DATABASE on a server. It refuses, dropping
// nothing, unless the drop is confirmed (Yes, or the database's name typed
// at a terminal), and it refuses a database marked as production unless
// ForceProduction is set. A system database of the server (mysql, sys,
// performance_schema, information_schema; postgres, template0, template1)
// is refused with a *dbconn.SystemDatabaseError before anything connects,
// whatever the options. A database that does not exist is not an error:
// the result says Existed false.
func Drop(ctx context.Context, u *dbconn.URL, opts DropOptions) (*DropResult, error) {
	if u == nil {
		return nil, errors.New("dropping the database: no database URL")
	}
	// A system database is refused from its name alone, before any
	// connection, whatever the flags.
	if err := u.RefuseSystem("drop"); err != nil {
		return nil, err
	}
	res := &DropResult{Database: u.Redacted()}
	if u.Dialect == dialect.SQLite && u.Memory {
		return nil, fmt.Errorf("dropping %s: an in-memory database disappears by itself; there is nothing to drop", u.Redacted())
	}
	exists, err := dbconn.Exists(ctx, u)
	if err != nil {
		return nil, err
	}
	if !exists {
		return res, nil
	}
	res.Existed = true

	// Opening also refuses what is not an SQLite database (a directory, a
	// symbolic link, another kind of file) before anything is removed.
	db, err := dbconn.Open(ctx, u)
	if err != nil {
		return nil, err
	}
	env, err := envmark.Read(ctx, db, u.Dialect)
	db.Close()
	if err != nil {
		return nil, fmt.Errorf("dropping %s: %w", u.Redacted(), err)
	}
	res.Env = env
	if envmark.IsProduction(env) && !opts.ForceProduction {
		return nil, &ProductionError{Database: u.Redacted(), Env: env}
	}

	if err := confirm(u, opts); err != nil {
		return nil, err
	}

	if u.Dialect == dialect.SQLite {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			if _, err := os.Lstat(u.Database + suffix); err == nil {
				res.Files = append(res.Files, u.Database+suffix)
			}
		}
	}
	dropped, err := dbconn.DropDatabase(ctx, u)
	if err != nil {
		return nil, err
	}
	res.Dropped = dropped
	return res, nil
}

// confirm returns nil when the drop of u is confirmed: by opts.Yes, or by
// the database's name typed at a terminal.
func confirm(u *dbconn.URL, opts DropOptions) error {
	if opts.Yes {
		return nil
	}
	name := Name(u)
	if !opts.IsTerminal || opts.Confirm == nil {
		return notConfirmed(fmt.Sprintf("refusing to drop %s without confirmation: not on a terminal; pass --yes to drop it", u.Redacted()))
	}
	prompt := fmt.Sprintf("This removes %s and every row in it. Type the database name (%s) to confirm: ", u.Redacted(), name)
	answer, err := opts.Confirm(prompt)
	if err != nil {
		return fmt.Errorf("dropping %s: reading the confirmation: %w", u.Redacted(), err)
	}
	if a := strings.TrimSpace(answer); a != name && !(u.Dialect == dialect.SQLite && a == u.Database) {
		return notConfirmed(fmt.Sprintf("not dropping %s: the answer was not %q", u.Redacted(), name))
	}
	return nil
}
