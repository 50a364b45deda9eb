package plan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/dialect"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/scratchdb"
)

// The dialects Weber keeps a history for, by folder name (dialect's
// values, as plain strings).
const (
	SQLite   = string(dialect.SQLite)
	Postgres = string(dialect.Postgres)
	MySQL    = string(dialect.MySQL)
)

// DevURLVariable names the environment variable that gives the dialect's
// dev server (app.ConfigFromEnv reads it into Config.DevURLs); "" for
// SQLite, which needs none.
func DevURLVariable(name string) string {
	d, _ := dialect.Parse(name)
	return d.DevURLVar()
}

// MissingDevURLError is returned when a kept dialect needs a dev server and
// none was given.
type MissingDevURLError struct {
	Dialect  string // folder name, e.g. "postgres"
	Variable string // the environment variable to set
}

// Error says which variable to set, or how to revise fewer dialects.
func (e *MissingDevURLError) Error() string {
	return fmt.Sprintf("no dev database for %s: set %s to a server where weberctl may create scratch databases "+
		"(e.g. %s; `scripts/services.sh up` starts local ones and `scripts/services.sh env` prints the variables), "+
		"or revise only some dialects with --dialect sqlite or WEBER_DIALECTS=sqlite to try a change "+
		"(a revision you commit needs every kept dialect written in one run, under one version: `weberctl db check` refuses folders that disagree)",
		e.Dialect, e.Variable, exampleURL(e.Dialect))
}

func exampleURL(d string) string {
	if d == MySQL {
		return "mysql://root:pass@127.0.0.1:3306/dev"
	}
	return "postgres://postgres:pass@127.0.0.1:5432/postgres"
}

// entDialect maps a dialect's name (a folder name, ent's own name or an
// alias) to ent's dialect name.
func entDialect(name string) (string, error) {
	d, err := dialect.Parse(name)
	if err != nil {
		return "", err
	}
	return d.Ent(), nil
}

// folderName maps a dialect's name (ent's name, a folder name or an alias)
// to the folder name.
func folderName(name string) (string, error) {
	d, err := dialect.Parse(name)
	if err != nil {
		return "", err
	}
	return d.Folder(), nil
}

// DevSetupFile returns the path of the dialect's dev setup file under the
// migrations root: root/dev/<folder>.sql, e.g. migrations/dev/postgres.sql.
// It sits beside the dialect folders, not in them, so the folders' own
// validation (atlas.sum, file names) never sees it.
func DevSetupFile(root, dialect string) string {
	folder, err := folderName(dialect)
	if err != nil {
		folder = dialect
	}
	return filepath.Join(root, "dev", folder+".sql")
}

// DevOptions configures OpenDev.
type DevOptions struct {
	// Dialect is sqlite, postgres or mysql (ent's names work too).
	Dialect string
	// URL names the dev server (PostgreSQL, MySQL); SQLite needs none.
	URL string
	// Root is the migrations root. When root/dev/<dialect>.sql exists (see
	// DevSetupFile), its statements run on the fresh database before
	// anything else; "" runs none.
	Root string
}

// Dev is an open, empty (or just set up) dev database.
type Dev struct {
	// DB is the database.
	DB *sql.DB
	// Notes says what opening did besides, one line each: the scratch
	// databases of dead processes it removed from the server, or could not.
	Notes []string

	cleanup func() error
}

// Close closes the database and removes it, even after cancellation.
func (d *Dev) Close() error { return d.cleanup() }

// OpenScratch opens an empty scratch database for the dialect (in memory
// for SQLite, created on the dev server otherwise), without a dev setup
// file, and returns it with a cleanup function that closes it and removes
// it. See OpenDev. (Package devdb is another thing: the development
// database the application runs on.)
func OpenScratch(ctx context.Context, dia, devURL string) (*sql.DB, func() error, error) {
	d, err := OpenDev(ctx, DevOptions{Dialect: dia, URL: devURL})
	if err != nil {
		return nil, nil, err
	}
	return d.DB, d.Close, nil
}

// OpenDev opens a new dev database for the dialect and runs the project's
// dev setup file on it. SQLite gets a private in-memory database and needs
// no URL. PostgreSQL and MySQL get a scratch database
// "weber_dev_o<random>" (internal/scratchdb), created on the server that
// URL names and dropped by Close even when ctx was cancelled; creating it
// first removes the scratch databases that processes killed before their
// clean-up left on that server (Dev.Notes). The database URL itself names
// is never touched.
func OpenDev(ctx context.Context, o DevOptions) (*Dev, error) {
	folder, err := folderName(o.Dialect)
	if err != nil {
		return nil, err
	}
	var d *Dev
	if folder == SQLite {
		d, err = openSQLiteDev(ctx)
	} else {
		d, err = openServerDev(ctx, folder, o.URL)
	}
	if err != nil {
		return nil, err
	}
	if o.Root != "" {
		if _, err := RunDevSetup(ctx, d.DB, folder, o.Root); err != nil {
			return nil, join(err, d.Close())
		}
	}
	return d, nil
}

func openSQLiteDev(ctx context.Context) (*Dev, error) {
	u, err := dbconn.Parse("sqlite://:memory:?_name=" + dbconn.RandomName("weber_dev_"))
	if err != nil {
		return nil, err
	}
	db, err := dbconn.Open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("opening the in-memory SQLite dev database: %w", err)
	}
	return &Dev{DB: db, cleanup: db.Close}, nil
}

func openServerDev(ctx context.Context, folder, devURL string) (*Dev, error) {
	if strings.TrimSpace(devURL) == "" {
		return nil, &MissingDevURLError{Dialect: folder, Variable: DevURLVariable(folder)}
	}
	server, err := dbconn.Parse(devURL)
	if err != nil {
		return nil, fmt.Errorf("dev database URL for %s (%s): %w", folder, DevURLVariable(folder), err)
	}
	if want, _ := entDialect(folder); server.Dialect != want {
		return nil, fmt.Errorf("dev database URL for %s (%s) is %s, a %s URL: give a %s:// URL",
			folder, DevURLVariable(folder), server.Redacted(), server.Dialect, folder)
	}
	scratch, err := scratchdb.Create(ctx, server, scratchdb.DevPrefix)
	if err != nil {
		return nil, fmt.Errorf("creating a scratch %s database for planning: %w", folder, err)
	}
	d := &Dev{Notes: ReapNotes(server, scratch.Removed, scratch.Kept)}
	db, err := dbconn.Open(ctx, scratch.URL)
	if err != nil {
		return nil, join(fmt.Errorf("opening the scratch %s database: %w", folder, err), scratch.Drop(ctx))
	}
	d.DB = db
	d.cleanup = func() error { return join(db.Close(), scratch.Drop(ctx)) }
	return d, nil
}

// ReapNotes renders what creating a scratch database on server removed
// (and could not remove), one line each.
func ReapNotes(server *dbconn.URL, removed, kept []string) []string {
	var out []string
	for _, n := range removed {
		out = append(out, fmt.Sprintf("removed the scratch database %s from %s: the weberctl that created it died before dropping it", n, server.Host()))
	}
	for _, k := range kept {
		out = append(out, fmt.Sprintf("could not remove a stale scratch database from %s (%s): drop it by hand", server.Host(), k))
	}
	return out
}

// DevSetupError reports a statement of the dev setup file that failed.
type DevSetupError struct {
	File      string // the setup file's path
	Statement int    // 1-based
	Line      int    // 1-based line where the statement starts
	Err       error  // the database's error
}

// Error names the file, the statement and what to do.
func (e *DevSetupError) Error() string {
	return fmt.Sprintf("preparing the dev database with %s, statement %d (line %d): %s: fix the file, or the dev server (e.g. install the extension it needs)",
		e.File, e.Statement, e.Line, errtext.OneLine(e.Err))
}

// Unwrap returns the database's error.
func (e *DevSetupError) Unwrap() error { return e.Err }

// RunDevSetup runs the statements of the dialect's dev setup file under
// the migrations root (DevSetupFile), when it exists, on db, a scratch
// database Weber just created; it returns the file's path, "" when there
// is none. A statement that fails is a *DevSetupError.
func RunDevSetup(ctx context.Context, db *sql.DB, dialect, root string) (string, error) {
	folder, err := folderName(dialect)
	if err != nil {
		return "", err
	}
	path := DevSetupFile(root, folder)
	body, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the dev setup file: %w", err)
	}
	scan, err := scanner(folder)
	if err != nil {
		return "", err
	}
	stmts, err := scan(string(body))
	if err != nil {
		return "", fmt.Errorf("splitting the dev setup file %s into statements: %w: fix the file", path, err)
	}
	for i, s := range stmts {
		if _, err := db.ExecContext(ctx, s.Text); err != nil {
			return "", &DevSetupError{File: path, Statement: i + 1, Line: lineAt(string(body), s.Pos), Err: err}
		}
	}
	return path, nil
}
