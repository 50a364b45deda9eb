package plan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"

	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/migdir"
)

// SquashName is the name of a squashed file after its version.
const SquashName = "squashed"

// SquashOptions configures Squash.
type SquashOptions struct {
	// Root holds one folder per dialect (default "migrations"); Dialects
	// the kept dialects, by folder name (default all three).
	Root     string
	Dialects []string
	// DevURLs gives, per dialect, the server for its scratch databases.
	DevURLs map[string]string
	// Through is the last version squashed. Required.
	Through string
	// DropData lets the squash leave out the data statements (INSERT,
	// UPDATE, DELETE) of the squashed files: a database built from the
	// squashed file does not get their rows. Without it they are refused.
	DropData bool
	// Logger receives progress at debug level; nil discards.
	Logger *slog.Logger
}

// SquashedDialect is what Squash did in one dialect's folder.
type SquashedDialect struct {
	Dialect string // folder name
	// File is the squashed file written; Removed the files it replaces.
	File    string
	Removed []string
	// Statements is the number of statements of the squashed file.
	Statements int
	// DroppedData lists the data statements left out ("file:line").
	DroppedData []string
	// Warnings did not stop the squash (a scratch database left behind).
	Warnings []string
}

// SquashResult is what Squash did.
type SquashResult struct {
	// First and Through are the versions of the first and last file squashed.
	First, Through string
	Dialects       []SquashedDialect
}

// Squash collapses the files of every kept dialect up to and including
// Through into one file per dialect, <Through>_squashed.sql, with the
// header directive `-- weber:squashes FIRST..THROUGH`. Its statements are
// planned from an empty database to the schema the old files build, and
// the proof is made before anything is written: on a dev database per
// dialect the old files are replayed, on another the squashed file, and
// the two schemas must be equal. Databases that applied the old files
// recognise the squashed one as applied (internal/upgrade reads the
// directive). Files holding statements other than schema changes are
// refused: data statements unless DropData, views, triggers and functions
// always (the squash is planned from the tables). Every folder is planned
// and proven before any is written.
func Squash(ctx context.Context, opts SquashOptions) (*SquashResult, error) {
	if strings.TrimSpace(opts.Through) == "" {
		return nil, errors.New("squashing: no version given: name the last file to squash, e.g. `weberctl db squash --through 20261201093000`")
	}
	if opts.Root == "" {
		opts.Root = "migrations"
	}
	if len(opts.Dialects) == 0 {
		opts.Dialects = []string{SQLite, Postgres, MySQL}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	folders, err := reviseFolders("squashing", opts.Dialects, opts.DevURLs)
	if err != nil {
		return nil, err
	}
	var kept []string
	for _, f := range folders {
		if _, err := os.Stat(filepath.Join(opts.Root, f)); err == nil {
			kept = append(kept, f)
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("squashing: no migration folder under %s: check --dir", opts.Root)
	}
	plans := make([]*squashPlan, len(kept))
	errs := make([]error, len(kept))
	var wg sync.WaitGroup
	for i, f := range kept {
		wg.Add(1)
		go func() {
			defer wg.Done()
			plans[i], errs[i] = planSquash(ctx, f, filepath.Join(opts.Root, f), opts)
		}()
	}
	wg.Wait()
	if err := join(errs...); err != nil {
		return nil, err
	}
	res := &SquashResult{Through: plans[0].through, First: plans[0].first}
	for _, p := range plans {
		if p.first != res.First || p.through != res.Through {
			return nil, fmt.Errorf("squashing: the folders disagree on the files up to %s (%s starts at %s, %s at %s): run `weberctl db check` and fix the versions first",
				opts.Through, plans[0].result.Dialect, res.First, p.result.Dialect, p.first)
		}
	}
	for _, p := range plans {
		if err := p.write(); err != nil {
			return nil, err
		}
		res.Dialects = append(res.Dialects, p.result)
	}
	return res, nil
}

// squashPlan is one folder's squash, proven, before it is written.
type squashPlan struct {
	dir, first, through string
	old                 []*migdir.File
	content             []byte
	result              SquashedDialect
}

// planSquash reads one folder, checks the files to squash, plans the
// squashed file and proves it.
func planSquash(ctx context.Context, folder, dir string, opts SquashOptions) (*squashPlan, error) {
	md, err := migdir.Open(dir)
	if err != nil {
		return nil, err
	}
	last := md.Find(opts.Through)
	if last == nil {
		return nil, fmt.Errorf("squashing: %s has no file with version %s (nearest: %s): name the version of the last file to squash", dir, opts.Through, md.Nearest(opts.Through))
	}
	p := &squashPlan{dir: dir, through: last.Version, result: SquashedDialect{Dialect: folder}}
	for _, f := range md.Files {
		p.old = append(p.old, f)
		if f == last {
			break
		}
	}
	if len(p.old) < 2 {
		return nil, fmt.Errorf("squashing: %s is the first file of %s: there is nothing to squash it with; name a later version", last.Name, dir)
	}
	p.first = p.old[0].Version
	if from, _, ok := p.old[0].SquashRange(); ok {
		p.first = from
	}
	if err := p.checkStatements(opts.DropData); err != nil {
		return nil, err
	}
	desired, err := p.replayOld(ctx, folder, opts)
	if err != nil {
		return nil, err
	}
	if err := p.planAndProve(ctx, folder, opts, desired); err != nil {
		return nil, err
	}
	return p, nil
}

// dataStmt matches a statement that writes rows; sqliteRebuild the copy
// of rows into the new table of a SQLite table rebuild, which is schema.
var (
	dataStmt      = regexp.MustCompile(`(?is)^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|COPY|TRUNCATE)\b`)
	sqliteRebuild = regexp.MustCompile("(?is)^\\s*INSERT\\s+INTO\\s+[`\"]?new_\\w+[`\"]?\\s*\\(.*\\)\\s*SELECT\\b")
	schemaStmt    = regexp.MustCompile(`(?is)^\s*(CREATE\s+(UNIQUE\s+)?INDEX|CREATE\s+TABLE|ALTER\s+TABLE|DROP\s+(TABLE|INDEX)|PRAGMA|SET\b|RENAME\s+TABLE|COMMENT\s+ON)`)
)

// checkStatements refuses files whose statements the squash cannot keep.
func (p *squashPlan) checkStatements(dropData bool) error {
	for _, f := range p.old {
		for _, s := range f.Stmts {
			where := fmt.Sprintf("%s:%d", f.Name, s.Line)
			switch {
			case sqliteRebuild.MatchString(s.Text), schemaStmt.MatchString(s.Text):
			case dataStmt.MatchString(s.Text) && dropData:
				p.result.DroppedData = append(p.result.DroppedData, where)
			case dataStmt.MatchString(s.Text):
				return fmt.Errorf("squashing: %s/%s writes rows (%s): a squashed file is planned from the tables and would not; pass --drop-data-statements if databases built from scratch do not need those rows, or squash only up to before %s",
					p.dir, where, headOf(s.Text, 60), f.Name)
			default:
				return fmt.Errorf("squashing: %s/%s is not a table change (%s): a squashed file is planned from the tables and would lose it; squash only up to before %s",
					p.dir, where, headOf(s.Text, 60), f.Name)
			}
		}
	}
	return nil
}

// replayOld replays the files to squash on a dev database and returns the
// schema they build.
func (p *squashPlan) replayOld(ctx context.Context, folder string, opts SquashOptions) (*schema.Schema, error) {
	dev, err := OpenDev(ctx, DevOptions{Dialect: folder, URL: opts.DevURLs[folder], Root: opts.Root})
	if err != nil {
		return nil, fmt.Errorf("squashing %s: %w", folder, err)
	}
	defer p.closeDev(dev)
	p.result.Warnings = append(p.result.Warnings, dev.Notes...)
	files := make([]migrate.File, len(p.old))
	for i, f := range p.old {
		files[i] = migrate.NewLocalFile(f.Name, f.Bytes)
	}
	if _, err := Replay(ctx, dev.DB, folder, files, ""); err != nil {
		return nil, fmt.Errorf("squashing %s: %w", p.dir, err)
	}
	drv, err := openAtlas(folder, dev.DB)
	if err != nil {
		return nil, err
	}
	s, err := InspectTables(ctx, drv)
	if err != nil {
		return nil, wrapf("squashing "+folder+": inspecting the replayed files", err)
	}
	return s, nil
}

// planAndProve plans the squashed file from an empty dev database to
// desired, applies it there and compares the result with desired.
func (p *squashPlan) planAndProve(ctx context.Context, folder string, opts SquashOptions, desired *schema.Schema) error {
	dev, err := OpenDev(ctx, DevOptions{Dialect: folder, URL: opts.DevURLs[folder], Root: opts.Root})
	if err != nil {
		return fmt.Errorf("squashing %s: %w", folder, err)
	}
	defer p.closeDev(dev)
	pl, err := planTo(ctx, dev.DB, folder, desired, Options{AllowDestructive: true, Logger: opts.Logger})
	if err != nil {
		return err
	}
	p.content = squashContent(p.first, p.through, len(p.old), pl.Content)
	pl.Content = p.content
	if err := rehearse(ctx, dev.DB, pl, desired); err != nil {
		return fmt.Errorf("squashing %s: the squashed file does not build the schema the old files build: %w", p.dir, err)
	}
	p.result.Statements = len(pl.Statements)
	return nil
}

func (p *squashPlan) closeDev(dev *Dev) {
	if err := dev.Close(); err != nil {
		p.result.Warnings = append(p.result.Warnings, errtext.OneLine(err))
	}
}

// squashContent puts the squash directive at the head of the planned
// file's header directives.
func squashContent(first, through string, n int, planned []byte) []byte {
	lines := strings.Split(string(planned), "\n")
	var directives []string
	for len(lines) > 0 && (strings.HasPrefix(lines[0], "-- atlas:") || strings.HasPrefix(lines[0], "-- weber:")) {
		directives = append(directives, lines[0])
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- %s %s..%s\n", migdir.DirectiveSquashes, first, through)
	for _, d := range directives {
		b.WriteString(d + "\n")
	}
	fmt.Fprintf(&b, "-- %d files squashed by `weberctl db squash`: a database that applied them\n-- counts this file as applied; a new database runs it instead of them.\n\n", n)
	b.WriteString(strings.Join(lines, "\n"))
	return []byte(b.String())
}

// write replaces the old files of the folder with the squashed one and
// rewrites atlas.sum.
func (p *squashPlan) write() error {
	name := p.through + "_" + SquashName + ".sql"
	for _, f := range p.old {
		if err := os.Remove(filepath.Join(p.dir, f.Name)); err != nil {
			return wrapf("squashing: removing "+f.Name, err)
		}
		p.result.Removed = append(p.result.Removed, f.Name)
	}
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, p.content, 0o644); err != nil {
		return wrapf("squashing: writing "+path, err)
	}
	p.result.File = path
	return migdir.Rehash(p.dir)
}

// headOf is the start of a statement, for a message.
func headOf(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
