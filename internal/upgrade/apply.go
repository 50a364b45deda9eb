package upgrade

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/lockwait"
	"github.com/weber-framework/weber/internal/revstore"
)

// applier runs files on one pinned connection.
type applier struct {
	conn *sql.Conn
	// db is the pool conn came from: for reading who blocks conn while it
	// waits, and for recording the outcome of a file run as written when
	// its own connection was lost.
	db    *sql.DB
	store *revstore.Store
	dia   string
	log   *slog.Logger
	opts  *Options
	// session is conn's server session id (0 on SQLite).
	session int64
}

// apply runs the statements of s from s.from on, in one transaction or
// statement by statement.
func (a *applier) apply(ctx context.Context, s *step, tx bool) error {
	r := s.rev
	if r == nil {
		r = &revstore.Revision{Version: s.file.Version, Description: s.file.Description, Type: revstore.TypeExecute}
	}
	r.Description = s.file.Description
	r.Total = len(s.file.Stmts)
	r.OperatorVersion = a.opts.Operator
	if r.Type == 0 {
		r.Type = revstore.TypeExecute
	}
	if s.from > r.Applied { // an unconfirmed statement marked applied
		r.Applied = s.from
	}
	if s.file.Go != "" {
		return a.runGo(ctx, s, r)
	}
	if tx {
		return a.withRetry(ctx, s, r, true, func() error { return a.applyTx(ctx, s, r) })
	}
	if err := a.opts.DDL.Apply(ctx, a.conn, a.dia, false, false); err != nil {
		return fmt.Errorf("applying %s: setting the lock wait: %w", s.file.Name, err)
	}
	defer func() { _ = lockwait.Reset(context.WithoutCancel(ctx), a.conn, a.dia) }()
	return a.withRetry(ctx, s, r, false, func() error { return a.applyEach(ctx, s, r) })
}

// applyTx runs the file in one transaction and writes its revision through
// it. On SQLite, foreign keys are switched off before BEGIN (so that a table
// rebuild does not cascade deletes into child rows) and checked with
// foreign_key_check before COMMIT.
func (a *applier) applyTx(ctx context.Context, s *step, r *revstore.Revision) (err error) {
	start := time.Now()
	f := s.file
	if a.dia == dialect.SQLite {
		var on int
		if err := a.conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil {
			return fmt.Errorf("applying %s: reading PRAGMA foreign_keys: %w", f.Name, err)
		}
		if on == 1 {
			if _, err := a.conn.ExecContext(ctx, "PRAGMA foreign_keys = off"); err != nil {
				return fmt.Errorf("applying %s: PRAGMA foreign_keys = off: %w", f.Name, err)
			}
			defer func() {
				if _, err2 := a.conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = on"); err2 != nil && err == nil {
					err = fmt.Errorf("applying %s: restoring PRAGMA foreign_keys = on: %w", f.Name, err2)
				}
			}()
			return a.runTx(ctx, s, r, start, true)
		}
	}
	return a.runTx(ctx, s, r, start, false)
}

func (a *applier) runTx(ctx context.Context, s *step, r *revstore.Revision, start time.Time, fkCheck bool) error {
	f := s.file
	tx, err := a.conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("applying %s: starting its transaction: %w", f.Name, err)
	}
	rollback := func() { _ = tx.Rollback() }
	if err := a.opts.DDL.Apply(ctx, tx, a.dia, true, false); err != nil {
		rollback()
		return fmt.Errorf("applying %s: setting the lock wait: %w", f.Name, err)
	}
	if a.dia == dialect.Postgres {
		// Through a transaction-pooling PgBouncer the transaction may run on
		// another server session than the one a.session was read on: name
		// the blockers of the session that runs the file.
		if id, err := lockwait.SessionID(ctx, tx, a.dia); err == nil {
			a.session = id
		}
	}
	var before map[string]bool
	if fkCheck {
		if before, err = violations(ctx, tx); err != nil {
			rollback()
			return fmt.Errorf("applying %s: %w", f.Name, err)
		}
	}
	for i := s.from; i < len(f.Stmts); i++ {
		stmt := f.Stmts[i]
		if err := a.exec(ctx, tx, true, i, stmt.Line, stmt.Text); err != nil {
			rollback()
			if _, ok := err.(*lockTimedOut); ok {
				return err
			}
			return &StatementError{File: f.Name, Version: f.Version, Stmt: i + 1, Line: stmt.Line, Total: len(f.Stmts),
				SQL: stmt.Text, Transactional: true, Applied: s.from, Err: err}
		}
	}
	if fkCheck {
		after, err := violations(ctx, tx)
		if err != nil {
			rollback()
			return fmt.Errorf("applying %s: %w", f.Name, err)
		}
		var added []string
		for v := range after {
			if !before[v] {
				added = append(added, v)
			}
		}
		if len(added) > 0 {
			rollback()
			return refuse(KindForeignKeys, f.Name,
				"applying %s: it leaves %d row(s) violating foreign keys (first: %s); the file's transaction was rolled back and nothing of it persists: fix the migration (copy every referenced row before rebuilding a table) and run `weberctl db hash`",
				f.Name, len(added), firstSorted(added))
		}
	}
	r.Applied = len(f.Stmts)
	r.PartialHashes = nil
	r.Error, r.ErrorStmt = "", ""
	r.Hash = f.Hash
	r.ExecutedAt = start
	r.ExecutionTime += time.Since(start)
	if err := a.store.Write(ctx, tx, r); err != nil {
		rollback()
		return fmt.Errorf("applying %s: %w; the file's transaction was rolled back", f.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("applying %s: committing: %w; nothing of the file persists", f.Name, err)
	}
	return nil
}

// violations returns SQLite's foreign key violations as a set of
// "table rowid N references parent" strings.
func violations(ctx context.Context, tx *sql.Tx) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return nil, fmt.Errorf("PRAGMA foreign_key_check: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var (
			table, parent string
			rowid         sql.NullInt64
			fkid          int
		)
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return nil, fmt.Errorf("PRAGMA foreign_key_check: %w", err)
		}
		out[fmt.Sprintf("table %s rowid %d references %s", table, rowid.Int64, parent)] = true
	}
	return out, rows.Err()
}

func firstSorted(s []string) string {
	min := s[0]
	for _, v := range s[1:] {
		if v < min {
			min = v
		}
	}
	return min
}

// applyEach runs the statements one by one outside a transaction, updating
// the revision before each statement (marking it started) and after it
// (applied k of n, running statement hashes, or the error). A later run
// that finds the started mark knows the process stopped between a
// statement and its record, and names that statement instead of guessing.
func (a *applier) applyEach(ctx context.Context, s *step, r *revstore.Revision) error {
	f := s.file
	if f.AsWritten {
		return a.applyAsWritten(ctx, s, r)
	}
	start := time.Now()
	ph := f.PartialHashes()
	// Writes that record an outcome must happen even when ctx is cancelled
	// (SIGINT after the statement ran).
	wctx := context.WithoutCancel(ctx)
	write := func(c context.Context) error {
		r.ExecutedAt = start
		if err := a.store.Write(c, a.conn, r); err != nil {
			return fmt.Errorf("applying %s: recording progress (applied %d of %d): %w", f.Name, r.Applied, r.Total, err)
		}
		return nil
	}
	// done records statement i as applied.
	done := func(i int) error {
		r.Applied = i + 1
		r.PartialHashes = ph[:r.Applied]
		r.Error, r.ErrorStmt = "", ""
		return write(wctx)
	}
	r.Hash = f.Hash
	r.PartialHashes = ph[:r.Applied]
	for i := r.Applied; i < len(f.Stmts); i++ {
		stmt := f.Stmts[i]
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("applying %s: stopped before statement %d (applied %d of %d, recorded): %w", f.Name, i+1, r.Applied, r.Total, err)
		}
		if stmt.Batch != nil {
			if err := a.runBatched(ctx, s, r, i); err != nil {
				return err
			}
			if err := done(i); err != nil {
				return err
			}
			continue
		}
		r.Error, r.ErrorStmt = startedMarker, stmt.Text
		if err := write(ctx); err != nil {
			return err
		}
		stepStart := time.Now()
		dropped, err := a.dropInvalidIndex(ctx, stmt.Text)
		if err != nil {
			return fmt.Errorf("applying %s, statement %d (line %d): %w", f.Name, i+1, stmt.Line, err)
		}
		if dropped != "" {
			s.rebuilt = append(s.rebuilt, dropped)
		}
		err = a.exec(ctx, a.conn, false, i, stmt.Line, stmt.Text)
		if lt, ok := err.(*lockTimedOut); ok {
			// The statement never got its lock, so it did not run.
			r.Error, r.ErrorStmt = "", ""
			if werr := write(wctx); werr != nil {
				return werr
			}
			return lt
		}
		if err == nil && a.opts.fault != nil {
			if ferr := a.opts.fault(f, i); ferr != nil {
				return ferr // as if the process died here: nothing more is recorded
			}
		}
		r.ExecutionTime += time.Since(stepStart)
		if err != nil && ctx.Err() != nil {
			// Interrupted while the statement ran: the server may have
			// completed it. Leave the started mark, so that the next run
			// names the statement instead of guessing.
			if _, ok := concurrentIndexName(stmt.Text); ok && a.dia == dialect.Postgres {
				return fmt.Errorf("applying %s: interrupted during statement %d (line %d), a concurrent index build (applied %d of %d, recorded); if it left an INVALID index, the next upgrade drops it and builds it again: %w",
					f.Name, i+1, stmt.Line, r.Applied, r.Total, ctx.Err())
			}
			return fmt.Errorf("applying %s: interrupted during statement %d (line %d); its outcome is unknown and recorded as such (applied %d of %d): the next upgrade will ask whether it ran: %w",
				f.Name, i+1, stmt.Line, r.Applied, r.Total, ctx.Err())
		}
		if err != nil {
			r.Error = fmt.Sprintf("statement %d (line %d): %s", i+1, stmt.Line, errtext.OneLine(err))
			r.ErrorStmt = stmt.Text
			serr := &StatementError{File: f.Name, Version: f.Version, Stmt: i + 1, Line: stmt.Line, Total: len(f.Stmts),
				SQL: stmt.Text, Applied: r.Applied, Leftover: a.leftover(stmt.Text), Err: err}
			if werr := write(wctx); werr != nil {
				return fmt.Errorf("%s; and %v", serr.Error(), werr)
			}
			return serr
		}
		if err := done(i); err != nil {
			return err
		}
	}
	r.PartialHashes = nil
	r.Error, r.ErrorStmt = "", ""
	return write(wctx)
}
