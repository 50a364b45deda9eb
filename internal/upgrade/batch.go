package upgrade

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"

	"github.com/weber-framework/weber/internal/lockwait"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
)

// BatchEvent reports one committed batch of a `-- weber:batch` statement.
type BatchEvent struct {
	// File is the migration file; Stmt the 1-based statement.
	File string
	Stmt int
	// Through is the last key value done; Last the highest key to do.
	Through, Last int64
	// Rows counts the rows changed so far by this run; Batches the
	// batches committed by this run.
	Rows, Batches int64
	// Go names the data migration of a `-- weber:go` file (Stmt and Last
	// are then 0: a Go migration's end is known only when it reaches it);
	// Done reports its last batch.
	Go   string
	Done bool
}

// batchMarker starts the revision's error while a batched statement is in
// progress; the key done through follows it. It is not a failure: the next
// upgrade resumes after that key.
const batchMarker = "weber: batched statement in progress, done through key "

// batchProgress reads the key a batched statement is done through from the
// revision, if it is in progress.
func batchProgress(r *revstore.Revision) (int64, bool) {
	rest, ok := strings.CutPrefix(r.Error, batchMarker)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil
}

// runBatched runs a `-- weber:batch` statement range by range over its
// table's key, from the range after the recorded progress to the highest
// key there is when it starts. Each range runs in its own transaction with
// the revision's progress written through it, so a batch and its record
// commit together: after kill -9 the next run starts exactly after the
// last committed batch, and no batch runs twice.
func (a *applier) runBatched(ctx context.Context, s *step, r *revstore.Revision, i int) error {
	f, st := s.file, s.file.Stmts[i]
	b := st.Batch
	lo, hi, err := keyBounds(ctx, a.conn, a.dia, b)
	if err != nil {
		return fmt.Errorf("applying %s, statement %d (line %d): %w", f.Name, i+1, st.Line, err)
	}
	if done, ok := batchProgress(r); ok && r.ErrorStmt == st.Text {
		lo = done + 1
	}
	var rows, batches int64
	for from := lo; from <= hi; {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("applying %s: stopped in batched statement %d (line %d) before key %d; the batches before it are committed and recorded, and the next upgrade resumes there: %w",
				f.Name, i+1, st.Line, from, err)
		}
		to := from + b.Size - 1
		if to < from { // overflow
			to = hi
		}
		n, err := a.oneBatch(ctx, f, r, i, from, min(to, hi))
		if err != nil {
			return err
		}
		rows, batches = rows+n, batches+1
		if a.opts.OnBatch != nil {
			a.opts.OnBatch(BatchEvent{File: f.Name, Stmt: i + 1, Through: min(to, hi), Last: hi, Rows: rows, Batches: batches})
		}
		if to >= hi {
			break
		}
		from = to + 1
	}
	return nil
}

// oneBatch runs the keys from..to in one transaction and records them.
func (a *applier) oneBatch(ctx context.Context, f *migdir.File, r *revstore.Revision, i int, from, to int64) (int64, error) {
	st := f.Stmts[i]
	start := time.Now()
	tx, err := a.conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("applying %s, statement %d: starting a batch: %w", f.Name, i+1, err)
	}
	res, err := tx.ExecContext(ctx, st.Batch.Range(from, to))
	if err != nil {
		_ = tx.Rollback()
		if lockwait.IsTimeout(err) {
			// Rows the application holds: this batch waits its turn (the
			// file is retried from the recorded progress).
			return 0, &lockTimedOut{stmt: i + 1, line: st.Line, err: err}
		}
		return 0, &StatementError{File: f.Name, Version: f.Version, Stmt: i + 1, Line: st.Line, Total: len(f.Stmts),
			SQL: st.Batch.Range(from, to), Applied: r.Applied, Err: fmt.Errorf("batch of keys %d-%d: %w", from, to, err)}
	}
	n, _ := res.RowsAffected()
	r.Error, r.ErrorStmt = batchMarker+strconv.FormatInt(to, 10), st.Text
	r.ExecutionTime += time.Since(start)
	if err := a.store.Write(ctx, tx, r); err != nil {
		_ = tx.Rollback()
		return 0, fmt.Errorf("applying %s, statement %d: recording a batch: %w", f.Name, i+1, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("applying %s, statement %d: committing the batch of keys %d-%d (it did not persist): %w", f.Name, i+1, from, to, err)
	}
	return n, nil
}

// keyBounds reads the lowest and highest key of the batch's table. An empty
// table gives lo > hi: nothing to do.
func keyBounds(ctx context.Context, q *sql.Conn, dia string, b *migdir.Batch) (lo, hi int64, err error) {
	quote := func(s string) string { return dbconn.QuoteIdent(dia, s) }
	var mn, mx sql.NullInt64
	query := fmt.Sprintf("SELECT MIN(%s), MAX(%s) FROM %s", quote(b.Key), quote(b.Key), quote(b.Table))
	if err := q.QueryRowContext(ctx, query).Scan(&mn, &mx); err != nil {
		return 0, 0, fmt.Errorf("reading the range of %s.%s for its batches: %w", b.Table, b.Key, err)
	}
	if !mn.Valid {
		return 1, 0, nil
	}
	return mn.Int64, mx.Int64, nil
}
