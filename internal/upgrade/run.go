package upgrade

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/weber-framework/weber/internal/lockwait"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
)

// run is one Upgrade: what it was given, and what its steps learn, in the
// order Upgrade calls them.
type run struct {
	*Source
	opts  Options
	start time.Time
	dir   *migdir.Dir
	res   *Result

	conn     *sql.Conn            // the pinned connection (replaced around the pre-flight)
	exists   bool                 // the revision table exists
	baseline []*revstore.Revision // revisions a baseline records
	st       *state               // the history against the directory
	steps    []*step              // what runs, in order
}

// newRun validates the arguments and the directory, before any lock.
func newRun(ctx context.Context, s *Source, opts Options) (*run, error) {
	r := &run{Source: s, opts: opts, start: time.Now()}
	if r.opts.Operator == "" {
		r.opts.Operator = DefaultOperator
	}
	if err := r.opts.DDL.Validate(); err != nil {
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	if r.opts.DryRun {
		r.opts.OnFile = nil
	}
	var err error
	if r.dir, err = s.openForChange(ctx, "upgrade"); err != nil {
		return nil, err
	}
	r.res = &Result{Dialect: s.u.Dialect, Dir: s.dirPath, DryRun: r.opts.DryRun}
	return r, r.checkOptions()
}

// checkOptions refuses targets that name no file and Adopt's conflicts.
func (r *run) checkOptions() error {
	if err := checkTarget(r.dir, r.opts.To, "--to"); err != nil {
		return err
	}
	if r.opts.Baseline != "" {
		if err := checkTarget(r.dir, r.opts.Baseline, "--baseline"); err != nil {
			return err
		}
	}
	if r.opts.Adopt {
		switch {
		case r.opts.AdoptCheck == nil:
			return errors.New("upgrade: Adopt needs an AdoptCheck that compares the live database with the history")
		case r.opts.Baseline != "" || r.opts.To != "" || r.opts.DryRun:
			return errors.New("upgrade: Adopt cannot be combined with Baseline, To or DryRun")
		}
	}
	return nil
}

// readState reads the applied history under the lock and checks it
// against the directory and the options: what a person must decide first
// is a Refusal.
func (r *run) readState(ctx context.Context) error {
	var revs []*revstore.Revision
	var err error
	if r.exists, revs, err = r.Revisions(ctx, r.conn, "upgrade"); err != nil {
		return err
	}
	if err := r.checkHistory(ctx, revs); err != nil {
		return err
	}
	if r.opts.Baseline != "" {
		revs = r.recordBaseline()
	}
	r.st = analyze(r.dir, revs)
	if len(r.baseline) == 0 {
		r.res.Before = r.st.current
	}
	return r.checkAnalysis()
}

// checkHistory refuses Adopt and Baseline where they do not apply, and a
// database with tables but no history.
func (r *run) checkHistory(ctx context.Context, revs []*revstore.Revision) error {
	switch {
	case len(revs) == 0 && r.opts.Adopt:
		return failOp("upgrade", KindAdopt, "", "recording pending files as applied refused: the database has no migration history in %s; apply the history instead", revstore.Table)
	case len(revs) > 0 && r.opts.Baseline != "":
		return failOp("upgrade", KindBaseline, "", "--baseline %s refused: the database already has a migration history (at version %s); baseline only a database without one",
			r.opts.Baseline, revs[len(revs)-1].Version)
	case len(revs) == 0 && r.opts.Baseline == "":
		tables, err := userTables(ctx, r.conn, r.u.Dialect)
		if err != nil {
			return fmt.Errorf("upgrade: %w", err)
		}
		if len(tables) > 0 {
			return notClean(tables, r.dirPath)
		}
	}
	return nil
}

// recordBaseline makes the revisions a baseline records: every file up to
// Options.Baseline, as applied without running.
func (r *run) recordBaseline() []*revstore.Revision {
	var upTo []*migdir.File
	for _, f := range r.dir.Files {
		if migdir.CompareVersions(f.Version, r.opts.Baseline) > 0 {
			break
		}
		upTo = append(upTo, f)
		r.res.Baselined = append(r.res.Baselined, f.Version)
	}
	r.baseline = recordedRevisions(upTo, r.opts.Operator, time.Now())
	return r.baseline
}

// checkAnalysis refuses what the analysis found: edited or deleted files,
// files out of order (unless allowed), a target behind the database.
func (r *run) checkAnalysis() error {
	st := r.st
	if len(st.problems) > 0 {
		p := st.problems[0]
		p.Op = "upgrade"
		return p
	}
	if len(st.outOfOrder) > 0 && !r.opts.AllowOutOfOrder {
		ref := outOfOrderRefusal(st)
		ref.Op = "upgrade"
		return ref
	}
	if to := r.opts.To; to != "" && st.current != "" && migdir.CompareVersions(to, st.current) < 0 {
		return failOp("upgrade", KindTarget, "", "--to %s is behind the database's version %s: use `weberctl db downgrade --to %s` to go back",
			to, st.current, to)
	}
	return nil
}

// planSteps lists what runs (upTo): the rest is Result.Remaining.
func (r *run) planSteps() {
	r.steps, r.res.Remaining = upTo(r.st, r.opts.To)
}

// settleUnconfirmed decides the statement that started without its
// outcome being recorded: a concurrent index build from the index itself,
// else as Options.Unconfirmed says, else a KindUnconfirmed Refusal.
func (r *run) settleUnconfirmed(ctx context.Context) error {
	if len(r.steps) == 0 || !r.steps[0].unconfirmed {
		return nil
	}
	s := r.steps[0]
	if r.opts.Unconfirmed == UnconfirmedRefuse {
		if _, err := settleConcurrentBuild(ctx, r.conn, r.u.Dialect, s); err != nil {
			return fmt.Errorf("upgrade: %w", err)
		}
		if !s.unconfirmed {
			return nil
		}
	}
	switch r.opts.Unconfirmed {
	case UnconfirmedRetry:
		s.unconfirmed = false
	case UnconfirmedMarkApplied:
		s.unconfirmed = false
		if s.from < len(s.file.Stmts) {
			s.from++
		}
	default:
		k, line := s.from, 0
		if k < len(s.file.Stmts) {
			line = s.file.Stmts[k].Line
		}
		return refuseOp("upgrade", KindUnconfirmed, s.file.Name,
			"%s, statement %d (line %d: %s) was started outside a transaction but its completion was never recorded (the process stopped?): check in the database whether it took effect, then upgrade again with --mark-applied if it did, or --retry if it did not",
			s.file.Name, k+1, line, short(s.rev.ErrorStmt))
	}
	return nil
}

// checkBeforeRunning runs, under the lock and before anything runs, the
// pre-flight check of the rows the pending statements would destroy or
// reject, and the size check of the tables they would block.
func (r *run) checkBeforeRunning(ctx context.Context) error {
	n, first, err := preflightNeeded(ctx, r.conn, r.u.Dialect, r.steps, &r.opts)
	if err != nil {
		return fmt.Errorf("upgrade: %w", err)
	}
	if n > 0 {
		// preflight reads the target through the pool: give the pinned
		// connection back meanwhile (an in-memory SQLite database, or a
		// pool limited to one connection, has no other). The lock is held
		// on its own connection or file.
		r.conn.Close()
		risks, skipped, err := runPreflight(ctx, r.db, r.u, filepath.Dir(filepath.Clean(r.dirPath)), r.steps[:n], first, &r.opts, r.log)
		if err != nil {
			return err
		}
		r.res.Risks, r.res.PreflightSkipped = risks, skipped
		if r.conn, err = r.db.Conn(ctx); err != nil {
			return fmt.Errorf("upgrade: connecting to %s: %w", r.u.Redacted(), err)
		}
	}
	if r.res.Blocking, err = checkBlocking(ctx, r.conn, r.u.Dialect, r.steps, &r.opts); err != nil {
		if !r.opts.DryRun {
			return err
		}
		r.res.BlockingRefusal = err.Error()
	}
	r.res.After = r.res.Before
	return nil
}

// dryRun is the result of a dry run: the files that would run, with their
// SQL.
func (r *run) dryRun() *Result {
	res := r.res
	for _, s := range r.steps {
		fr := fileRun(s, r.u.Dialect)
		for _, stmt := range s.file.Stmts[s.from:] {
			fr.SQL = append(fr.SQL, stmt.Text)
		}
		res.Files = append(res.Files, fr)
		res.After = newer(res.After, s.file.Version)
	}
	if len(r.baseline) > 0 && len(r.steps) == 0 {
		res.After = r.baseline[len(r.baseline)-1].Version
	}
	res.Duration = time.Since(r.start)
	return res
}

// prepare creates the revision table, records a baseline and removes the
// records of failed files that are no longer in the directory.
func (r *run) prepare(ctx context.Context) error {
	if !r.exists {
		if err := r.store.Ensure(ctx, r.conn); err != nil {
			return fmt.Errorf("upgrade: %w", err)
		}
	}
	if len(r.baseline) > 0 {
		if err := writeAll(ctx, r.conn, r.store, r.baseline); err != nil {
			return fmt.Errorf("upgrade: recording the baseline at %s: %w", r.opts.Baseline, err)
		}
		r.res.After = r.baseline[len(r.baseline)-1].Version
		r.log.Info("baseline recorded", "version", r.res.After, "files", len(r.baseline))
	}
	for _, rev := range r.st.stale {
		if err := r.store.Delete(ctx, r.conn, rev.Version); err != nil {
			return fmt.Errorf("upgrade: removing the record of %s, which failed before any statement ran and is no longer in %s: %w", revName(rev), r.dirPath, err)
		}
		r.log.Info("removed a stale revision", "version", rev.Version)
	}
	return nil
}

// applySteps applies each step, reporting it through Options.OnFile.
func (r *run) applySteps(ctx context.Context) error {
	a, err := r.newApplier(ctx)
	if err != nil {
		return err
	}
	for _, s := range r.steps {
		if err := r.applyStep(ctx, a, s); err != nil {
			return err
		}
	}
	return nil
}

// newApplier makes the applier of the steps, on the pinned connection.
func (r *run) newApplier(ctx context.Context) (*applier, error) {
	a := &applier{conn: r.conn, db: r.db, store: r.store, dia: r.u.Dialect, log: r.log, opts: &r.opts}
	var err error
	if a.session, err = lockwait.SessionID(ctx, r.conn, r.u.Dialect); err != nil {
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	return a, nil
}

// applyStep applies one step and adds it to the result, reporting it
// through Options.OnFile.
func (r *run) applyStep(ctx context.Context, a *applier, s *step) error {
	fr := fileRun(s, r.u.Dialect)
	r.onFile(PhaseStart, fr, nil)
	fstart := time.Now()
	err := a.apply(ctx, s, fr.Transactional)
	fr.Duration = time.Since(fstart)
	fr.RebuiltIndexes = s.rebuilt
	if err != nil {
		r.onFile(PhaseFailed, fr, err)
		return err
	}
	r.onFile(PhaseDone, fr, nil)
	r.log.Debug("applied", "file", fr.Name, "statements", fr.Statements, "duration", fr.Duration)
	r.res.Files = append(r.res.Files, fr)
	r.res.After = newer(r.res.After, s.file.Version)
	return nil
}

// onFile reports a file's phase through Options.OnFile, when set.
func (r *run) onFile(phase string, fr FileRun, err error) {
	if r.opts.OnFile == nil {
		return
	}
	ev := FileEvent{Phase: phase, Version: fr.Version, Name: fr.Name, Statements: fr.Statements, Go: fr.Go, From: fr.From, Transactional: fr.Transactional, Err: err}
	if phase != PhaseStart {
		ev.Duration = fr.Duration
	}
	r.opts.OnFile(ev)
}
