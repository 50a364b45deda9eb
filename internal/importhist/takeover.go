package importhist

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/dblock"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
)

// DefaultLockTimeout is how long TakeOver waits for the migration lock by
// default.
const DefaultLockTimeout = time.Minute

// TakeOverOptions configure TakeOver. The zero value of each field but
// Tool is a usable default.
type TakeOverOptions struct {
	// Tool is the tool that migrated the database (required).
	Tool Tool
	// Table is the tool's version table (default: Tool.VersionTable()).
	Table string
	// Operator names the writer in the revisions recorded ("weber v1.2").
	Operator string
	// LockTimeout bounds the wait for the migration lock
	// (default: DefaultLockTimeout).
	LockTimeout time.Duration
}

// TakeOverResult is what TakeOver found and recorded.
type TakeOverResult struct {
	// Tool and Table name the version table read.
	Tool  Tool
	Table string
	// Applied are the versions the tool's table records as applied, as
	// the tool writes them, in order.
	Applied []string
	// Recorded are the Weber files recorded as applied, in order (empty
	// when AlreadyRecorded).
	Recorded []string
	// AlreadyRecorded reports that Weber's revision table already held
	// exactly the applied files (a take-over run again): nothing was
	// written.
	AlreadyRecorded bool
	// Pending are the Weber files the tool had not applied: what
	// `weberctl db upgrade` runs next.
	Pending []string
	// Behind are the pending files older than the newest applied one
	// (goose and dbmate allow gaps): `db upgrade` needs
	// --allow-out-of-order for them.
	Behind []string
}

var reIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// defaults fills in the defaults and checks the options.
func (o *TakeOverOptions) defaults() error {
	if !slices.Contains(Tools(), o.Tool) {
		return fmt.Errorf("take-over: unknown tool %q: use one of the Tools()", o.Tool)
	}
	if o.Table == "" {
		o.Table = o.Tool.VersionTable()
	}
	if !reIdent.MatchString(o.Table) {
		return refuse(KindNoTable, "", "table name %q: pass a plain table name (letters, digits, underscores) in the connection's current schema", o.Table)
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	return nil
}

// TakeOver reads the tool's version table in db and records the matching
// files of dir (the imported history) in Weber's revision table, with
// their hashes, in one transaction under the migration lock. The tool's
// table is only read. For Atlas, whose revision table is Weber's own,
// nothing is recorded; the result lists what Weber already sees as
// applied.
func TakeOver(ctx context.Context, db *sql.DB, u *dbconn.URL, dir *migdir.Dir, opts TakeOverOptions) (*TakeOverResult, error) {
	if db == nil || u == nil || dir == nil {
		return nil, fmt.Errorf("take-over: no database or no migration folder given: open them with dbconn.Open and migdir.Open first")
	}
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	store, err := revstore.New(u.Dialect)
	if err != nil {
		return nil, err
	}
	l, err := dblock.Acquire(ctx, db, u, opts.LockTimeout)
	if err != nil {
		return nil, fmt.Errorf("take-over: %w", err)
	}
	defer l.Release()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("take-over: connecting to %s: %w", u.Redacted(), err)
	}
	defer conn.Close()
	res := &TakeOverResult{Tool: opts.Tool, Table: opts.Table}
	if opts.Tool == Atlas {
		res.Table = revstore.Table
		applied, err := atlasApplied(ctx, conn, store, dir, res)
		if err != nil {
			return nil, err
		}
		res.Pending, res.Behind = pending(dir, applied)
		return res, nil
	}
	applied, err := appliedFiles(ctx, conn, u.Dialect, dir, opts, res)
	if err != nil {
		return nil, err
	}
	applied, err = record(ctx, conn, store, dir, applied, opts, res)
	if err != nil {
		return nil, err
	}
	res.Pending, res.Behind = pending(dir, applied)
	return res, nil
}

// appliedFiles reads the tool's table and maps each applied version to
// its file.
func appliedFiles(ctx context.Context, conn *sql.Conn, dia string, dir *migdir.Dir, opts TakeOverOptions, res *TakeOverResult) ([]*migdir.File, error) {
	ok, err := dbconn.TableExists(ctx, conn, dia, opts.Table)
	if err != nil {
		return nil, fmt.Errorf("take-over: looking for %s: %w", opts.Table, err)
	}
	if !ok {
		return nil, refuse(KindNoTable, "", "the database has no %s table, where %s records what it applied: check --database-url points at the database %s migrated, or pass --table if it used another name",
			opts.Table, opts.Tool, opts.Tool)
	}
	var versions []string
	switch opts.Tool {
	case GolangMigrate:
		versions, err = golangMigrateApplied(ctx, conn, dia, opts.Table, dir)
	case Goose:
		versions, err = gooseApplied(ctx, conn, dia, opts.Table)
	case Dbmate:
		versions, err = dbmateApplied(ctx, conn, dia, opts.Table)
	}
	if err != nil {
		return nil, err
	}
	res.Applied = versions
	files := make([]*migdir.File, 0, len(versions))
	for _, v := range versions {
		f := dir.Find(v)
		if f == nil {
			return nil, refuse(KindUnknownVersion, "", "%s records version %s as applied, but %s has no file with that version: import the history the database was migrated with (all of its files), then take over again",
				opts.Table, v, dir.Path)
		}
		files = append(files, f)
	}
	sortFiles(files)
	return files, nil
}

// golangMigrateApplied reads golang-migrate's one row (version, dirty):
// every file up to that version is applied.
func golangMigrateApplied(ctx context.Context, conn *sql.Conn, dia, table string, dir *migdir.Dir) ([]string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT version, dirty FROM "+dbconn.QuoteIdent(dia, table))
	if err != nil {
		return nil, fmt.Errorf("take-over: reading %s as golang-migrate's table (version, dirty): %w; is this database migrated by golang-migrate?", table, err)
	}
	defer rows.Close()
	var (
		n       int
		version int64
		dirty   bool
	)
	for rows.Next() {
		if err := rows.Scan(&version, &dirty); err != nil {
			return nil, fmt.Errorf("take-over: reading %s: %w", table, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("take-over: reading %s: %w", table, err)
	}
	switch {
	case n == 0 || version < 0:
		return nil, nil
	case n > 1:
		return nil, refuse(KindUnknownVersion, "", "%s holds %d rows, but golang-migrate keeps exactly one: check that it is golang-migrate's table (pass --table otherwise)", table, n)
	case dirty:
		return nil, refuse(KindDirty, "", "golang-migrate's %s says version %d failed halfway (dirty): repair the schema by hand, run `migrate force VERSION` with the last version fully applied, then take over again",
			table, version)
	}
	v := strconv.FormatInt(version, 10)
	if dir.Find(v) == nil {
		return nil, refuse(KindUnknownVersion, "", "%s records version %s, but %s has no file with that version: import the history the database was migrated with (all of its files), then take over again", table, v, dir.Path)
	}
	var out []string
	for _, f := range dir.Files {
		if migdir.CompareVersions(f.Version, v) <= 0 {
			out = append(out, canon(f.Version))
		}
	}
	return out, nil
}

// gooseApplied reads goose's log: the latest row of each version says
// whether it is applied; version 0 is goose's own first row.
func gooseApplied(ctx context.Context, conn *sql.Conn, dia, table string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT version_id, is_applied FROM "+dbconn.QuoteIdent(dia, table)+" ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("take-over: reading %s as goose's table (id, version_id, is_applied): %w; is this database migrated by goose?", table, err)
	}
	defer rows.Close()
	state := map[int64]bool{}
	var order []int64
	for rows.Next() {
		var (
			v  int64
			ok bool
		)
		if err := rows.Scan(&v, &ok); err != nil {
			return nil, fmt.Errorf("take-over: reading %s: %w", table, err)
		}
		if _, seen := state[v]; !seen {
			order = append(order, v)
		}
		state[v] = ok
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("take-over: reading %s: %w", table, err)
	}
	var out []string
	for _, v := range order {
		if v > 0 && state[v] {
			out = append(out, strconv.FormatInt(v, 10))
		}
	}
	return out, nil
}

// dbmateApplied reads dbmate's table: one row per applied version.
func dbmateApplied(ctx context.Context, conn *sql.Conn, dia, table string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT version FROM "+dbconn.QuoteIdent(dia, table))
	if err != nil {
		return nil, fmt.Errorf("take-over: reading %s as dbmate's table (version): %w; is this database migrated by dbmate?", table, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("take-over: reading %s: %w", table, err)
		}
		out = append(out, strings.TrimSpace(v))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("take-over: reading %s: %w", table, err)
	}
	return out, nil
}

// record writes the applied files as Weber revisions in one transaction,
// unless the revision table already records every one of them (a take-over
// run again, perhaps after an upgrade). It returns the files Weber's
// history has as applied afterwards.
func record(ctx context.Context, conn *sql.Conn, store *revstore.Store, dir *migdir.Dir, applied []*migdir.File, opts TakeOverOptions, res *TakeOverResult) ([]*migdir.File, error) {
	revs, err := readRevisions(ctx, conn, store)
	if err != nil {
		return nil, err
	}
	if len(revs) > 0 {
		if missing := notRecorded(revs, applied); missing != "" {
			return nil, refuse(KindHistory, "", "the database already has a Weber history (%d revisions in %s, up to version %s) that lacks %s, which %s records as applied: check `weberctl db status`, and the --database-url and --dir given",
				len(revs), revstore.Table, revs[len(revs)-1].Version, missing, opts.Table)
		}
		res.AlreadyRecorded = true
		var files []*migdir.File
		for _, r := range revs {
			if f := dir.Find(r.Version); f != nil && r.Done() {
				files = append(files, f)
			}
		}
		return files, nil
	}
	if len(applied) == 0 {
		return nil, nil
	}
	if err := store.Ensure(ctx, conn); err != nil {
		return nil, fmt.Errorf("take-over: %w", err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("take-over: %w", err)
	}
	now := time.Now()
	var names []string
	for _, f := range applied {
		r := &revstore.Revision{Version: f.Version, Description: f.Description, Type: revstore.TypeBaseline,
			Applied: len(f.Stmts), Total: len(f.Stmts), ExecutedAt: now, Hash: f.Hash, OperatorVersion: opts.Operator}
		if err := store.Write(ctx, tx, r); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("take-over: recording %s: %w (nothing was recorded)", f.Name, err)
		}
		names = append(names, f.Name)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("take-over: recording the applied files: %w (nothing was recorded)", err)
	}
	res.Recorded = names
	return applied, nil
}

// notRecorded returns the first applied file the revisions lack, or "".
func notRecorded(revs []*revstore.Revision, files []*migdir.File) string {
	have := map[string]bool{}
	for _, r := range revs {
		if r.Done() {
			have[canon(r.Version)] = true
		}
	}
	for _, f := range files {
		if !have[canon(f.Version)] {
			return f.Name
		}
	}
	return ""
}

func readRevisions(ctx context.Context, conn *sql.Conn, store *revstore.Store) ([]*revstore.Revision, error) {
	ok, err := store.Exists(ctx, conn)
	if err != nil || !ok {
		return nil, err
	}
	revs, err := store.ReadAll(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("take-over: %w", err)
	}
	return revs, nil
}

// atlasApplied returns the files Atlas's (that is, Weber's) revision table
// records as applied.
func atlasApplied(ctx context.Context, conn *sql.Conn, store *revstore.Store, dir *migdir.Dir, res *TakeOverResult) ([]*migdir.File, error) {
	revs, err := readRevisions(ctx, conn, store)
	if err != nil {
		return nil, err
	}
	if len(revs) == 0 {
		return nil, refuse(KindNoTable, "", "no Atlas revisions in %s in the connection's schema: if Atlas kept them in its own schema (its default when it manages a whole database), run Atlas once with --revisions-schema naming this schema, or point --database-url at the schema Atlas used",
			revstore.Table)
	}
	var files []*migdir.File
	for _, r := range revs {
		res.Applied = append(res.Applied, r.Version)
		f := dir.Find(r.Version)
		if f == nil {
			return nil, refuse(KindUnknownVersion, "", "%s records version %s, but %s has no file with that version: use the folder Atlas migrated the database with", revstore.Table, r.Version, dir.Path)
		}
		if r.Done() {
			files = append(files, f)
		}
	}
	res.AlreadyRecorded = true
	return files, nil
}

func sortFiles(files []*migdir.File) {
	for i := 1; i < len(files); i++ {
		for j := i; j > 0 && migdir.CompareVersions(files[j-1].Version, files[j].Version) > 0; j-- {
			files[j-1], files[j] = files[j], files[j-1]
		}
	}
}

// pending lists the files not applied, and those of them older than the
// newest applied file.
func pending(dir *migdir.Dir, applied []*migdir.File) (rest, behind []string) {
	done := map[string]bool{}
	latest := ""
	for _, f := range applied {
		done[f.Name] = true
		latest = f.Version
	}
	for _, f := range dir.Files {
		if done[f.Name] {
			continue
		}
		rest = append(rest, f.Name)
		if latest != "" && migdir.CompareVersions(f.Version, latest) < 0 {
			behind = append(behind, f.Name)
		}
	}
	return rest, behind
}
