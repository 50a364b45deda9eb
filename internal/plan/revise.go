package plan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"ariga.io/atlas/sql/migrate"
	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/flavor"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/weberschema"
)

// versionFormat is the version of a migration file: a UTC timestamp.
const versionFormat = "20060102150405"

// DefaultName is the name of a revision when none is given.
const DefaultName = "change"

// ReviseOptions configures Revise. The zero value of each field has a
// documented default, except Tables, which is required.
type ReviseOptions struct {
	// Root holds one folder per dialect (default "migrations").
	Root string
	// Dialects are the kept dialects, by folder name (default sqlite,
	// postgres, mysql).
	Dialects []string
	// DevURLs gives, per dialect, the server for its scratch database
	// (app.Config.DevURLs). SQLite needs none.
	DevURLs map[string]string
	// Name is the revision's name; it is lowered and reduced to
	// [a-z0-9_] (default "change").
	Name string
	// AllowDestructive lets the revision drop tables, columns and indexes
	// and narrow types; such statements are marked intended for lint.
	AllowDestructive bool
	// Tables are the models: ent's migrate.Tables. Required; never modified.
	Tables []*entschema.Table
	// Renames are the renames the models declare: ent's migrate.Renames
	// (weberschema.RenamedFrom), written as RENAME TABLE / RENAME COLUMN.
	Renames []weberschema.Rename
	// NotRenamed are dropped and added columns the user said are not
	// renames (answered "no" at the CLI's question).
	NotRenamed []weberschema.Rename
	// Now gives the revision's version (default time.Now); it is used in UTC.
	Now func() time.Time
	// Logger receives progress at debug level; nil discards.
	Logger *slog.Logger
}

// DialectResult is what Revise did for one dialect.
type DialectResult struct {
	Dialect string // folder name
	Dir     string // the dialect's folder
	// File is the path of the file written, "" when this dialect had no
	// change.
	File string
	// Replayed is the number of history files replayed on the dev database.
	Replayed   int
	Statements []Statement
	LeftOut    []LeftOut
	Findings   []Finding
	// Warnings are problems that did not stop the revision, e.g. a scratch
	// database that could not be dropped.
	Warnings []string
	Duration time.Duration
}

// ReviseResult is the outcome of Revise.
type ReviseResult struct {
	// Version and Name of the written revision ("" when nothing was written).
	Version, Name string
	// Written reports whether any file was written.
	Written bool
	// Dialects has one entry per kept dialect, in the order given.
	Dialects []DialectResult
}

// Revise plans every kept dialect against the models and, if any differs,
// writes <version>_<name>.sql into each dialect that does and updates its
// atlas.sum; the version and name are the same in every dialect. It plans
// all dialects before writing anything, so a dialect that fails to plan
// leaves every folder untouched. No difference anywhere: nothing is written
// and Written is false.
func Revise(ctx context.Context, opts ReviseOptions) (*ReviseResult, error) {
	if len(opts.Tables) == 0 {
		return nil, errors.New("revising: no model tables given: pass ent's migrate.Tables")
	}
	writeDefaults(&opts.Root, &opts.Dialects, &opts.Now)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	name := SanitizeName(opts.Name)
	folders, err := reviseFolders("revising", opts.Dialects, opts.DevURLs)
	if err != nil {
		return nil, err
	}
	plans, err := planDirs(ctx, opts, folders, log)
	if err != nil {
		return nil, err
	}
	if err := askRenames(plans, opts.AllowDestructive); err != nil {
		return nil, err
	}

	res := &ReviseResult{}
	for _, p := range plans {
		res.Dialects = append(res.Dialects, p.result)
		if !p.plan.Empty() {
			res.Written = true
		}
	}
	if !res.Written {
		return res, nil
	}
	version := nextVersion(opts.Now().UTC(), plans)
	res.Version, res.Name = version, name
	var changed []*dirPlan
	for _, p := range plans {
		if !p.plan.Empty() {
			changed = append(changed, p)
		}
	}
	if err := writeAll(changed, version+"_"+name+".sql"); err != nil {
		return nil, err
	}
	for i, p := range plans {
		res.Dialects[i].File = p.result.File
	}
	log.Debug("revision written", "version", version, "name", name)
	return res, nil
}

// writeDefaults fills the unset options of a command that writes into the
// history: the migrations root, the kept dialects and the clock.
func writeDefaults(root *string, dialects *[]string, now *func() time.Time) {
	if *root == "" {
		*root = "migrations"
	}
	if len(*dialects) == 0 {
		*dialects = []string{SQLite, Postgres, MySQL}
	}
	if *now == nil {
		*now = time.Now
	}
}

// reviseFolders returns the folders of dialects, each once, and fails
// fast, before any work, on a missing dev server. op names the command in
// errors ("revising", "rebasing", "squashing").
func reviseFolders(op string, dialects []string, devURLs map[string]string) ([]string, error) {
	var folders []string
	for _, d := range dialects {
		f, err := folderName(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if contains(folders, f) {
			return nil, fmt.Errorf("%s: dialect %s is listed twice: list each once", op, f)
		}
		folders = append(folders, f)
	}
	for _, f := range folders {
		if f != SQLite && strings.TrimSpace(devURLs[f]) == "" {
			return nil, &MissingDevURLError{Dialect: f, Variable: DevURLVariable(f)}
		}
	}
	return folders, nil
}

// planDirs plans every folder against the models at the same time; any
// failure fails them all.
func planDirs(ctx context.Context, opts ReviseOptions, folders []string, log *slog.Logger) ([]*dirPlan, error) {
	plans := make([]*dirPlan, len(folders))
	errs := make([]error, len(folders))
	var wg sync.WaitGroup
	for i, f := range folders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			plans[i], errs[i] = planDir(ctx, f, filepath.Join(opts.Root, f), opts.DevURLs[f], opts.Tables,
				Options{AllowDestructive: opts.AllowDestructive, Logger: log, rehearse: true,
					Renames: opts.Renames, NotRenamed: opts.NotRenamed})
		}()
	}
	wg.Wait()
	if err := join(errs...); err != nil {
		return nil, err
	}
	return plans, nil
}

// ModelsAhead plans one dialect's folder against the models without
// writing anything, for `db status` and `db check`: the plan's Statements
// are what a revision would write, its LeftOut the destructive differences
// a revision would leave out. devURL is needed for postgres and mysql.
// renames are the models' declared renames (ent's migrate.Renames).
func ModelsAhead(ctx context.Context, dialect, dir, devURL string, tables []*entschema.Table, renames ...weberschema.Rename) (*Plan, error) {
	folder, err := folderName(dialect)
	if err != nil {
		return nil, err
	}
	p, err := planDir(ctx, folder, dir, devURL, tables, Options{Renames: renames})
	if err != nil {
		return nil, err
	}
	return p.plan, nil
}

// dirPlan is one dialect's plan with what is needed to write it.
type dirPlan struct {
	dir     string
	files   []migrate.File
	last    string // the newest version in the folder
	plan    *Plan
	result  DialectResult
	oldSum  []byte // atlas.sum before writing; nil when there was none
	written string // the file written, for rollback
}

// planDir reads a dialect's folder, replays it on a dev database and plans
// the difference to the models.
func planDir(ctx context.Context, folder, dir, devURL string, tables []*entschema.Table, opts Options) (*dirPlan, error) {
	start := time.Now()
	if len(tables) == 0 {
		return nil, fmt.Errorf("planning %s: no model tables given: pass ent's migrate.Tables", folder)
	}
	files, err := ReadHistory(dir)
	if err != nil {
		return nil, err
	}
	dev, err := OpenDev(ctx, DevOptions{Dialect: folder, URL: devURL, Root: filepath.Dir(dir)})
	if err != nil {
		return nil, fmt.Errorf("planning %s: %w", folder, err)
	}
	db, cleanup := dev.DB, dev.Close
	dp := &dirPlan{dir: dir, files: files, result: DialectResult{Dialect: folder, Dir: dir, Warnings: dev.Notes}}
	if len(files) > 0 {
		dp.last = files[len(files)-1].Version()
	}
	defer func() {
		if err := cleanup(); err != nil {
			dp.result.Warnings = append(dp.result.Warnings, errtext.OneLine(err))
			if opts.Logger != nil {
				opts.Logger.Warn("dev database cleanup failed", "dialect", folder, "err", err)
			}
		}
	}()
	if err := checkDevFlavor(ctx, db, folder, dir, flavor.FromMigrate(files)); err != nil {
		return nil, err
	}
	// The models' schema is read while the dev database is still empty:
	// ent inspects the model tables it finds there.
	desired, err := Desired(ctx, db, folder, tables)
	if err != nil {
		return nil, err
	}
	if desired, err = normalizeDesired(ctx, db, folder, filepath.Dir(dir), desired); err != nil {
		return nil, err
	}
	if dp.result.Replayed, err = Replay(ctx, db, folder, files, ""); err != nil {
		return nil, fmt.Errorf("planning %s (%s): %w", folder, dir, err)
	}
	if dp.plan, err = planTo(ctx, db, folder, desired, opts); err != nil {
		return nil, err
	}
	if opts.rehearse && !dp.plan.Empty() {
		if err := rehearse(ctx, db, dp.plan, desired); err != nil {
			return nil, err
		}
		if w := firstDeclaration(ctx, db, folder, dir, flavor.FromMigrate(files)); w != "" {
			dp.result.Warnings = append(dp.result.Warnings, w)
		}
	}
	dp.result.Statements = dp.plan.Statements
	dp.result.LeftOut = dp.plan.LeftOut
	dp.result.Findings = dp.plan.Findings
	dp.result.Duration = time.Since(start)
	return dp, nil
}

// ReadHistory reads a dialect's migration folder once and checks it against
// its atlas.sum. A missing folder is an empty history.
func ReadHistory(dir string) ([]migrate.File, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err := migdir.CheckFiles(dir); err != nil {
		return nil, err
	}
	ld, err := migrate.NewLocalDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %s: the migrations path must be a folder", dir, errtext.OneLine(err))
	}
	files, err := ld.Files()
	if err != nil {
		return nil, wrapf("reading "+dir, err)
	}
	seen := map[string]string{}
	for _, f := range files {
		if prev, ok := seen[f.Version()]; ok {
			return nil, fmt.Errorf("reading %s: %s and %s have the same version %s: rename one to a later version and update atlas.sum",
				dir, prev, f.Name(), f.Version())
		}
		seen[f.Version()] = f.Name()
	}
	sumPath := filepath.Join(dir, migrate.HashFileName)
	raw, err := os.ReadFile(sumPath)
	switch {
	case errors.Is(err, fs.ErrNotExist) && len(files) == 0:
		return nil, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading %s: it has migration files but no %s: restore it from version control", dir, migrate.HashFileName)
	case err != nil:
		return nil, wrapf("reading "+sumPath, err)
	}
	if migdir.HasConflictMarkers(raw) {
		return nil, fmt.Errorf("reading %s: it has git conflict markers (two branches added migration files): run `weberctl db rebase` to order the merged files and rewrite it, or `weberctl db hash`", sumPath)
	}
	var stored migrate.HashFile
	if err := stored.UnmarshalText(raw); err != nil {
		return nil, fmt.Errorf("reading %s: it is corrupt (%s): restore it from version control", sumPath, errtext.OneLine(err))
	}
	actual, err := migrate.NewHashFile(files)
	if err != nil {
		return nil, wrapf("hashing "+dir, err)
	}
	if stored.Sum() != actual.Sum() {
		msg := "the files do not match it"
		var ce *migrate.ChecksumError
		if err := migrate.Validate(ld); errors.As(err, &ce) {
			msg = fmt.Sprintf("%s was %s since it was written", ce.File, ce.Reason)
		}
		return nil, fmt.Errorf("reading %s: %s: restore the file from version control; a history file must not change once written", sumPath, msg)
	}
	return files, nil
}

// nextVersion is now, or one second after the newest version of any
// folder when now is not later than it.
func nextVersion(now time.Time, plans []*dirPlan) string {
	v := now.Format(versionFormat)
	for _, p := range plans {
		if p.last >= v {
			if t, err := time.Parse(versionFormat, p.last); err == nil {
				v = t.Add(time.Second).Format(versionFormat)
			} else {
				v = p.last + "1" // a non-timestamp version: stay after it
			}
		}
	}
	return v
}

// writeAll writes the new file and atlas.sum into every folder of plans.
// On failure it removes what it wrote and restores each atlas.sum.
func writeAll(plans []*dirPlan, fileName string) error {
	var done []*dirPlan
	for _, p := range plans {
		if err := p.write(fileName); err != nil {
			for _, d := range append(done, p) {
				d.rollback()
			}
			return err
		}
		done = append(done, p)
	}
	return nil
}

func (p *dirPlan) write(fileName string) error {
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return wrapf("creating "+p.dir, err)
	}
	ld, err := migrate.NewLocalDir(p.dir)
	if err != nil {
		return wrapf("opening "+p.dir, err)
	}
	if old, err := os.ReadFile(filepath.Join(p.dir, migrate.HashFileName)); err == nil {
		p.oldSum = old
	}
	path := filepath.Join(p.dir, fileName)
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("writing %s: the file already exists: run the revision again", path)
	}
	if err := ld.WriteFile(fileName, p.plan.Content); err != nil {
		return wrapf("writing "+path, err)
	}
	p.written = path
	files := append(append([]migrate.File(nil), p.files...), migrate.NewLocalFile(fileName, p.plan.Content))
	sum, err := migrate.NewHashFile(files)
	if err != nil {
		return wrapf("hashing "+p.dir, err)
	}
	if err := migrate.WriteSumFile(ld, sum); err != nil {
		return wrapf("writing "+filepath.Join(p.dir, migrate.HashFileName), err)
	}
	p.result.File = path
	return nil
}

func (p *dirPlan) rollback() {
	if p.written != "" {
		_ = os.Remove(p.written)
	}
	sumPath := filepath.Join(p.dir, migrate.HashFileName)
	if p.oldSum != nil {
		if cur, err := os.ReadFile(sumPath); err != nil || !bytes.Equal(cur, p.oldSum) {
			_ = os.WriteFile(sumPath, p.oldSum, 0o644)
		}
	} else if p.written != "" {
		_ = os.Remove(sumPath)
	}
	p.result.File = ""
}

var nameJunk = regexp.MustCompile(`[^a-z0-9_]+`)

// SanitizeName turns a revision name into [a-z0-9_]: lower case, other
// characters become "_", at most 64 characters; empty becomes "change".
func SanitizeName(name string) string {
	s := nameJunk.ReplaceAllString(strings.ToLower(strings.TrimSpace(name)), "_")
	for strings.Contains(s, "__") {
		s = strings.ReplaceAll(s, "__", "_")
	}
	s = strings.Trim(s, "_")
	if len(s) > 64 {
		s = strings.TrimRight(s[:64], "_")
	}
	if s == "" {
		return DefaultName
	}
	return s
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
