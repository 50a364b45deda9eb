package upgrade

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
)

// SetOptions configure Set.
type SetOptions struct {
	// Version is the file the history is set to: every file up to it is
	// recorded as applied, every later one as not applied. Empty ("0")
	// records none.
	Version string
	// Force records the version even when the live schema differs from
	// the history at Version, or when it cannot be compared (no dev
	// server).
	Force bool
	// DryRun says what would change and changes nothing.
	DryRun bool
	// LockTimeout bounds the wait for the lock (0 = DefaultLockTimeout).
	LockTimeout time.Duration
	// DevURL names the server where a scratch database replays the
	// history for PostgreSQL and MySQL (SQLite uses an in-memory one).
	DevURL string
	// Operator is recorded in each revision written.
	Operator string
	// Logger receives progress at debug level (nil = discard).
	Logger *slog.Logger
}

// SetResult is what Set did (or would do, in a dry run).
type SetResult struct {
	// Dialect is ent's dialect name; Dir the migration directory.
	Dialect, Dir string
	// From is the version before, To the version after ("" for none).
	From, To string
	// Marked lists the files recorded as applied without running them
	// (or completed, when they were partially applied).
	Marked []PendingFile
	// Unmarked lists the revisions removed: files after Version, which
	// a later upgrade runs again.
	Unmarked []PendingFile
	// Differences are the statements that would turn the live schema into
	// the history's at Version: empty when they match. Non-empty only
	// with Force.
	Differences []string
	// Compared reports that the live schema was compared with the history
	// (false with Force and no dev server).
	Compared bool
	// DryRun reports that nothing was changed.
	DryRun bool
}

// Set records the history as applied up to opts.Version and not applied
// after it, without running any statement: for the day a change was made
// outside Weber (Atlas's `migrate set`, Alembic's `stamp`). Under the lock
// it compares the live schema with the history at that version (replayed
// on a dev database) and refuses a mismatch (KindMismatch) unless Force.
// Revisions it writes have type revstore.TypeResolved and the file's hash,
// so `db history` shows them as set by hand and the tamper checks hold
// them to the file.
func Set(ctx context.Context, db *sql.DB, u *dbconn.URL, dirPath string, opts SetOptions) (*SetResult, error) {
	if db == nil || u == nil {
		return nil, errors.New("set: no database given: open it with dbconn.Open first")
	}
	if err := u.RefuseSystem("set"); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	store, err := revstore.New(u.Dialect)
	if err != nil {
		return nil, err
	}
	dir, err := migdir.OpenDialect(dirPath, u.Dialect)
	if err != nil {
		return nil, err
	}
	target, err := setTarget(dir, opts.Version)
	if err != nil {
		return nil, err
	}
	if err := checkFlavor(ctx, db, u, dirPath, dir, "set"); err != nil {
		return nil, err
	}
	if !opts.DryRun {
		release, err := lock(ctx, db, u, opts.LockTimeout, "set", log)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("set: connecting to %s: %w", u.Redacted(), err)
	}
	defer conn.Close()
	revs, err := readRevisions(ctx, conn, store)
	if err != nil {
		return nil, fmt.Errorf("set: %w", err)
	}
	res := &SetResult{Dialect: u.Dialect, Dir: dirPath, DryRun: opts.DryRun, From: newestDone(revs)}
	if target != Empty {
		res.To = target
	}
	if err := compareAtTarget(ctx, db, conn, u, dirPath, dir, target, opts, res, log); err != nil {
		return nil, err
	}
	writes, deletes := setChanges(dir, revs, target, opts.Operator, time.Now().UTC(), res)
	if opts.DryRun {
		return res, nil
	}
	return res, applySet(ctx, conn, store, writes, deletes)
}

// setTarget checks that v names a file of dir (or Empty) and returns its
// canonical version.
func setTarget(dir *migdir.Dir, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == Empty {
		return Empty, nil
	}
	if v == "" {
		return "", failOp("set", KindTarget, "", "give the VERSION to record as applied (a file's version in %s, or %s for none)", dir.Path, Empty)
	}
	if f := dir.Find(v); f != nil {
		return f.Version, nil
	}
	return "", failOp("set", KindTarget, "", "no file in %s has version %s (nearest: %s; latest: %s); give a file's version, or %s for none",
		dir.Path, v, dir.Nearest(v), dir.Latest(), Empty)
}

// readRevisions reads the revision table, empty when there is none.
func readRevisions(ctx context.Context, conn *sql.Conn, store *revstore.Store) ([]*revstore.Revision, error) {
	exists, err := store.Exists(ctx, conn)
	if err != nil || !exists {
		return nil, err
	}
	return store.ReadAll(ctx, conn)
}

// newestDone is the newest completely applied version ("" for none).
func newestDone(revs []*revstore.Revision) string {
	v := ""
	for _, r := range revs {
		if r.Done() && migdir.CompareVersions(r.Version, v) > 0 {
			v = r.Version
		}
	}
	return v
}

// compareAtTarget replays the files up to target on a dev database and
// plans the difference to the live schema: a difference is refused unless
// Force; with Force, a comparison that cannot run is skipped.
func compareAtTarget(ctx context.Context, db *sql.DB, conn *sql.Conn, u *dbconn.URL, dirPath string, dir *migdir.Dir, target string, opts SetOptions, res *SetResult, log *slog.Logger) error {
	var keep []migrate.File
	for _, f := range dir.Files {
		if target != Empty && migdir.CompareVersions(f.Version, target) <= 0 {
			keep = append(keep, migrate.NewLocalFile(f.Name, f.Bytes))
		}
	}
	stmts, _, err := planOnDev(ctx, db, conn, u, dirPath, opts.DevURL, keep, target, log)
	if err != nil {
		if opts.Force {
			log.Warn("set: the live schema was not compared with the history", "err", err)
			return nil
		}
		return fmt.Errorf("set: comparing the live schema with the history at %s: %w (or pass --force to record it without comparing)", orEmpty(target), err)
	}
	res.Compared = true
	if len(stmts) > 0 && !opts.Force {
		return failOp("set", KindMismatch, "", "the live schema is not the history's at %s: %d statements would be needed to make it so (first: %s); "+
			"set the version the database does match, fix the database, or pass --force to record %s anyway",
			orEmpty(target), len(stmts), errtext.Flatten(stmts[0]), orEmpty(target))
	}
	res.Differences = stmts
	return nil
}

// setChanges decides the revisions to write and to delete, and lists them
// in res.
func setChanges(dir *migdir.Dir, revs []*revstore.Revision, target, operator string, now time.Time, res *SetResult) (writes []*revstore.Revision, deletes []string) {
	byVersion := map[string]*revstore.Revision{}
	for _, r := range revs {
		byVersion[r.Version] = r
	}
	for _, f := range dir.Files {
		if target == Empty || migdir.CompareVersions(f.Version, target) > 0 {
			continue
		}
		if r := byVersion[f.Version]; r != nil && r.Done() {
			continue
		}
		writes = append(writes, &revstore.Revision{
			Version: f.Version, Description: f.Description, Type: revstore.TypeResolved,
			Applied: len(f.Stmts), Total: len(f.Stmts), ExecutedAt: now, Hash: f.Hash,
			OperatorVersion: operator,
		})
		res.Marked = append(res.Marked, PendingFile{Version: f.Version, Name: f.Name, Statements: len(f.Stmts)})
	}
	for _, r := range revs {
		if target == Empty || migdir.CompareVersions(r.Version, target) > 0 {
			deletes = append(deletes, r.Version)
			res.Unmarked = append(res.Unmarked, PendingFile{Version: r.Version, Name: revName(r), Statements: r.Total})
		}
	}
	return writes, deletes
}

// applySet writes and deletes the revisions in one transaction.
func applySet(ctx context.Context, conn *sql.Conn, store *revstore.Store, writes []*revstore.Revision, deletes []string) error {
	if len(writes) == 0 && len(deletes) == 0 {
		return nil
	}
	if err := store.Ensure(ctx, conn); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("set: %w", err)
	}
	defer tx.Rollback()
	for _, v := range deletes {
		if err := store.Delete(ctx, tx, v); err != nil {
			return fmt.Errorf("set: %w", err)
		}
	}
	for _, r := range writes {
		if err := store.Write(ctx, tx, r); err != nil {
			return fmt.Errorf("set: %w", err)
		}
	}
	return tx.Commit()
}
