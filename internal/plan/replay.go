package plan

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/mysql"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/sqlite"

	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/migdir"
)

// ReplayError reports the statement of a history file that failed on the
// dev database.
type ReplayError struct {
	File      string // the file's name, e.g. 20261127010203_initial.sql
	Statement int    // 1-based index of the statement in the file
	Line      int    // 1-based line where the statement starts
	SQL       string // the statement
	Err       error  // the database's error
}

// Error names the file, the statement and its line.
func (e *ReplayError) Error() string {
	return fmt.Sprintf("replaying %s, statement %d (line %d) on the dev database: %s: fix the file (and its atlas.sum) or the dev database",
		e.File, e.Statement, e.Line, errtext.OneLine(e.Err))
}

// Unwrap returns the database's error.
func (e *ReplayError) Unwrap() error { return e.Err }

// scanner returns the dialect's statement splitter, the one Atlas's
// executor uses for that driver.
func scanner(dia string) (func(string) ([]*migrate.Stmt, error), error) {
	folder, err := folderName(dia)
	if err != nil {
		return nil, err
	}
	switch folder {
	case SQLite:
		return (&sqlite.Driver{}).ScanStmts, nil
	case Postgres:
		return (&postgres.Driver{}).ScanStmts, nil
	}
	return (&mysql.Driver{}).ScanStmts, nil
}

// SplitFile splits a migration file into its statements with the dialect's
// scanner, the way Atlas's executor does.
func SplitFile(dia string, f migrate.File) ([]*migrate.Stmt, error) {
	scan, err := scanner(dia)
	if err != nil {
		return nil, err
	}
	if _, ok := f.(*migrate.LocalFile); !ok {
		return f.StmtDecls()
	}
	stmts, err := scan(string(f.Bytes()))
	if err != nil {
		return nil, wrapf("splitting "+f.Name()+" into statements", err)
	}
	return stmts, nil
}

// Replay executes the statements of files, in order, on db, stopping after
// the file whose version is upTo ("" replays all). Each file is read and
// split once, so the work grows linearly with the history; nothing is
// recorded in a revision table. It is meant for dev databases, which hold
// no data: on SQLite and PostgreSQL the whole replay runs in one
// transaction (a file marked `-- atlas:txmode none` or `-- weber:as-written`
// runs outside it), and on
// SQLite foreign keys are not enforced while it runs. It returns how many
// files ran.
func Replay(ctx context.Context, db *sql.DB, dia string, files []migrate.File, upTo string) (int, error) {
	return replay(ctx, db, dia, files, upTo, nil)
}

// replayObserver watches a replay statement by statement (LintFiles uses
// it to see the schema change each statement makes). Its calls run on the
// replay's pinned connection, inside the replay's transaction.
type replayObserver interface {
	// fileStart is called before f's statements run; unless it returns
	// watch, the file's statements run unobserved.
	fileStart(ctx context.Context, conn *sql.Conn, f migrate.File, stmts []*migrate.Stmt) (watch bool, err error)
	// beforeStmt is called before statement i of a watched file runs.
	beforeStmt(ctx context.Context, conn *sql.Conn, i int) error
	// afterStmt is called after statement i of a watched file ran.
	afterStmt(ctx context.Context, conn *sql.Conn, i int) error
	// fileEnd is called after the last statement of a watched file ran.
	fileEnd(ctx context.Context, conn *sql.Conn) error
}

// replay is Replay with an optional observer.
func replay(ctx context.Context, db *sql.DB, dia string, files []migrate.File, upTo string, obs replayObserver) (int, error) {
	folder, err := folderName(dia)
	if err != nil {
		return 0, err
	}
	scan, err := scanner(folder)
	if err != nil {
		return 0, err
	}
	if upTo != "" && !slices.ContainsFunc(files, func(f migrate.File) bool { return f.Version() == upTo }) {
		return 0, fmt.Errorf("replaying up to version %s: no file has that version: pick one of the history's versions", upTo)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, wrapf("replaying: opening a connection to the dev database", err)
	}
	defer conn.Close()
	r := &replayer{conn: conn, tx: folder != MySQL}
	if folder == SQLite {
		if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = off"); err != nil {
			return 0, wrapf("replaying: turning foreign keys off on the dev database", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = on")
	}
	defer r.rollback(ctx)
	n := 0
	for _, f := range files {
		if err := r.file(ctx, f, scan, obs); err != nil {
			return n, err
		}
		n++
		if upTo != "" && f.Version() == upTo {
			break
		}
	}
	if err := r.want(ctx, false); err != nil {
		return n, wrapf("replaying: committing on the dev database", err)
	}
	return n, nil
}

// file runs the statements of f on r's connection, inside the replay's
// transaction or, for a file run as written, outside it; obs, when it
// watches the file, hears of each statement.
func (r *replayer) file(ctx context.Context, f migrate.File, scan func(string) ([]*migrate.Stmt, error), obs replayObserver) error {
	if err := ctx.Err(); err != nil {
		return wrapf("replaying "+f.Name(), err)
	}
	var stmts []*migrate.Stmt
	var err error
	lf, local := f.(*migrate.LocalFile)
	if local {
		stmts, err = scan(string(f.Bytes()))
	} else {
		stmts, err = f.StmtDecls()
	}
	if err != nil {
		return wrapf("replaying "+f.Name()+": splitting it into statements", err)
	}
	// A file run as written controls its own transactions: it runs
	// outside the replay's, statement by statement, as upgrade runs it.
	outside := local && (slices.Contains(lf.Directive("txmode"), "none") || migdir.RunsAsWritten(lf.Bytes()))
	if err := r.want(ctx, !outside); err != nil {
		return wrapf("replaying "+f.Name(), err)
	}
	watch := false
	if obs != nil {
		if watch, err = obs.fileStart(ctx, r.conn, f, stmts); err != nil {
			return err
		}
	}
	body := string(f.Bytes())
	for i, s := range stmts {
		if watch {
			if err := obs.beforeStmt(ctx, r.conn, i); err != nil {
				return err
			}
		}
		if _, err := r.conn.ExecContext(ctx, s.Text); err != nil {
			return &ReplayError{File: f.Name(), Statement: i + 1, Line: lineAt(body, s.Pos), SQL: s.Text, Err: err}
		}
		if watch {
			if err := obs.afterStmt(ctx, r.conn, i); err != nil {
				return err
			}
		}
	}
	if watch {
		return obs.fileEnd(ctx, r.conn)
	}
	return nil
}

// replayer opens and commits the replay's transaction on a pinned
// connection.
type replayer struct {
	conn *sql.Conn
	tx   bool // the dialect runs DDL in transactions
	open bool
}

// want opens (in) or commits (!in) the transaction as needed.
func (r *replayer) want(ctx context.Context, in bool) error {
	switch {
	case !r.tx || in == r.open:
		return nil
	case in:
		if _, err := r.conn.ExecContext(ctx, "BEGIN"); err != nil {
			return err
		}
	default:
		if _, err := r.conn.ExecContext(ctx, "COMMIT"); err != nil {
			return err
		}
	}
	r.open = in
	return nil
}

func (r *replayer) rollback(ctx context.Context) {
	if r.open {
		_, _ = r.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		r.open = false
	}
}

// lineAt returns the 1-based line of the byte offset pos in s.
func lineAt(s string, pos int) int {
	if pos > len(s) {
		pos = len(s)
	}
	if pos < 0 {
		pos = 0
	}
	return strings.Count(s[:pos], "\n") + 1
}
