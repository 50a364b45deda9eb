package upgrade

import (
	"context"
	"errors"
	"fmt"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
)

// asWritten runs a file marked `-- weber:as-written` exactly as written, on
// the pinned connection, with no transaction of Weber's: the file's own
// BEGIN ... COMMIT decide what commits together. Progress is recorded
// (through the same connection) only where it cannot be held back or undone
// by the file's transaction: after each statement that runs while the file
// has no transaction open, and after each COMMIT or ROLLBACK. When a
// statement fails inside the file's transaction, the transaction is rolled
// back and the record stays at the statement before its BEGIN, which is
// where the next upgrade resumes. On MySQL a statement that commits
// implicitly (DDL) ends the file's transaction before it runs: Weber
// commits it explicitly there (so that a DDL statement that fails to parse,
// which MySQL would not commit before, leaves no doubt) and the record moves
// there.
type asWritten struct {
	a     *applier
	s     *step
	r     *revstore.Revision
	ph    []string
	start time.Time
	open  int // index of the BEGIN of the file's open transaction, -1 if none
}

// applyAsWritten runs s as written (see asWritten).
func (a *applier) applyAsWritten(ctx context.Context, s *step, r *revstore.Revision) error {
	w := &asWritten{a: a, s: s, r: r, ph: s.file.PartialHashes(), start: time.Now(), open: -1}
	f := s.file
	wctx := context.WithoutCancel(ctx)
	r.Hash = f.Hash
	r.PartialHashes = w.ph[:r.Applied]
	// Never hand the connection back with the file's transaction open (as
	// when the process "dies" in a test's fault hook, the database would
	// roll it back).
	defer func() {
		if w.open >= 0 {
			_, _ = a.conn.ExecContext(wctx, "ROLLBACK")
		}
	}()
	for i := r.Applied; i < len(f.Stmts); i++ {
		stmt := f.Stmts[i]
		if err := w.commitBeforeDDL(ctx, i); err != nil {
			return err
		}
		if w.open < 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("applying %s: stopped before statement %d (applied %d of %d, recorded): %w", f.Name, i+1, r.Applied, r.Total, err)
			}
			r.Error, r.ErrorStmt = startedMarker, stmt.Text
			if err := w.write(ctx); err != nil {
				return err
			}
		}
		stepStart := time.Now()
		err := a.exec(ctx, a.conn, false, i, stmt.Line, stmt.Text)
		if err == nil && a.opts.fault != nil {
			if ferr := a.opts.fault(f, i); ferr != nil {
				return ferr
			}
		}
		r.ExecutionTime += time.Since(stepStart)
		if err != nil {
			return w.failed(ctx, i, err)
		}
		switch stmt.TxControl {
		case migdir.TxBegin:
			w.open = i
		case migdir.TxCommit, migdir.TxRollback:
			w.open = -1
		}
		if w.open < 0 {
			if err := w.checkpoint(wctx, i+1); err != nil {
				return err
			}
		}
	}
	r.PartialHashes = nil
	r.Error, r.ErrorStmt = "", ""
	return w.write(wctx)
}

// commitBeforeDDL ends the file's open transaction before statement i on
// MySQL when i commits implicitly (DDL). MySQL would commit there itself,
// unless the statement does not even parse: committing explicitly lets the
// record say for certain what persists.
func (w *asWritten) commitBeforeDDL(ctx context.Context, i int) error {
	stmt := w.s.file.Stmts[i]
	if w.open < 0 || w.a.dia != dialect.MySQL || stmt.TxControl != "" || !migdir.CommitsImplicitly(stmt.Text) {
		return nil
	}
	if _, err := w.a.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return w.failed(ctx, i, fmt.Errorf("committing the file's transaction before this statement, as MySQL does before DDL: %w", err))
	}
	w.open = -1
	return w.checkpoint(context.WithoutCancel(ctx), i)
}

// checkpoint records that the first n statements ran and persist.
func (w *asWritten) checkpoint(ctx context.Context, n int) error {
	w.r.Applied = n
	w.r.PartialHashes = w.ph[:n]
	w.r.Error, w.r.ErrorStmt = "", ""
	return w.write(ctx)
}

// write stores the revision through the pinned connection; it is called
// only while the file has no transaction open.
func (w *asWritten) write(ctx context.Context) error {
	w.r.ExecutedAt = w.start
	if err := w.a.store.Write(ctx, w.a.conn, w.r); err != nil {
		return fmt.Errorf("applying %s: recording progress (applied %d of %d): %w", w.s.file.Name, w.r.Applied, w.r.Total, err)
	}
	return nil
}

// failed handles statement i's error: it rolls back the file's open
// transaction, if any, and records the failure at the last checkpoint.
func (w *asWritten) failed(ctx context.Context, i int, err error) error {
	f, r := w.s.file, w.r
	stmt := f.Stmts[i]
	wctx := context.WithoutCancel(ctx)
	serr := &StatementError{File: f.Name, Version: f.Version, Stmt: i + 1, Line: stmt.Line, Total: len(f.Stmts),
		SQL: stmt.Text, Applied: r.Applied, Err: err}
	lost := false
	if w.open >= 0 {
		// If ROLLBACK fails, the connection is gone (the driver drops it
		// when the run is interrupted): a transaction whose session ended
		// without COMMIT is rolled back by the database.
		if _, rerr := w.a.conn.ExecContext(wctx, "ROLLBACK"); rerr != nil {
			lost = true
			w.a.log.Warn("the file's own transaction ended with its connection", "file", f.Name, "err", rerr)
		}
		serr.OwnTx, serr.OwnTxLine = w.open+1, f.Stmts[w.open].Line
		w.open = -1
	} else if ctx.Err() != nil {
		// Interrupted while a statement ran outside any transaction: the
		// server may have completed it. Leave the started mark.
		return fmt.Errorf("applying %s: interrupted during statement %d (line %d); its outcome is unknown and recorded as such (applied %d of %d): the next upgrade will ask whether it ran: %w",
			f.Name, i+1, stmt.Line, r.Applied, r.Total, ctx.Err())
	}
	r.PartialHashes = w.ph[:r.Applied]
	r.Error = fmt.Sprintf("statement %d (line %d): %s", i+1, stmt.Line, errtext.OneLine(err))
	r.ErrorStmt = stmt.Text
	var lt *lockTimedOut
	if errors.As(err, &lt) {
		// Not a failure: the statement gave up waiting for a lock and the
		// file is tried again from the last checkpoint.
		r.Error, r.ErrorStmt = "", ""
	}
	write := w.write
	if lost {
		write = w.writeThroughPool
	}
	if werr := write(wctx); werr != nil {
		return fmt.Errorf("%s; and %v", serr.Error(), werr)
	}
	if lt != nil {
		return lt
	}
	return serr
}

// writeThroughPool stores the revision through a new connection of the
// pool, for when the pinned one was lost. The migration lock is held on a
// connection (or file) of its own, so it still covers the write.
func (w *asWritten) writeThroughPool(ctx context.Context) error {
	if w.a.db == nil {
		return fmt.Errorf("applying %s: its connection was lost and there is no other to record the failure through", w.s.file.Name)
	}
	conn, err := w.a.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("applying %s: recording the failure on a new connection: %w", w.s.file.Name, err)
	}
	defer conn.Close()
	w.r.ExecutedAt = w.start
	if err := w.a.store.Write(ctx, conn, w.r); err != nil {
		return fmt.Errorf("applying %s: recording progress (applied %d of %d): %w", w.s.file.Name, w.r.Applied, w.r.Total, err)
	}
	return nil
}
