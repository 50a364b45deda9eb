package upgrade

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/liveschema"
	"github.com/weber-framework/weber/internal/lockwait"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/plural"
	"github.com/weber-framework/weber/internal/revstore"
	"github.com/weber-framework/weber/weberschema"
)

// Empty is the DowngradeOptions.To value that goes back before the first
// file: an empty schema.
const Empty = "0"

// DowngradeOptions configure Downgrade. The zero value goes back one file.
type DowngradeOptions struct {
	// To is the version to go back to: an applied version, or Empty ("0")
	// for before the first file. "" means one step back.
	To string
	// DryRun plans and returns the statements without the lock or changes.
	DryRun bool
	// AllowDataLoss lets the plan drop tables that hold rows or columns
	// that hold non-NULL values; without it such a plan is refused
	// (KindDataLoss). Dropping what is empty needs no permission.
	AllowDataLoss bool
	// LockTimeout bounds the wait for the lock (0 = DefaultLockTimeout).
	LockTimeout time.Duration
	// DevURL names the server where a scratch database replays the
	// history for PostgreSQL and MySQL (SQLite uses an in-memory one).
	DevURL string
	// DDL bounds each statement's wait for a table lock and retries the
	// plan (PostgreSQL) or the statement (MySQL) that gave up, as for
	// Upgrade. The zero value is lockwait's defaults.
	DDL lockwait.Policy
	// Logger receives progress at debug level (nil = discard).
	Logger *slog.Logger
}

// DowngradeResult is what Downgrade did (or would do, in a dry run).
type DowngradeResult struct {
	// Dialect is ent's dialect name; Dir the migration directory.
	Dialect, Dir string
	// From is the version before, To the version after ("" for none).
	From, To string
	// Reverted lists the revisions removed, newest first.
	Reverted []PendingFile
	// Statements is the plan that brought the schema back.
	Statements []string
	// DataLoss describes the plan's drops with the rows holding data in
	// them ("DROP TABLE posts (3 rows)", "DROP COLUMN users.bio (0 rows)").
	DataLoss []string
	// Lossy reports that a drop would destroy data (a table with rows, a
	// column with a value, or a count that failed): applying the plan
	// needs AllowDataLoss.
	Lossy bool
	// DryRun reports that nothing was changed.
	DryRun bool
	// Duration is how long the whole call took.
	Duration time.Duration
}

// Downgrade brings the database back to the schema the history has at
// opts.To: it replays the files up to that version on a dev database of
// the same dialect, compares it with the live schema (Weber's own tables
// excluded), plans the difference with Atlas, refuses a plan that drops
// tables or columns unless AllowDataLoss, then, under the lock, applies the
// plan and deletes the revisions above the target (in one transaction on
// SQLite and PostgreSQL).
func Downgrade(ctx context.Context, db *sql.DB, u *dbconn.URL, dirPath string, opts DowngradeOptions) (*DowngradeResult, error) {
	s, err := NewSource(db, u, dirPath, opts.Logger, "downgrade")
	if err != nil {
		return nil, err
	}
	return s.Downgrade(ctx, opts)
}

// Downgrade brings the database back to the history at opts.To: see the
// function Downgrade. opts.Logger, when set, replaces the Source's logger.
func (s *Source) Downgrade(ctx context.Context, opts DowngradeOptions) (*DowngradeResult, error) {
	start := time.Now()
	s = s.withLogger(opts.Logger)
	dir, err := s.openForChange(ctx, "downgrade")
	if err != nil {
		return nil, err
	}
	ss, err := s.begin(ctx, "downgrade", opts.LockTimeout, opts.DryRun)
	if err != nil {
		return nil, err
	}
	defer func() { ss.conn.Close(); ss.unlock() }()
	revs, st, err := s.readApplied(ctx, ss.conn, dir)
	if err != nil {
		return nil, err
	}
	res := &DowngradeResult{Dialect: s.u.Dialect, Dir: s.dirPath, From: st.current, DryRun: opts.DryRun}
	target, err := downgradeTarget(opts.To, revs, st.current)
	if err != nil {
		return nil, err
	}
	var keep []migrate.File
	keep, res.Reverted = splitAt(dir, revs, target)
	if target != Empty {
		res.To = target
	}
	var changes []schema.Change
	res.Statements, changes, err = planOnDev(ctx, s.db, ss.conn, s.u, s.dirPath, opts.DevURL, keep, target, s.log, undoRenames(dir, res.Reverted)...)
	if err != nil {
		return nil, fmt.Errorf("downgrade: %w", err)
	}
	if err := s.checkDataLoss(ctx, ss.conn, changes, target, opts.AllowDataLoss, res); err != nil {
		return nil, err
	}
	if !opts.DryRun {
		if err := applyBack(ctx, ss.conn, s.store, s.u.Dialect, res.Statements, res.Reverted, opts.DDL, s.log); err != nil {
			return nil, err
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// checkDataLoss describes the plan's drops with the rows they hold and
// refuses a plan that destroys data unless allowed.
func (s *Source) checkDataLoss(ctx context.Context, conn *sql.Conn, changes []schema.Change, target string, allow bool, res *DowngradeResult) error {
	for _, c := range changes {
		drops, l := dataLoss(ctx, conn, s.u.Dialect, c)
		res.DataLoss = append(res.DataLoss, drops...)
		res.Lossy = res.Lossy || l
	}
	if res.Lossy && !allow {
		return &Refusal{Op: "downgrade", sep: " ", Kind: KindDataLoss, Files: names(res.Reverted), Msg: fmt.Sprintf(
			"to %s refused: the plan destroys data (%s): back up the database, then pass --allow-data-loss",
			orEmpty(target), strings.Join(res.DataLoss, "; "))}
	}
	return nil
}

// readApplied reads the applied revisions, checks them against the
// directory (a partially applied file may be what is undone) and leaves
// out the stale records of failed files no longer in it.
func (s *Source) readApplied(ctx context.Context, conn *sql.Conn, dir *migdir.Dir) ([]*revstore.Revision, *state, error) {
	_, revs, err := s.Revisions(ctx, conn, "downgrade")
	if err != nil {
		return nil, nil, err
	}
	if len(revs) == 0 {
		return nil, nil, failOp("downgrade", KindTarget, "", "the database has no applied migrations (no rows in %s): nothing to go back from", revstore.Table)
	}
	st := analyze(dir, revs)
	for _, p := range st.problems {
		if p.Kind != KindPartialChanged { // a partial file may be what we are undoing
			p.Op = "downgrade"
			return nil, nil, p
		}
	}
	if len(st.stale) > 0 {
		stale := map[*revstore.Revision]bool{}
		for _, r := range st.stale {
			stale[r] = true
		}
		revs = slices.DeleteFunc(slices.Clone(revs), func(r *revstore.Revision) bool { return stale[r] })
		if len(revs) == 0 {
			return nil, nil, failOp("downgrade", KindTarget, "", "the database has no applied migrations: nothing to go back from")
		}
	}
	return revs, st, nil
}

// downgradeTarget resolves --to: one step back by default; otherwise an
// applied version below the current one, or Empty.
func downgradeTarget(to string, revs []*revstore.Revision, current string) (string, error) {
	if to == "" {
		if len(revs) > 1 {
			return revs[len(revs)-2].Version, nil
		}
		return Empty, nil
	}
	if to == Empty {
		return Empty, nil
	}
	known := false
	for _, r := range revs {
		if migdir.CompareVersions(r.Version, to) == 0 && r.Done() {
			known, to = true, r.Version
		}
	}
	if !known {
		return "", failOp("downgrade", KindTarget, "", "--to %s is not an applied version of this database (applied: %s); pick one of those, or %s for an empty schema",
			to, appliedList(revs), Empty)
	}
	if migdir.CompareVersions(to, current) >= 0 {
		return "", failOp("downgrade", KindTarget, "", "the database is at %s, not above --to %s: nothing to go back; use `weberctl db upgrade` to go forward", current, to)
	}
	return to, nil
}

// splitAt divides the applied revisions at target: the files to keep (up
// to it) and those reverted, newest first.
func splitAt(dir *migdir.Dir, revs []*revstore.Revision, target string) (keep []migrate.File, reverted []PendingFile) {
	for _, r := range revs {
		if target != Empty && migdir.CompareVersions(r.Version, target) <= 0 {
			if f := dir.Find(r.Version); f != nil {
				keep = append(keep, migrate.NewLocalFile(f.Name, f.Bytes))
			}
			continue
		}
		reverted = append([]PendingFile{{Version: r.Version, Name: revName(r), Statements: r.Total}}, reverted...)
	}
	return keep, reverted
}

// undoRenames are the renames of the reverted files (newest first), undone:
// each reversed, newest first.
func undoRenames(dir *migdir.Dir, reverted []PendingFile) []weberschema.Rename {
	var out []weberschema.Rename
	for _, p := range reverted {
		f := dir.Find(p.Version)
		if f == nil {
			continue
		}
		stmts := make([]string, len(f.Stmts))
		for i, s := range f.Stmts {
			stmts[i] = s.Text
		}
		out = append(out, plan.Reversed(plan.RenamesIn(stmts))...)
	}
	return out
}

// planOnDev replays the kept files on a dev database (the state the
// history has at the target) and plans the live schema back to it.
// renames are the reverted files' renames, undone (undoRenames): planned
// as renames back, so that a downgrade keeps a renamed column's data.
func planOnDev(ctx context.Context, db *sql.DB, conn *sql.Conn, u *dbconn.URL, dirPath, devURL string, keep []migrate.File, target string, log *slog.Logger, renames ...weberschema.Rename) ([]string, []schema.Change, error) {
	d, err := plan.OpenDev(ctx, plan.DevOptions{Dialect: u.Dialect, URL: devURL, Root: filepath.Dir(filepath.Clean(dirPath))})
	if err != nil {
		return nil, nil, err
	}
	for _, n := range d.Notes {
		log.Warn(n)
	}
	defer func() {
		if err := d.Close(); err != nil {
			log.Warn("removing the dev database", "err", err)
		}
	}()
	if err := liveschema.PrepareDev(ctx, d.DB, db, u.Dialect, plan.DevURLVariable(plan.MySQL)); err != nil {
		return nil, nil, err
	}
	if len(keep) > 0 {
		if _, err := plan.Replay(ctx, d.DB, u.Dialect, keep, ""); err != nil {
			return nil, nil, fmt.Errorf("replaying the history up to %s on a dev database: %w", target, err)
		}
	}
	stmts, changes, err := planBack(ctx, conn, d.DB, u.Dialect, renames)
	if err != nil {
		return nil, nil, err
	}
	return stmts, changes, nil
}

func orEmpty(v string) string {
	if v == Empty {
		return "an empty schema"
	}
	return "version " + v
}

func names(fs []PendingFile) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

func appliedList(revs []*revstore.Revision) string {
	vs := make([]string, 0, len(revs))
	for _, r := range revs {
		vs = append(vs, r.Version)
	}
	if len(vs) > 10 {
		vs = append(vs[:3], append([]string{"..."}, vs[len(vs)-5:]...)...)
	}
	return strings.Join(vs, ", ")
}

// planBack plans the statements that turn the live schema into the dev one.
func planBack(ctx context.Context, live *sql.Conn, dev *sql.DB, dia string, renames []weberschema.Rename) ([]string, []schema.Change, error) {
	ldrv, err := liveschema.Driver(live, dia)
	if err != nil {
		return nil, nil, err
	}
	ddrv, err := liveschema.Driver(dev, dia)
	if err != nil {
		return nil, nil, fmt.Errorf("on the dev database: %w", err)
	}
	current, err := plan.InspectTables(ctx, ldrv)
	if err != nil {
		return nil, nil, fmt.Errorf("inspecting the database: %w", err)
	}
	desired, err := plan.InspectTables(ctx, ddrv)
	if err != nil {
		return nil, nil, fmt.Errorf("inspecting the replayed history: %w", err)
	}
	renamed, tables := plan.WithRenames(current, renames)
	desired.Name, desired.Attrs = current.Name, current.Attrs
	changes, err := plan.TableChanges(ldrv, current, desired)
	if err != nil {
		return nil, nil, fmt.Errorf("comparing the database with the history: %w", err)
	}
	changes = plan.MergeRenames(renamed, changes, tables)
	if len(changes) == 0 {
		return nil, nil, nil
	}
	noQualifier := ""
	p, err := ldrv.PlanChanges(ctx, "downgrade", changes, func(o *migrate.PlanOptions) { o.SchemaQualifier = &noQualifier })
	if err != nil {
		return nil, nil, fmt.Errorf("planning the statements: %w", err)
	}
	stmts := make([]string, 0, len(p.Changes))
	for _, c := range p.Changes {
		// Atlas brackets SQLite rebuilds with foreign_keys pragmas; they do
		// nothing inside a transaction, and applyBack switches the pragma
		// around the transaction itself.
		if dia == dialect.SQLite && strings.HasPrefix(strings.ToUpper(c.Cmd), "PRAGMA FOREIGN_KEYS") {
			continue
		}
		stmts = append(stmts, c.Cmd)
	}
	return stmts, changes, nil
}

// dataLoss describes the drops of tables and columns a change makes, with
// the rows that hold data in them, and reports whether any data would be
// destroyed: a table with rows, a column with a non-NULL value, or a count
// that could not be made (assumed lossy).
func dataLoss(ctx context.Context, q *sql.Conn, dia string, c schema.Change) (out []string, lossy bool) {
	count := func(query string) string {
		var n int64
		if err := q.QueryRowContext(ctx, query).Scan(&n); err != nil {
			lossy = true
			return ""
		}
		lossy = lossy || n > 0
		return " (" + plural.Count(n, "row", "rows") + ")"
	}
	switch c := c.(type) {
	case *schema.DropTable:
		qt := dbconn.QuoteIdent(dia, c.T.Name)
		out = append(out, "DROP TABLE "+c.T.Name+count("SELECT COUNT(*) FROM "+qt))
	case *schema.ModifyTable:
		qt := dbconn.QuoteIdent(dia, c.T.Name)
		for _, cc := range c.Changes {
			if d, ok := cc.(*schema.DropColumn); ok {
				qc := dbconn.QuoteIdent(dia, d.C.Name)
				out = append(out, "DROP COLUMN "+c.T.Name+"."+d.C.Name+count("SELECT COUNT(*) FROM "+qt+" WHERE "+qc+" IS NOT NULL"))
			}
		}
	}
	return out, lossy
}

// applyBack runs the plan and deletes the reverted revisions: in one
// transaction on SQLite (foreign keys off around it, checked before commit)
// and PostgreSQL; statement by statement on MySQL.
func applyBack(ctx context.Context, conn *sql.Conn, store *revstore.Store, dia string, stmts []string, reverted []PendingFile, ddl lockwait.Policy, log *slog.Logger) (err error) {
	onRetry := func(at lockwait.Attempt) {
		log.Info("a downgrade statement gave up waiting for a lock; retrying", "try", at.N, "retry_in", at.Pause, "error", at.Err)
	}
	if dia == dialect.MySQL {
		if err := ddl.Apply(ctx, conn, dia, false, false); err != nil {
			return fmt.Errorf("downgrade: setting the lock wait: %w", err)
		}
		defer func() { _ = lockwait.Reset(context.WithoutCancel(ctx), conn, dia) }()
		for i, s := range stmts {
			err := lockwait.Retry(ctx, ddl, func() error { _, err := conn.ExecContext(ctx, s); return err }, nil, onRetry)
			if err != nil {
				return fmt.Errorf("downgrade: statement %d of %d (%s): %s: statements 1-%d were applied and the revisions are unchanged; fix the schema by hand, then rerun", i+1, len(stmts), short(s), errtext.OneLine(err), i)
			}
		}
		for _, r := range reverted {
			if err := store.Delete(context.WithoutCancel(ctx), conn, r.Version); err != nil {
				return fmt.Errorf("downgrade: %w", err)
			}
		}
		return nil
	}
	fk := false
	if dia == dialect.SQLite {
		var on int
		if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil {
			return fmt.Errorf("downgrade: reading PRAGMA foreign_keys: %w", err)
		}
		if fk = on == 1; fk {
			if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = off"); err != nil {
				return fmt.Errorf("downgrade: %w", err)
			}
			defer func() {
				if _, err2 := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = on"); err2 != nil && err == nil {
					err = fmt.Errorf("downgrade: restoring PRAGMA foreign_keys = on: %w", err2)
				}
			}()
		}
	}
	return lockwait.Retry(ctx, ddl, func() error { return applyBackTx(ctx, conn, store, dia, stmts, reverted, fk, ddl) }, nil, onRetry)
}

// applyBackTx runs the plan and deletes the reverted revisions in one
// transaction.
func applyBackTx(ctx context.Context, conn *sql.Conn, store *revstore.Store, dia string, stmts []string, reverted []PendingFile, fk bool, ddl lockwait.Policy) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("downgrade: starting the transaction: %w", err)
	}
	if err := ddl.Apply(ctx, tx, dia, true, false); err != nil {
		tx.Rollback()
		return fmt.Errorf("downgrade: setting the lock wait: %w", err)
	}
	var before map[string]bool
	if fk {
		if before, err = violations(ctx, tx); err != nil {
			tx.Rollback()
			return fmt.Errorf("downgrade: %w", err)
		}
	}
	for i, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			tx.Rollback()
			if lockwait.IsTimeout(err) {
				return err // retried by the caller
			}
			return fmt.Errorf("downgrade: statement %d of %d (%s): %s: rolled back, nothing changed", i+1, len(stmts), short(s), errtext.OneLine(err))
		}
	}
	if fk {
		after, err := violations(ctx, tx)
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("downgrade: %w", err)
		}
		for v := range after {
			if !before[v] {
				tx.Rollback()
				return failOp("downgrade", KindForeignKeys, "", "the plan leaves rows violating foreign keys (%s): rolled back, nothing changed", v)
			}
		}
	}
	for _, r := range reverted {
		if err := store.Delete(ctx, tx, r.Version); err != nil {
			tx.Rollback()
			return fmt.Errorf("downgrade: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("downgrade: committing: %w", err)
	}
	return nil
}
