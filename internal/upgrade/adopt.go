package upgrade

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/migdir"
)

// adopt is the end of Upgrade with Options.Adopt: under the lock, with the
// history re-read and checked, it asks opts.AdoptCheck whether the live
// database already has the pending files' effect on the schema and, if so,
// takes the pending files in version order: a schema file is recorded as
// applied without running (Result.Adopted), a data migration
// (migdir.File.ChangesRows) is run like any upgraded file (Result.Files),
// since no schema comparison can see its effect on rows. Consecutive
// schema files are recorded in one transaction.
func (r *run) adopt(ctx context.Context) (*Result, error) {
	r.res.After = r.res.Before
	pending, err := r.adoptSteps()
	if err != nil {
		return nil, err
	}
	if len(pending) == 0 {
		r.res.Duration = time.Since(r.start)
		return r.res, nil
	}
	for _, s := range pending {
		if s.file.ChangesRows() {
			r.steps = append(r.steps, s)
		}
	}
	if err := r.checkDataMigrations(); err != nil {
		return nil, err
	}
	if err := r.checkAdoption(ctx, pending); err != nil {
		return nil, err
	}
	if len(r.steps) > 0 {
		if err := r.checkBeforeRunning(ctx); err != nil {
			return nil, err
		}
	}
	if err := r.prepare(ctx); err != nil {
		return nil, err
	}
	if err := r.adoptOrRun(ctx, pending); err != nil {
		return r.res, err
	}
	return r.finish(ctx)
}

// adoptSteps lists the files adoption takes, in version order: the
// pending files, after a partially applied file of which nothing persists
// (its record is overwritten, or the data migration resumed). Any other
// partially applied file refuses the adoption.
func (r *run) adoptSteps() ([]*step, error) {
	var steps []*step
	if p := r.st.partial; p != nil {
		if !nothingRan(p) {
			return nil, failOp("upgrade", KindAdopt, p.file.Name,
				"recording pending files as applied refused: %s is partially applied; finish it with `weberctl db upgrade` first",
				p.file.Name)
		}
		// A file whose first statement failed, recorded, with nothing of
		// it persisting (MySQL runs files statement by statement), or a Go
		// data migration with batches committed: as good as pending.
		steps = append(steps, p)
	}
	for _, f := range r.st.pending {
		steps = append(steps, &step{file: f})
	}
	return steps, nil
}

// checkAdoption runs Options.AdoptCheck over the whole directory: nil
// when the live database already has what the history with the pending
// files builds.
func (r *run) checkAdoption(ctx context.Context, pending []*step) error {
	// The check reads through the pool: give the pinned connection back
	// meanwhile (an in-memory SQLite database has no other). The lock is
	// held on its own connection or file.
	r.conn.Close()
	if err := r.opts.AdoptCheck(ctx, r.dir.Files); err != nil {
		names := make([]string, len(pending))
		for i, s := range pending {
			names[i] = s.file.Name
		}
		ref := failOp("upgrade", KindAdopt, names[0], "recording %s as applied without running refused: %s",
			strings.Join(names, ", "), errtext.OneLine(err))
		ref.Files, ref.Err = names, err
		return ref
	}
	var err error
	if r.conn, err = r.db.Conn(ctx); err != nil {
		return fmt.Errorf("upgrade: connecting to %s: %w", r.u.Redacted(), err)
	}
	return nil
}

// adoptOrRun takes the pending steps in order: runs of schema files are
// recorded as applied in one transaction, data migrations are applied.
// A data migration that fails leaves the files before it recorded.
func (r *run) adoptOrRun(ctx context.Context, pending []*step) error {
	var a *applier
	if len(r.steps) > 0 {
		var err error
		if a, err = r.newApplier(ctx); err != nil {
			return err
		}
	}
	var schema []*migdir.File
	record := func() error {
		if len(schema) == 0 {
			return nil
		}
		names := make([]string, len(schema))
		for i, f := range schema {
			names[i] = f.Name
		}
		if err := writeAll(ctx, r.conn, r.store, recordedRevisions(schema, r.opts.Operator, time.Now())); err != nil {
			return fmt.Errorf("upgrade: recording %s as applied: %w", strings.Join(names, ", "), err)
		}
		r.res.Adopted = append(r.res.Adopted, names...)
		for _, f := range schema {
			r.res.After = newer(r.res.After, f.Version)
		}
		r.log.Info("recorded pending files as applied without running them", "files", len(names), "version", r.res.After)
		schema = schema[:0]
		return nil
	}
	for _, s := range pending {
		if !s.file.ChangesRows() {
			schema = append(schema, s.file)
			continue
		}
		if err := record(); err != nil {
			return err
		}
		if err := r.applyStep(ctx, a, s); err != nil {
			return err
		}
	}
	return record()
}

// nothingRan reports a partially applied file of which no statement
// persists: its first statement failed and the failure was recorded.
func nothingRan(s *step) bool {
	return s.rev != nil && s.rev.Applied == 0 && !s.unconfirmed && s.rev.Error != startedMarker
}
