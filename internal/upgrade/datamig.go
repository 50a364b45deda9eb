package upgrade

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
)

// DefaultDataBatchSize is a DataMigration's batch size when it sets none.
const DefaultDataBatchSize = 1000

// DataMigration is a data migration written in Go: a file of the history
// with the `-- weber:go NAME` directive runs the DataMigration registered
// under NAME in Options.DataMigrations. Upgrade calls Batch again and
// again, each call in a transaction of its own in which the migration's
// progress (the key it is done through) is recorded in its revision, so a
// batch and its record commit together: after a crash (kill -9) the next
// upgrade resumes after the last committed batch.
type DataMigration struct {
	// BatchSize is the most rows one batch should change
	// (DataBatch.Size; 0 = DefaultDataBatchSize).
	BatchSize int
	// Batch changes the next rows after DataBatch.After, at most
	// DataBatch.Size of them, through DataBatch.Driver, and returns the key
	// it is done through. It must be idempotent over a batch (a batch that
	// did not commit runs again) and must not commit or roll back itself.
	Batch func(ctx context.Context, b DataBatch) (DataBatchDone, error)
	// Frozen, set instead of Batch, makes a frozen data migration: it is
	// called once per kept dialect at revision time (`weberctl db revision
	// --data NAME --frozen`), on a driver that runs nothing but records the
	// statements the typed client would run (build the client on it with
	// ent.NewClient(ent.Driver(drv))), and those statements are written as
	// SQL into a file of each dialect's folder. Upgrades apply the file
	// like any other and never call Frozen: any binary can apply it.
	Frozen func(ctx context.Context, drv dialect.Driver) error
}

// DataBatch is what one batch of a DataMigration works with.
type DataBatch struct {
	// Driver runs statements in the batch's transaction: build the typed
	// client of the migration's own snapshot on it, e.g.
	// ent.NewClient(ent.Driver(b.Driver)).
	Driver dialect.Driver
	// Dialect is ent's dialect name (sqlite3, postgres, mysql).
	Dialect string
	// After is the key the migration is done through: 0 before its first
	// batch, else the Through of its last committed batch.
	After int64
	// Size is the most rows the batch should change.
	Size int
}

// DataBatchDone is what one batch of a DataMigration did.
type DataBatchDone struct {
	// Through is the last key done; the next batch starts after it. It
	// must grow from batch to batch unless Done.
	Through int64
	// Rows counts the rows the batch changed (for the progress line).
	Rows int64
	// Done reports that nothing is left: the migration is complete once
	// this batch commits.
	Done bool
}

// goStmt is what a Go data migration's revision records as the statement
// in progress.
func goStmt(name string) string { return "-- " + migdir.DirectiveGo + " " + name }

// checkDataMigrations refuses, before anything runs, a pending `-- weber:go`
// file whose data migration is not registered.
func (r *run) checkDataMigrations() error {
	for _, s := range r.steps {
		name := s.file.Go
		if name == "" || r.opts.SkipDataMigrations {
			continue
		}
		m, ok := r.opts.DataMigrations[name]
		if ok && m.Batch != nil {
			continue
		}
		if ok && m.Frozen != nil {
			return refuseOp("upgrade", KindDataMigration, s.file.Name,
				"%s runs the Go data migration %q in batches, but this binary registers %q as a frozen data migration (Frozen, not Batch): a frozen one's SQL is written into its own files by `weberctl db revision --data %s --frozen`; give the batched one a Batch, and nothing was applied",
				s.file.Name, name, name, name)
		}
		known := make([]string, 0, len(r.opts.DataMigrations))
		for n := range r.opts.DataMigrations {
			known = append(known, n)
		}
		slices.Sort(known)
		list := "none"
		if len(known) > 0 {
			list = strings.Join(known, ", ")
		}
		return refuseOp("upgrade", KindDataMigration, s.file.Name,
			"%s runs the Go data migration %q, which this binary does not have (it has: %s): register it in the project's data migrations (see docs/migrations.md, \"Data migrations\") and build again; nothing was applied",
			s.file.Name, name, list)
	}
	return nil
}

// runGo runs a `-- weber:go` file: its DataMigration batch after batch,
// from the key its revision records, each batch with its record in one
// transaction.
func (a *applier) runGo(ctx context.Context, s *step, r *revstore.Revision) error {
	f := s.file
	m := a.opts.DataMigrations[f.Go]
	if a.opts.SkipDataMigrations {
		m = DataMigration{Batch: func(_ context.Context, b DataBatch) (DataBatchDone, error) {
			return DataBatchDone{Through: b.After, Done: true}, nil
		}}
	}
	if m.Batch == nil {
		return fmt.Errorf("applying %s: the Go data migration %q is not registered", f.Name, f.Go)
	}
	size := m.BatchSize
	if size <= 0 {
		size = DefaultDataBatchSize
	}
	r.Total, r.Hash = 1, f.Hash
	var after int64
	if done, ok := batchProgress(r); ok && r.ErrorStmt == goStmt(f.Go) {
		after = done
	}
	var rows, batches int64
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("applying %s: stopped in the data migration %s after key %d; the batches before it are committed and recorded, and the next upgrade resumes there: %w", f.Name, f.Go, after, err)
		}
		res, err := a.goBatch(ctx, f, m, r, after, size)
		if err != nil {
			return err
		}
		rows, batches = rows+res.Rows, batches+1
		if a.opts.OnBatch != nil {
			a.opts.OnBatch(BatchEvent{File: f.Name, Go: f.Go, Through: res.Through, Rows: rows, Batches: batches, Done: res.Done})
		}
		if res.Done {
			return nil
		}
		after = res.Through
	}
}

// goBatch runs one batch of m after key after in a transaction, and
// records its progress (or the migration's end) through it.
func (a *applier) goBatch(ctx context.Context, f *migdir.File, m DataMigration, r *revstore.Revision, after int64, size int) (DataBatchDone, error) {
	start := time.Now()
	where := fmt.Sprintf("applying %s, data migration %s, the batch after key %d", f.Name, f.Go, after)
	tx, err := a.conn.BeginTx(ctx, nil)
	if err != nil {
		return DataBatchDone{}, fmt.Errorf("%s: starting its transaction: %w", where, err)
	}
	rollback := func() { _ = tx.Rollback() }
	drv := &batchDriver{Conn: entsql.Conn{ExecQuerier: tx}, dia: a.dia}
	res, err := m.Batch(ctx, DataBatch{Driver: drv, Dialect: a.dia, After: after, Size: size})
	if err != nil {
		rollback()
		return res, fmt.Errorf("%s: %w; the batch was rolled back, the batches before it are committed and recorded, and the next upgrade resumes after key %d", where, err, after)
	}
	if !res.Done && res.Through <= after {
		rollback()
		return res, fmt.Errorf("%s: the batch returned Through %d, not past %d, and not Done: it would run forever; fix the migration so that each batch moves its key forward", where, res.Through, after)
	}
	if res.Done {
		r.Applied, r.Error, r.ErrorStmt, r.ExecutedAt = 1, "", "", start
	} else {
		r.Error, r.ErrorStmt = batchMarker+strconv.FormatInt(res.Through, 10), goStmt(f.Go)
		if r.ExecutedAt.IsZero() {
			r.ExecutedAt = start
		}
	}
	r.ExecutionTime += time.Since(start)
	if err := a.store.Write(ctx, tx, r); err != nil {
		rollback()
		return res, fmt.Errorf("%s: recording it: %w", where, err)
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("%s: committing (it did not persist): %w", where, err)
	}
	return res, nil
}

// batchDriver is an ent driver on a batch's transaction. The client's own
// transactions (ent opens one for UpdateOne, and Client.Tx) join the
// batch's: their Commit and Rollback do nothing, and the batch's outcome
// decides for all.
type batchDriver struct {
	entsql.Conn
	dia string
}

// Dialect is the database's ent dialect.
func (d *batchDriver) Dialect() string { return d.dia }

// Tx joins the batch's transaction.
func (d *batchDriver) Tx(context.Context) (dialect.Tx, error) { return dialect.NopTx(d), nil }

// Close does nothing: the batch's transaction is the engine's.
func (d *batchDriver) Close() error { return nil }
