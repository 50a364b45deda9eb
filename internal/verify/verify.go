// Package verify is the engine of `weberctl db verify`: it rehearses an
// upgrade on a populated scratch database and proves that the upgrade keeps
// the data.
//
// For each dialect it builds a scratch database at the deployed version
// (the history without its newest file, or Options.From), fills every table
// with generated rows (package datagen) or the project's seed data,
// fingerprints the data (package fingerprint), applies the remaining files
// one by one through the real upgrade path (package upgrade), and proves:
// each file applies; no table lost rows; every value of a column the files
// did not touch is unchanged; foreign keys hold; the final schema equals
// the models. Where the files can be reversed it downgrades and upgrades
// again and proves the same. Every step is reported with the table, column
// and counts behind a failure; nothing is printed.
package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"ariga.io/atlas/sql/schema"
	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/weber-framework/weber/internal/datagen"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/fingerprint"
	"github.com/weber-framework/weber/internal/liveschema"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/upgrade"
	"github.com/weber-framework/weber/weberschema"
)

// Options configure Run.
type Options struct {
	// Root is the migrations root: it holds one folder per dialect
	// (sqlite, postgres, mysql).
	Root string
	// Dialects are the folder names to verify (default: sqlite).
	Dialects []string
	// DevURLs names, by folder name, the PostgreSQL and MySQL servers where
	// scratch databases ("weber_verify_o" + random) are created and dropped
	// afterwards. A server dialect without one is skipped and reported so.
	DevURLs map[string]string
	// From is the version the rehearsal starts at: the deployed version.
	// Default: every file but the newest (the newest is the one under
	// test). "0" starts from an empty database.
	From string
	// Rows is the number of generated rows per table (default
	// datagen.DefaultRows).
	Rows int
	// Seed makes the generated data deterministic (default 1).
	Seed int64
	// SeedFile is a .sql file of the project's own seed data, run instead
	// of generation.
	SeedFile string
	// Tables are the desired tables (ent's migrate.Tables). The final
	// schema is compared with them; nil skips that step.
	Tables []*entschema.Table
	// AllowDataLoss accepts any loss of data: dropped tables and columns
	// that held data, rows deleted, in every comparison, the down-and-up
	// round's included. Without it a file accepts its own losses: drops
	// under an `atlas:nolint destructive` directive (as `db revision
	// --allow-destructive` writes), and the tables and columns named by a
	// `-- weber:data-loss table, table.column` directive (rows lost,
	// table or column dropped, values changed).
	AllowDataLoss bool
	// NoReverse skips the downgrade-and-upgrade-again round.
	NoReverse bool
	// DataMigrations are the project's Go data migrations (by the names
	// their `-- weber:go NAME` files give): the rehearsal runs them on
	// the populated scratch database like any file, and a column they
	// change that their `-- weber:touches` does not declare is a failure.
	DataMigrations map[string]upgrade.DataMigration
	// Logger receives progress at debug level; nil discards.
	Logger *slog.Logger
	// Progress, when set, is called as the rehearsal goes: at the start of
	// each step, and every few thousand rows while it generates or reads
	// data. It is for a person watching; nil reports nothing.
	Progress func(Progress)
}

// Progress is work under way.
type Progress struct {
	// Dialect is the folder name being rehearsed.
	Dialect string
	// Step names the step, as in Step.Name.
	Step string
	// Table is the table being filled or read, if any.
	Table string
	// Rows is the number of rows of Table done so far; Total the rows
	// asked (0 when not known in advance).
	Rows, Total int64
}

// Status is a step's outcome.
type Status string

// The outcomes of a step.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Step is one check of the rehearsal.
type Step struct {
	// Name says what was done, e.g. "apply 20261127_add_bio.sql".
	Name   string
	Status Status
	// Detail is one line: counts on success, the reason on failure or skip.
	Detail string
	// Findings name table, column and counts behind the outcome.
	Findings []fingerprint.Finding
	Duration time.Duration
}

// DialectReport is the rehearsal on one dialect.
type DialectReport struct {
	// Dialect is the folder name: sqlite, postgres or mysql.
	Dialect string
	// Database is the scratch database (password-free).
	Database string
	// From is the version the rehearsal started at ("" for empty).
	From string
	// Files are the files under test, in order.
	Files []string
	// Skipped is set when the dialect could not be rehearsed; Steps then
	// holds one skipped step saying why.
	Skipped bool
	Steps   []Step
}

// Passed reports whether no step failed.
func (d *DialectReport) Passed() bool {
	for _, s := range d.Steps {
		if s.Status == Fail {
			return false
		}
	}
	return true
}

// Report is the outcome of Run, one entry per dialect.
type Report struct {
	Dialects []*DialectReport
}

// Passed reports whether every dialect passed (skipped dialects do not
// fail the report; check Skipped to insist on them).
func (r *Report) Passed() bool {
	for _, d := range r.Dialects {
		if !d.Passed() {
			return false
		}
	}
	return true
}

// Failures returns every failed step as "dialect: step: detail" lines.
func (r *Report) Failures() []string {
	var out []string
	for _, d := range r.Dialects {
		for _, s := range d.Steps {
			if s.Status == Fail {
				out = append(out, d.Dialect+": "+s.Name+": "+s.Detail)
			}
		}
	}
	return out
}

// Run rehearses the upgrade on every dialect of opts and reports each
// step. Its error is for a rehearsal that could not be set up (bad options,
// unreadable directory, unreachable dev server); a rehearsal that finds a
// problem returns a report that did not pass, and a nil error.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Root == "" {
		return nil, errors.New("verify: no migrations directory given: pass --dir")
	}
	if fi, err := os.Stat(opts.Root); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("verify: the migrations directory %s does not exist: pass --dir", opts.Root)
	}
	if len(opts.Dialects) == 0 {
		opts.Dialects = []string{"sqlite"}
	}
	if opts.Rows == 0 {
		opts.Rows = datagen.DefaultRows
	}
	if opts.Rows < 0 {
		return nil, fmt.Errorf("verify: --rows must be positive, not %d", opts.Rows)
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	rep := &Report{}
	for _, folder := range opts.Dialects {
		if _, err := liveschema.Dialect(folder); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		dr, err := runDialect(ctx, folder, opts)
		if err != nil {
			return nil, err
		}
		rep.Dialects = append(rep.Dialects, dr)
	}
	return rep, nil
}

// rehearsal is the state of one dialect's run.
type rehearsal struct {
	opts    Options
	folder  string
	dir     string
	u       *dbconn.URL
	rep     *DialectReport
	log     *slog.Logger
	touched fingerprint.Touched
	// renames are the renames the files under test make, in order.
	renames []weberschema.Rename
	// intended holds the tables and columns whose drop a file marks as
	// intended ("table" or "table.column"), with the file's name.
	intended map[string]string
	// declared holds what files declare they lose on purpose (their
	// weber:data-loss directives), with the file's name.
	declared map[string]string
}

// progress reports work under way, when the caller asked for it.
func (r *rehearsal) progress(step, table string, rows, total int64) {
	if r.opts.Progress != nil {
		r.opts.Progress(Progress{Dialect: r.folder, Step: step, Table: table, Rows: rows, Total: total})
	}
}

func (r *rehearsal) step(name string, start time.Time, status Status, detail string, fs ...fingerprint.Finding) *Step {
	r.rep.Steps = append(r.rep.Steps, Step{Name: name, Status: status, Detail: detail, Findings: fs, Duration: time.Since(start).Round(time.Millisecond)})
	r.log.Debug("verify step", "dialect", r.folder, "step", name, "status", status, "detail", detail)
	return &r.rep.Steps[len(r.rep.Steps)-1]
}

func runDialect(ctx context.Context, folder string, opts Options) (*DialectReport, error) {
	d, _ := liveschema.Dialect(folder)
	r := &rehearsal{opts: opts, folder: folder, dir: filepath.Join(opts.Root, folder), log: opts.Logger,
		rep: &DialectReport{Dialect: folder}, touched: fingerprint.Touched{}, intended: map[string]string{}, declared: map[string]string{}}
	dir, err := migdir.OpenDialect(r.dir, d)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", folder, err)
	}
	if len(dir.Files) == 0 {
		r.rep.Skipped = true
		r.step("read the history", time.Now(), Skip, "no migration files in "+r.dir+": run `weberctl db revision` first")
		return r.rep, nil
	}
	from, tested, err := split(dir.Files, opts.From)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", folder, err)
	}
	r.rep.From = from
	for _, f := range tested {
		r.rep.Files = append(r.rep.Files, f.Name)
	}

	// The scratch database.
	start := time.Now()
	db, cleanup, err := r.scratch(ctx, d)
	if err != nil {
		if errors.Is(err, errNoDev) {
			r.rep.Skipped = true
			r.step("create a scratch database", start, Skip, err.Error())
			return r.rep, nil
		}
		return nil, err
	}
	defer cleanup()
	r.rep.Database = r.u.Redacted()
	if !r.prepare(ctx, db) {
		return r.rep, nil
	}

	// The deployed version.
	if !r.buildFrom(ctx, db, from, len(dir.Files)-len(tested)) {
		return r.rep, nil
	}

	r.rehearse(ctx, db, d, from, tested)
	return r.rep, nil
}

// rehearse fills the database at from, applies the files under test one by
// one, checks the data and the models, and reverses the files.
func (r *rehearsal) rehearse(ctx context.Context, db *sql.DB, d, from string, tested []*migdir.File) {
	// Data.
	before, ok := r.populate(ctx, db, d)
	if !ok {
		return
	}
	defer before.Close()

	// The files under test, one by one.
	for _, f := range tested {
		if !r.apply(ctx, db, d, f) {
			return
		}
	}
	after, ok := r.check(ctx, db, d, before, "after the upgrade", r.renames...)
	if !ok {
		return
	}
	defer after.Close()
	r.models(ctx, db, d)
	if !r.opts.NoReverse {
		r.reverse(ctx, db, d, from, before, after, tested)
	}
}

// prepare runs the dev setup file on the scratch database, if there is
// one. It reports whether the rehearsal can go on.
func (r *rehearsal) prepare(ctx context.Context, db *sql.DB) bool {
	start := time.Now()
	path, err := plan.RunDevSetup(ctx, db, r.folder, r.opts.Root)
	switch {
	case err != nil:
		r.step("prepare the scratch database", start, Fail, errtext.OneLine(err))
		return false
	case path != "":
		r.step("prepare the scratch database", start, Pass, "ran "+path)
	}
	return true
}

// buildFrom brings the scratch database to the deployed version from,
// applying its first n files, or starts from an empty database when from
// is "". It reports whether the rehearsal can go on.
func (r *rehearsal) buildFrom(ctx context.Context, db *sql.DB, from string, n int) bool {
	start := time.Now()
	if from == "" {
		r.step("start from an empty database", start, Pass, "")
		return true
	}
	if _, err := upgrade.Upgrade(ctx, db, r.u, r.dir, upgrade.Options{To: from, Logger: r.log, AllowDataLoss: true, DataMigrations: r.opts.DataMigrations}); err != nil {
		r.step("build the database at "+from, start, Fail, errtext.OneLine(err))
		return false
	}
	r.step("build the database at "+from, start, Pass, plural(n, "file")+" applied")
	return true
}

// populate fills the tables (or runs the seed file) and takes the first
// snapshot, which the caller closes. It reports whether the rehearsal can
// go on.
func (r *rehearsal) populate(ctx context.Context, db *sql.DB, d string) (*fingerprint.Snapshot, bool) {
	if !r.diskFits(ctx, db, d) {
		return nil, false
	}
	opts := r.opts
	start := time.Now()
	r.progress("fill the tables", "", 0, 0)
	fill, err := datagen.Fill(ctx, db, d, datagen.Options{Rows: opts.Rows, Seed: opts.Seed, SeedFile: opts.SeedFile, SeedOnly: opts.SeedFile != "",
		Enums: enumsOf(opts.Tables), Logger: r.log, Progress: func(table string, done, want int64) {
			r.progress("fill the tables", table, done, want)
		}})
	if err != nil {
		r.step("fill the tables", start, Fail, errtext.OneLine(err))
		return nil, false
	}
	r.step("fill the tables", start, Pass, describeFill(fill, opts.SeedFile))

	start = time.Now()
	before, err := r.fingerprint(ctx, db, d, "fingerprint the data")
	if err != nil {
		r.step("fingerprint the data", start, Fail, errtext.OneLine(err))
		return nil, false
	}
	r.step("fingerprint the data", start, Pass, describeSnapshot(before))
	return before, true
}

// fingerprint takes a snapshot, reporting progress under the step's name.
func (r *rehearsal) fingerprint(ctx context.Context, db *sql.DB, d, step string) (*fingerprint.Snapshot, error) {
	r.progress(step, "", 0, 0)
	return fingerprint.TakeProgress(ctx, db, d, nil, func(table string, rows int64) {
		r.progress(step, table, rows, 0)
	})
}

// minBytesPerRow is a lower bound of the disk one generated row of one
// table takes: in the scratch database (SQLite) and in the snapshot files
// (up to three at once). Measured on the project's schema: about 1.5 KB.
const minBytesPerRow = 300

// diskFits refuses, before generating anything, a --rows whose data cannot
// fit in the free space of the temporary folder: memory does not grow with
// the rows, disk does. It reports whether the rehearsal can go on.
func (r *rehearsal) diskFits(ctx context.Context, db *sql.DB, d string) bool {
	if r.opts.SeedFile != "" {
		return true
	}
	start := time.Now()
	free, ok := freeBytes(os.TempDir())
	if !ok {
		return true
	}
	s, err := liveschema.Inspect(ctx, db, d)
	if err != nil {
		r.step("check the free disk", start, Fail, errtext.OneLine(err))
		return false
	}
	need := uint64(len(s.Tables)) * uint64(r.opts.Rows) * minBytesPerRow
	if need <= free {
		return true
	}
	r.step("check the free disk", start, Fail, fmt.Sprintf("--rows %d for %s needs at least %s of free disk in %s for the scratch data and its snapshots, and %s are free: lower --rows, or set TMPDIR to a larger disk",
		r.opts.Rows, plural(len(s.Tables), "table"), size(need), os.TempDir(), size(free)))
	return false
}

func size(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%d KB", b>>10)
}

// split returns the version to build first ("" for an empty database) and
// the files after it.
func split(files []*migdir.File, from string) (string, []*migdir.File, error) {
	switch from {
	case "":
		if len(files) == 1 {
			return "", files, nil
		}
		return files[len(files)-2].Version, files[len(files)-1:], nil
	case upgrade.Empty:
		return "", files, nil
	}
	for i, f := range files {
		if f.Version == from {
			if i == len(files)-1 {
				return "", nil, fmt.Errorf("--from %s is the newest file: nothing is left to verify; pass an earlier version", from)
			}
			return from, files[i+1:], nil
		}
	}
	var versions []string
	for _, f := range files {
		versions = append(versions, f.Version)
	}
	return "", nil, fmt.Errorf("--from %s: no migration file has that version; pick one of %s, or 0 for an empty database", from, strings.Join(versions, ", "))
}

func describeFill(rep *datagen.Report, seedFile string) string {
	if seedFile != "" {
		return fmt.Sprintf("%d statements of seed data from %s", rep.SeedStatements, seedFile)
	}
	var parts []string
	for _, t := range rep.Tables {
		p := fmt.Sprintf("%s %d", t.Table, t.Rows)
		if t.Note != "" {
			p += " (" + t.Note + ")"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "no tables to fill"
	}
	return "rows generated: " + strings.Join(parts, ", ")
}

func describeSnapshot(s *fingerprint.Snapshot) string {
	var rows int64
	for _, t := range s.Tables {
		rows += t.Rows
	}
	return fmt.Sprintf("%s in %s", plural(int(rows), "row"), plural(len(s.Tables), "table"))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// enumsOf returns the enum values of the models' columns by "table.column".
func enumsOf(tables []*entschema.Table) map[string][]string {
	out := map[string][]string{}
	for _, t := range tables {
		for _, c := range t.Columns {
			if len(c.Enums) > 0 {
				out[t.Name+"."+c.Name] = c.Enums
			}
		}
	}
	return out
}

// declaredTouches reads a file's `-- weber:touches users.name, posts.*`
// directives (migdir.File.Touches), by which it declares the columns whose
// values it rewrites on purpose; a bare table name means all its columns.
func declaredTouches(f *migdir.File) [][2]string {
	var out [][2]string
	for _, args := range f.Touches {
		for _, item := range strings.FieldsFunc(args, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			table, col, ok := strings.Cut(strings.TrimSpace(item), ".")
			if !ok {
				col = "*"
			}
			if table != "" {
				out = append(out, [2]string{table, col})
			}
		}
	}
	return out
}

// intendedDrop reports whether a file marks its destructive changes as
// intended with an `atlas:nolint` directive (bare, "destructive", or a DS
// code), on the file or on any statement.
func intendedDrop(f *migdir.File) bool {
	marks := append([]string(nil), f.NoLint...)
	for _, s := range f.Stmts {
		marks = append(marks, s.NoLint...)
		if len(s.NoLint) == 0 && strings.Contains(s.Text, "atlas:nolint") {
			marks = append(marks, "")
		}
	}
	hasDirective := len(marks) > 0 || strings.Contains(string(f.Bytes), "atlas:nolint")
	if !hasDirective {
		return false
	}
	if len(marks) == 0 {
		marks = []string{""}
	}
	for _, m := range marks {
		m = strings.TrimSpace(m)
		if m == "" || strings.Contains(m, "destructive") || strings.HasPrefix(m, "DS") {
			return true
		}
	}
	return false
}

// changedNames lists the tables and columns a schema change touches, as
// (table, column) pairs with "*" for a whole table.
func changedNames(changes []schema.Change) [][2]string {
	var out [][2]string
	for _, ch := range changes {
		switch ch := ch.(type) {
		case *schema.AddTable:
			out = append(out, [2]string{ch.T.Name, "*"})
		case *schema.DropTable:
			out = append(out, [2]string{ch.T.Name, "*"})
		case *schema.RenameTable:
			out = append(out, [2]string{ch.From.Name, "*"}, [2]string{ch.To.Name, "*"})
		case *schema.ModifyTable:
			for _, c := range ch.Changes {
				switch c := c.(type) {
				case *schema.AddColumn:
					out = append(out, [2]string{ch.T.Name, c.C.Name})
				case *schema.DropColumn:
					out = append(out, [2]string{ch.T.Name, c.C.Name})
				case *schema.ModifyColumn:
					out = append(out, [2]string{ch.T.Name, c.From.Name}, [2]string{ch.T.Name, c.To.Name})
				case *schema.RenameColumn:
					out = append(out, [2]string{ch.T.Name, c.From.Name}, [2]string{ch.T.Name, c.To.Name})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0]+"."+out[i][1] < out[j][0]+"."+out[j][1] })
	return out
}
