package dbconn

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"entgo.io/ent/dialect"
)

// ErrNotSQLite is returned when a path that should hold an SQLite database
// holds something else.
var ErrNotSQLite = errors.New("not an SQLite database")

// Exists reports whether the database exists.
func Exists(ctx context.Context, u *URL) (bool, error) {
	switch u.Dialect {
	case dialect.SQLite:
		if u.Memory {
			return false, nil
		}
		_, err := os.Lstat(u.Database)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, u.wrap("checking", err)
	}
	db, err := OpenServer(ctx, u)
	if err != nil {
		return false, err
	}
	defer db.Close()
	return u.existsOn(ctx, db)
}

func (u *URL) existsOn(ctx context.Context, db *sql.DB) (bool, error) {
	var q string
	switch u.Dialect {
	case dialect.Postgres:
		q = "SELECT COUNT(*) FROM pg_database WHERE datname = $1"
	case dialect.MySQL:
		q = "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?"
	}
	var n int
	if err := db.QueryRowContext(ctx, q, u.Database).Scan(&n); err != nil {
		return false, u.wrap("looking up the database in", err)
	}
	return n > 0, nil
}

// TableExists reports whether the current schema of the database q is
// connected to (the database itself on MySQL) has a table named name. q is
// a *sql.DB, *sql.Conn or *sql.Tx; dia is ent's dialect name.
func TableExists(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, dia, name string) (bool, error) {
	query := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	switch dia {
	case dialect.MySQL:
		query = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	case dialect.Postgres:
		query = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
	}
	rows, err := q.QueryContext(ctx, query, name)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var n int
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return false, err
		}
	}
	return n > 0, rows.Err()
}

// EnsureDatabase creates the database unless it exists, and reports whether
// it did. Two processes calling it at once both succeed, and neither drops
// anything. For SQLite it creates the file's folder and the file. It
// refuses a system database (RefuseSystem) before connecting.
func EnsureDatabase(ctx context.Context, u *URL) (created bool, err error) {
	if err := u.RefuseSystem("ensure"); err != nil {
		return false, err
	}
	switch u.Dialect {
	case dialect.SQLite:
		if u.Memory {
			return false, nil
		}
		if _, err := os.Lstat(u.Database); err == nil {
			return false, nil
		}
		if err := os.MkdirAll(filepath.Dir(u.Database), 0o755); err != nil {
			return false, u.wrap("creating the folder of", err)
		}
		return CreateSQLiteFile(u)
	}
	db, err := OpenServer(ctx, u)
	if err != nil {
		return false, err
	}
	defer db.Close()
	exists, err := u.existsOn(ctx, db)
	if err != nil || exists {
		return false, err
	}
	stmt := "CREATE DATABASE " + QuoteIdent(u.Dialect, u.Database)
	if u.Dialect == dialect.MySQL {
		stmt += " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
	}
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		// A concurrent creator may have won between the check and the create.
		if ok, _ := u.existsOn(ctx, db); ok {
			return false, nil
		}
		return false, u.wrap("creating", err)
	}
	return true, nil
}

// ErrNoFolder is wrapped by CreateSQLiteFile's error when the folder that
// should hold the file does not exist.
var ErrNoFolder = errors.New("the database's folder does not exist")

// CreateSQLiteFile creates the empty SQLite file u names, in a folder that
// must exist, and reports whether it did (false: the file exists). It never
// creates a folder: a missing one is an error wrapping ErrNoFolder, so that
// a mistyped path cannot quietly become a new database. Two processes
// calling it at once both succeed.
func CreateSQLiteFile(u *URL) (created bool, err error) {
	if u.Dialect != dialect.SQLite || u.Memory {
		return false, fmt.Errorf("creating %s: not an SQLite file URL", u.Redacted())
	}
	if _, err := os.Lstat(u.Database); err == nil {
		return false, nil
	}
	if err := CheckSQLiteFolder(u); err != nil {
		return false, err
	}
	f, err := os.OpenFile(u.Database, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return false, nil // another process won the race
	}
	if err != nil {
		return false, u.wrap("creating", err)
	}
	return true, f.Close()
}

// CheckSQLiteFolder returns an error wrapping ErrNoFolder, naming the fix,
// when the folder that should hold u's SQLite file does not exist.
func CheckSQLiteFolder(u *URL) error {
	parent := filepath.Dir(u.Database)
	if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
		return &Error{msg: fmt.Sprintf("%s: the folder %s does not exist (a new SQLite file is created only in an existing folder): check the path in the URL, or create the folder first (mkdir -p %s)",
			u.Redacted(), parent, parent), err: ErrNoFolder}
	}
	return nil
}

// DropDatabase removes the database completely and reports whether there was
// one. SQLite: the file with its -wal, -shm and -journal companions; it
// refuses a directory, a symbolic link or a file that is not SQLite.
// Servers: DROP DATABASE through the maintenance database, closing other
// sessions on PostgreSQL. Only the database the URL names is touched, and
// never a system database (RefuseSystem), whatever the caller asked.
func DropDatabase(ctx context.Context, u *URL) (dropped bool, err error) {
	if err := u.RefuseSystem("drop"); err != nil {
		return false, err
	}
	switch u.Dialect {
	case dialect.SQLite:
		if u.Memory {
			return false, nil
		}
		if err := checkSQLiteFile(u.Database); err != nil {
			return false, u.wrap("refusing to drop", err)
		}
		if _, err := os.Lstat(u.Database); errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		for _, suffix := range []string{"-wal", "-shm", "-journal", ""} {
			if err := os.Remove(u.Database + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, u.wrap("dropping", err)
			}
		}
		return true, nil
	}
	db, err := OpenServer(ctx, u)
	if err != nil {
		return false, err
	}
	defer db.Close()
	exists, err := u.existsOn(ctx, db)
	if err != nil || !exists {
		return false, err
	}
	stmt := "DROP DATABASE IF EXISTS " + QuoteIdent(u.Dialect, u.Database)
	if u.Dialect == dialect.Postgres {
		stmt += " WITH (FORCE)"
	}
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return false, u.wrap("dropping", err)
	}
	return true, nil
}

// checkSQLiteFile accepts a missing file, an empty file or an SQLite
// database, and refuses anything else: a directory, a link, another file.
// It reads the file's header, so it must not run while this process has the
// database open: closing any descriptor of a file drops every POSIX lock the
// process holds on it, SQLite's included. Open uses checkSQLitePath instead.
func checkSQLiteFile(path string) error {
	if err := checkSQLitePath(path); err != nil {
		return err
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Size() == 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 16)
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, []byte("SQLite format 3\x00")) {
		return notSQLite(path)
	}
	return nil
}

func notSQLite(path string) error { return &notSQLiteError{path: path} }

// notSQLiteError is ErrNotSQLite for one path. It says so once: wrapping
// the sentinel with %w would repeat its text ("is not an SQLite database
// (not an SQLite database)").
type notSQLiteError struct{ path string }

func (e *notSQLiteError) Error() string {
	return e.path + " is not an SQLite database: check the path in the URL"
}

func (e *notSQLiteError) Is(target error) bool { return target == ErrNotSQLite }

// checkSQLitePath refuses a directory, a symbolic link or a special file
// without opening anything.
func checkSQLitePath(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link: point the URL at the real file", path)
	case fi.IsDir():
		return fmt.Errorf("%s is a directory: the URL must name a database file", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}

// QuoteIdent quotes an identifier for the dialect.
func QuoteIdent(dia, name string) string {
	if dia == dialect.MySQL {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
