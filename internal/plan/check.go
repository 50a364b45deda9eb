package plan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"ariga.io/atlas/sql/schema"
	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/flavor"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/weberschema"
)

// CheckOptions configures Check.
type CheckOptions struct {
	// Root holds one folder per dialect (default "migrations").
	Root string
	// Dialects are the kept dialects, by folder name (default sqlite,
	// postgres, mysql).
	Dialects []string
	// DevURLs gives, per dialect, the server for its scratch database
	// (app.Config.DevURLs). SQLite needs none; a kept dialect without one
	// is a problem (the gate never passes unchecked).
	DevURLs map[string]string
	// Tables are the models: ent's migrate.Tables. Required; never modified.
	Tables []*entschema.Table
	// Renames are the models' declared renames (ent's migrate.Renames).
	Renames []weberschema.Rename
	// LintLatest, when positive, lints only each folder's newest LintLatest
	// files (for a history whose old, applied files have unmarked findings
	// that can no longer be edited); default: every file.
	LintLatest int
	// Kept are all the kept dialects, by folder name (default Dialects):
	// their folders must hold the same versions even when only some
	// dialects are checked (see CheckReport.Versions).
	Kept []string
	// Logger receives progress at debug level; nil discards.
	Logger *slog.Logger
	// Progress, when set, is called as each file of each dialect's replay
	// starts; the dialects are checked at once, so calls may overlap.
	Progress func(LintProgress)
}

// CheckReport is the verdict of Check, ready for `--json`.
type CheckReport struct {
	// OK is true when no dialect has a problem.
	OK bool
	// Dialects has one entry per kept dialect, in the order given.
	Dialects []DialectCheck
	// Versions are the problems of revisions whose version is not in every
	// kept dialect's folder, or not under one name; one line each.
	Versions []string
}

// DialectCheck is Check's verdict on one dialect.
type DialectCheck struct {
	Dialect string // folder name
	Dir     string
	// Files is the number of migration files in the folder.
	Files int
	// Integrity is the folder's refusal by migdir.Open ("" when valid);
	// nothing else is checked then.
	Integrity string
	// NotChecked says why the models and lint were not checked (no dev
	// database, a file that fails to replay...); "" when they were.
	NotChecked string
	// ModelsAhead reports models that differ from the history.
	ModelsAhead bool
	// ModelChanges lists what a revision would write, one change each,
	// then the destructive changes it would leave out.
	// Each names the table and column or index, e.g. "ADD COLUMN tags.slug".
	ModelChanges []string
	// Lint is the lint of the folder's files.
	Lint []LintedFile
	// LintErrors counts the findings that fail lint.
	LintErrors int
	// Problems are this dialect's one-line problems, each naming what to do.
	Problems []string
	// Warnings did not fail the check (e.g. a scratch database left behind).
	Warnings []string
	// Notices are advice that is no problem, e.g. a rename annotation
	// (weberschema.RenamedFrom) the history already holds.
	Notices []string
}

// Problems returns every dialect's problems, one line each, naming the
// dialect, the file and what to do. None means the gate passes.
func (r *CheckReport) Problems() []string {
	var out []string
	for _, d := range r.Dialects {
		out = append(out, d.Problems...)
	}
	return append(out, r.Versions...)
}

// Check is `db check`, the CI gate. For each kept dialect it validates the
// folder (migdir.Open: atlas.sum, names, versions, line endings), replays
// it on a dev database once, lints every file statement by statement (as
// LintFiles) and compares the result with the models (as ModelsAhead).
// Dialects are checked concurrently. A problem of a dialect is recorded in
// the report, never returned: the error is only for unusable options.
func Check(ctx context.Context, opts CheckOptions) (*CheckReport, error) {
	if len(opts.Tables) == 0 {
		return nil, errors.New("checking: no model tables given: pass ent's migrate.Tables")
	}
	if opts.Root == "" {
		opts.Root = "migrations"
	}
	if len(opts.Dialects) == 0 {
		opts.Dialects = []string{SQLite, Postgres, MySQL}
	}
	if opts.LintLatest < 0 {
		return nil, fmt.Errorf("checking: lint latest %d: give a positive number of files, or 0 for all", opts.LintLatest)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var folders []string
	for _, d := range opts.Dialects {
		f, err := folderName(d)
		if err != nil {
			return nil, fmt.Errorf("checking: %w", err)
		}
		if contains(folders, f) {
			return nil, fmt.Errorf("checking: dialect %s is listed twice: list each once", f)
		}
		folders = append(folders, f)
	}
	rep := &CheckReport{Dialects: make([]DialectCheck, len(folders))}
	var wg sync.WaitGroup
	for i, f := range folders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep.Dialects[i] = checkDialect(ctx, f, filepath.Join(opts.Root, f), opts.DevURLs[f], opts, log)
		}()
	}
	wg.Wait()
	kept := opts.Kept
	if len(kept) == 0 {
		kept = opts.Dialects
	}
	rep.Versions = versionProblems(opts.Root, kept)
	rep.OK = len(rep.Problems()) == 0
	return rep, nil
}

// checkDialect checks one folder; every problem lands in the result.
func checkDialect(ctx context.Context, folder, dir, devURL string, opts CheckOptions, log *slog.Logger) DialectCheck {
	tables, renames, latest, progress := opts.Tables, opts.Renames, opts.LintLatest, opts.Progress
	dc := DialectCheck{Dialect: folder, Dir: dir}
	ed, _ := entDialect(folder)
	md, err := migdir.OpenDialect(dir, ed)
	if err != nil {
		dc.Integrity = errtext.OneLine(err)
		dc.Problems = append(dc.Problems, folder+": "+dc.Integrity)
		return dc
	}
	dc.Files = len(md.Files)
	notChecked := func(err error) DialectCheck {
		dc.NotChecked = errtext.OneLine(err)
		dc.Problems = append(dc.Problems, folder+": models and lint not checked: "+dc.NotChecked)
		return dc
	}
	if folder != SQLite && strings.TrimSpace(devURL) == "" {
		return notChecked(&MissingDevURLError{Dialect: folder, Variable: DevURLVariable(folder)})
	}
	selected, err := selectFiles(md, nil, latest)
	if err != nil {
		return notChecked(err)
	}
	dev, err := OpenDev(ctx, DevOptions{Dialect: folder, URL: devURL, Root: filepath.Dir(dir)})
	if err != nil {
		return notChecked(err)
	}
	db, cleanup := dev.DB, dev.Close
	dc.Warnings = append(dc.Warnings, dev.Notes...)
	defer func() {
		if err := cleanup(); err != nil {
			dc.Warnings = append(dc.Warnings, errtext.OneLine(err))
		}
	}()
	if err := checkDevFlavor(ctx, db, folder, dir, flavor.FromDir(md.Files)); err != nil {
		return notChecked(err)
	}
	// ent reads the models' schema while the dev database is still empty.
	desired, err := Desired(ctx, db, folder, tables)
	if err != nil {
		return notChecked(err)
	}
	if desired, err = normalizeDesired(ctx, db, folder, filepath.Dir(dir), desired); err != nil {
		return notChecked(err)
	}
	if dc.Lint, err = lintHistory(ctx, db, folder, md, selected, "", log, progress); err != nil {
		return notChecked(err)
	}
	dc.countLintErrors(folder, dir)
	p, err := planTo(ctx, db, folder, desired, Options{Logger: log, Renames: renames})
	if err != nil {
		return notChecked(err)
	}
	dc.Notices = renameNotices(p.DoneRenames, md.Files)
	if p.Ahead() {
		dc.modelsAhead(folder, dir, p)
	}
	log.Debug("checked", "dialect", folder, "files", dc.Files, "ahead", dc.ModelsAhead, "lint_errors", dc.LintErrors)
	return dc
}

// countLintErrors counts the error findings of dc.Lint, each a problem.
func (dc *DialectCheck) countLintErrors(folder, dir string) {
	for _, lf := range dc.Lint {
		for _, f := range lf.Findings {
			if f.IsError() {
				dc.LintErrors++
				dc.Problems = append(dc.Problems, lintProblem(folder, dir, f))
			}
		}
	}
}

// modelsAhead records that the models are ahead of the files by p's
// changes, with the fix as a problem.
func (dc *DialectCheck) modelsAhead(folder, dir string, p *Plan) {
	dc.ModelsAhead = true
	dc.ModelChanges = describeChanges(p.Changes)
	for _, l := range p.LeftOut {
		dc.ModelChanges = append(dc.ModelChanges, l.String()+" (destructive: needs --allow-destructive)")
	}
	fix := "run `weberctl db revision` and commit the files"
	if len(p.Statements) == 0 {
		fix = "run `weberctl db revision --allow-destructive` if the removals are intended, or put the fields back in the models"
	}
	dc.Problems = append(dc.Problems, fmt.Sprintf("%s: the models are ahead of %s (%s): %s",
		folder, dir, strings.Join(dc.ModelChanges, "; "), fix))
}

// lintProblem is the one-line problem of a lint error.
func lintProblem(folder, dir string, f Finding) string {
	s := fmt.Sprintf("%s: %s line %d: %s %s (%s)", folder, filepath.Join(dir, f.File), f.Line, f.Code, f.Message, errtext.Flatten(f.Statement))
	if f.Alternative != "" {
		s += ": " + strings.TrimSuffix(f.Alternative, ".") + "; if it is intended"
	} else {
		s += ": if it is intended"
	}
	return s + ", put `-- atlas:nolint " + f.Analyzer + "` on the line above the statement and run `weberctl db hash` (only in a file not yet applied anywhere)"
}

// describeChanges names each schema change down to the table and the
// column, index or foreign key, e.g. "ADD COLUMN tags.slug".
func describeChanges(changes []schema.Change) []string {
	var out []string
	for _, c := range changes {
		switch c := c.(type) {
		case *schema.AddTable:
			out = append(out, "ADD TABLE "+c.T.Name)
		case *schema.DropTable:
			out = append(out, "DROP TABLE "+c.T.Name)
		case *schema.RenameTable:
			out = append(out, "RENAME TABLE "+c.From.Name+" TO "+c.To.Name)
		case *schema.ModifyTable:
			t := c.T.Name
			for _, sc := range c.Changes {
				switch sc := sc.(type) {
				case *schema.AddColumn:
					out = append(out, "ADD COLUMN "+t+"."+sc.C.Name)
				case *schema.DropColumn:
					out = append(out, "DROP COLUMN "+t+"."+sc.C.Name)
				case *schema.ModifyColumn:
					out = append(out, "MODIFY COLUMN "+t+"."+sc.To.Name+" ("+columnChange(sc.Change)+")")
				case *schema.RenameColumn:
					out = append(out, "RENAME COLUMN "+t+"."+sc.From.Name+" TO "+sc.To.Name)
				case *schema.AddIndex:
					out = append(out, "ADD INDEX "+t+"."+sc.I.Name)
				case *schema.DropIndex:
					out = append(out, "DROP INDEX "+t+"."+sc.I.Name)
				case *schema.ModifyIndex:
					out = append(out, "MODIFY INDEX "+t+"."+sc.To.Name)
				case *schema.AddForeignKey:
					out = append(out, "ADD FOREIGN KEY "+t+"."+sc.F.Symbol)
				case *schema.DropForeignKey:
					out = append(out, "DROP FOREIGN KEY "+t+"."+sc.F.Symbol)
				case *schema.ModifyForeignKey:
					out = append(out, "MODIFY FOREIGN KEY "+t+"."+sc.To.Symbol)
				case *schema.AddCheck:
					out = append(out, "ADD CHECK "+t+"."+sc.C.Name)
				case *schema.DropCheck:
					out = append(out, "DROP CHECK "+t+"."+sc.C.Name)
				default:
					out = append(out, "MODIFY TABLE "+t)
				}
			}
		default:
			out = append(out, strings.TrimPrefix(fmt.Sprintf("%T", c), "*schema."))
		}
	}
	return out
}

// columnChange names what changed in a column.
func columnChange(k schema.ChangeKind) string {
	var parts []string
	for _, n := range []struct {
		k    schema.ChangeKind
		name string
	}{{schema.ChangeType, "type"}, {schema.ChangeNull, "nullability"}, {schema.ChangeDefault, "default"},
		{schema.ChangeComment, "comment"}, {schema.ChangeCharset, "charset"}, {schema.ChangeCollate, "collation"},
		{schema.ChangeGenerated, "generated"}, {schema.ChangeAttr, "attributes"}} {
		if k.Is(n.k) {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "definition"
	}
	return strings.Join(parts, ", ")
}
