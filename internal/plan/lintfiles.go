package plan

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"

	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/liveschema"
	"github.com/weber-framework/weber/internal/migdir"
)

// LintOptions configures LintFiles.
type LintOptions struct {
	// Dir is one dialect's migration folder, e.g. migrations/postgres.
	// Required.
	Dir string
	// Dialect is sqlite, postgres or mysql (ent's names work too); default:
	// the folder's base name.
	Dialect string
	// DevURL names the server for the scratch database (postgres and
	// mysql); SQLite needs none.
	DevURL string
	// Versions are the files to lint, by version (a file name works too);
	// empty lints every file.
	Versions []string
	// Latest, when positive, lints only the newest Latest files. It cannot
	// be combined with Versions.
	Latest int
	// Logger receives progress at debug level; nil discards.
	Logger *slog.Logger
	// Progress, when set, is called as each file of the replay starts, so
	// that a caller can show how far a long history is.
	Progress func(LintProgress)
}

// LintProgress is a file of LintFiles' replay starting.
type LintProgress struct {
	Dialect string // folder name
	File    string // the file's name
	Done    int    // files started so far, this one included
	Total   int    // files the replay runs
}

// LintReport is the outcome of LintFiles.
type LintReport struct {
	Dialect string // folder name
	Dir     string
	// Replayed is the number of files replayed on the dev database (every
	// file up to the newest one linted).
	Replayed int
	// Files are the linted files, in version order.
	Files []LintedFile
	// Warnings are problems that did not stop the lint, e.g. a scratch
	// database that could not be dropped.
	Warnings []string
}

// LintedFile is the lint of one migration file.
type LintedFile struct {
	Name       string
	Version    string
	Statements int
	Findings   []Finding
}

// Findings returns every finding of every file, in file order.
func (r *LintReport) Findings() []Finding {
	var out []Finding
	for _, f := range r.Files {
		out = append(out, f.Findings...)
	}
	return out
}

// Errors returns the findings that fail lint: destructive changes not
// marked intended by an `-- atlas:nolint` directive.
func (r *LintReport) Errors() []Finding {
	var out []Finding
	for _, f := range r.Findings() {
		if f.IsError() {
			out = append(out, f)
		}
	}
	return out
}

// LintFiles lints existing migration files, hand-written or edited ones
// included: it validates the folder (atlas.sum, names, line endings),
// replays the history on a dev database statement by statement and, for
// each file to lint, inspects the schema after every statement that may
// change it, so each statement is linted with the schema changes it really
// makes. The findings come from the same analyzers and explanations as
// Revise's. A finding is intended (reported, not an error) when an
// `-- atlas:nolint [analyzer|code ...]` directive stands above its
// statement or in the file's header block (the comments at the top of the
// file, separated from the first statement by an empty line).
//
// The work is linear: one replay, one inspection per schema-changing
// statement of the linted files, none for the other files.
func LintFiles(ctx context.Context, opts LintOptions) (*LintReport, error) {
	if strings.TrimSpace(opts.Dir) == "" {
		return nil, fmt.Errorf("linting: no migration folder given: pass the dialect's folder, e.g. migrations/sqlite")
	}
	dia := opts.Dialect
	if dia == "" {
		dia = filepath.Base(filepath.Clean(opts.Dir))
	}
	folder, err := folderName(dia)
	if err != nil {
		return nil, fmt.Errorf("linting %s: %w", opts.Dir, err)
	}
	ed, _ := entDialect(folder)
	md, err := migdir.OpenDialect(opts.Dir, ed)
	if err != nil {
		return nil, err
	}
	selected, err := selectFiles(md, opts.Versions, opts.Latest)
	if err != nil {
		return nil, err
	}
	rep := &LintReport{Dialect: folder, Dir: opts.Dir, Files: []LintedFile{}}
	if len(selected) == 0 {
		return rep, nil
	}
	dev, err := OpenDev(ctx, DevOptions{Dialect: folder, URL: opts.DevURL, Root: filepath.Dir(filepath.Clean(opts.Dir))})
	if err != nil {
		return nil, fmt.Errorf("linting %s: %w", opts.Dir, err)
	}
	db, cleanup := dev.DB, dev.Close
	rep.Warnings = append(rep.Warnings, dev.Notes...)
	defer func() {
		if err := cleanup(); err != nil {
			rep.Warnings = append(rep.Warnings, errtext.OneLine(err))
		}
	}()
	upTo := ""
	for _, f := range md.Files {
		if selected[f.Name] {
			upTo = f.Version
		}
	}
	files, err := lintHistory(ctx, db, folder, md, selected, upTo, opts.Logger, opts.Progress)
	if err != nil {
		return nil, fmt.Errorf("linting %s: %w", opts.Dir, err)
	}
	rep.Files = files
	for _, f := range md.Files {
		rep.Replayed++
		if f.Version == upTo {
			break
		}
	}
	return rep, nil
}

// selectFiles returns the names of the files to lint: those of versions,
// the newest latest ones, or all.
func selectFiles(md *migdir.Dir, versions []string, latest int) (map[string]bool, error) {
	out := map[string]bool{}
	switch {
	case latest < 0:
		return nil, fmt.Errorf("linting %s: --latest %d: give a positive number of files", md.Path, latest)
	case latest > 0 && len(versions) > 0:
		return nil, fmt.Errorf("linting %s: give versions or --latest, not both", md.Path)
	case latest > 0:
		for _, f := range md.Files[max(0, len(md.Files)-latest):] {
			out[f.Name] = true
		}
	case len(versions) == 0:
		for _, f := range md.Files {
			out[f.Name] = true
		}
	}
	for _, v := range versions {
		v = strings.TrimSuffix(filepath.Base(strings.TrimSpace(v)), ".sql")
		if i := strings.IndexByte(v, '_'); i > 0 {
			v = v[:i]
		}
		f := md.Find(v)
		if f == nil {
			hint := "the folder has no files"
			if n := md.Nearest(v); n != "" {
				hint = "did you mean " + n + "? (`weberctl db history` lists them)"
			}
			return nil, fmt.Errorf("linting %s: no file has version %q: %s", md.Path, v, hint)
		}
		out[f.Name] = true
	}
	return out, nil
}

// lintHistory replays the whole folder (up to upTo, "" for all) on db, an
// empty dev database, and lints the selected files statement by statement.
func lintHistory(ctx context.Context, db *sql.DB, folder string, md *migdir.Dir, selected map[string]bool, upTo string, log *slog.Logger, progress func(LintProgress)) ([]LintedFile, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	files := make([]migrate.File, len(md.Files))
	for i, f := range md.Files {
		files[i] = migrate.NewLocalFile(f.Name, f.Bytes)
	}
	l := &fileLinter{folder: folder, selected: selected, log: log, progress: progress}
	for _, f := range md.Files {
		l.total++
		if f.Version == upTo {
			break
		}
	}
	return l.run(ctx, db, files, upTo)
}

// run replays files on db, linting the selected ones.
func (l *fileLinter) run(ctx context.Context, db *sql.DB, files []migrate.File, upTo string) ([]LintedFile, error) {
	l.out = []LintedFile{}
	if _, err := replay(ctx, db, l.folder, files, upTo, l); err != nil {
		return nil, err
	}
	return l.out, nil
}

// fileLinter is the replay observer of LintFiles: it follows the schema
// of the dev database statement by statement through the files to lint and
// lints each file at its end.
//
// Most statements of real histories (CREATE TABLE, CREATE INDEX, adding a
// nullable column or a foreign key) make changes that no analyzer reports
// on: for those, the only thing lint needs is that the file's other
// findings see them (Atlas's analyzers ask whether a table, column or
// index was added in the same file). Statements run in batches between two
// inspections of the tables the batch named, and each change read is
// credited to the first statement of the batch that named its table. So
// that every change has a single author, a batch ends before a statement
// that touches a table a non-quiet statement of the batch changed, and
// before a non-quiet statement that touches a table the batch already
// touched (unless the batch created that table: no analyzer reports a
// change to a table created in the same file, so the change joins the
// creation; renames and drops never do). A file made of quiet statements
// only has no finding whatever they change, so it is not inspected at
// all: the tables it names are read again when the next file that has
// other statements starts. The
// findings are the same as with one inspection per statement
// (TestLintFilesBatchingKeepsFindings); the cost is one inspection per
// batch in the files that need one, and nothing more than the replay in
// the others.
//
// It keeps a snapshot of the whole schema and, after a statement that
// names its tables (CREATE/ALTER/DROP TABLE, CREATE INDEX ... ON, RENAME
// TABLE), inspects only those tables (with a rename, also the tables whose
// foreign keys follow it), so a statement costs the same however large
// the schema has grown and the whole lint stays linear in the size of the
// history. Any other statement, or one whose effect may reach other tables
// (CASCADE), gets a full inspection.
type fileLinter struct {
	folder   string
	selected map[string]bool
	log      *slog.Logger
	out      []LintedFile
	// progress is told as each file starts; done of total files.
	progress    func(LintProgress)
	done, total int

	conn  *sql.Conn // the replay's connection drv is open on
	drv   migrate.Driver
	file  migrate.File
	stmts []*migrate.Stmt
	per   []schema.Changes
	// snap is the dev database's schema before the next statement; nil
	// when unknown (after a file that was not watched).
	snap *schema.Schema

	// batch holds the statements executed since the last inspection,
	// batchScope the tables they name, batchFirst the
	// first of them to name each table, and batchAll whether one of them
	// names none, so that the batch needs a full inspection.
	batch      []int
	batchScope []string
	batchFirst map[string]int
	batchAll   bool
	// batchCreated holds the tables a CREATE TABLE of the batch created
	// (they did not exist before it); joining is set, from beforeStmt to
	// afterStmt, for a statement that is not quiet but joins the batch.
	batchCreated map[string]bool
	joining      bool
	// batchLoud holds the tables a statement of the batch that is not
	// quiet changed first (no other statement of the batch may change
	// them), batchVanish those it drops or renames, and batchRenames
	// those statements (their drop-and-add pairs become renames).
	batchLoud    map[string]bool
	batchVanish  map[string]bool
	batchRenames []int
	// exact is set for a file with a statement that is not quiet: its
	// quiet statements' changes are read and credited. A file without one
	// has no finding whatever its changes; the tables its statements name
	// are only marked dirty (dirtyAll: some statement named none), and
	// read again at the start of the next exact file.
	exact    bool
	dirty    []string
	dirtyAll bool

	// full turns scoped inspection off, noBatch the batching of quiet
	// statements, and trace, when set, sees each statement's changes: all
	// for tests.
	full    bool
	noBatch bool
	trace   func(file string, stmt int, changes []schema.Change)
}

func (l *fileLinter) fileStart(ctx context.Context, conn *sql.Conn, f migrate.File, stmts []*migrate.Stmt) (bool, error) {
	if l.progress != nil {
		l.done++
		l.progress(LintProgress{Dialect: l.folder, File: f.Name(), Done: l.done, Total: l.total})
	}
	if !l.selected[f.Name()] {
		l.snap, l.dirty, l.dirtyAll = nil, nil, false
		return false, nil
	}
	if l.conn != conn {
		drv, err := openAtlas(l.folder, conn)
		if err != nil {
			return false, err
		}
		l.conn, l.drv, l.snap = conn, drv, nil
	}
	if l.snap == nil {
		snap, err := InspectTables(ctx, l.drv)
		if err != nil {
			return false, wrapf("linting "+f.Name()+": inspecting the dev database", err)
		}
		l.snap, l.dirty, l.dirtyAll = snap, nil, false
	}
	l.file, l.stmts = f, stmts
	l.per = make([]schema.Changes, len(stmts))
	l.exact = slices.ContainsFunc(stmts, func(s *migrate.Stmt) bool { return mayChangeSchema(s.Text) && !l.batches(s.Text) })
	if l.exact && (l.dirtyAll || len(l.dirty) > 0) {
		// Read what the files without findings changed, before this
		// file's statements change it further.
		dirty, all := l.dirty, l.dirtyAll
		l.dirty, l.dirtyAll = nil, false
		if _, err := l.stepIn(ctx, "", dirty, !all, nil); err != nil {
			return false, wrapf("linting "+f.Name()+": inspecting the dev database", err)
		}
	}
	return true, nil
}

func (l *fileLinter) beforeStmt(ctx context.Context, _ *sql.Conn, i int) error {
	s := l.stmts[i].Text
	l.joining = false
	if !mayChangeSchema(s) || !l.exact || l.full || l.noBatch {
		return nil
	}
	scope, ok := l.scope(s)
	isQuiet := quiet(l.folder, s)
	switch {
	case !ok && isQuiet:
		l.joining = true // it changes no table the batch credits
		return nil
	case !ok:
		return l.flush(ctx) // then inspected alone
	case isQuiet && !l.ownedByLoud(scope):
		l.joining = true
		return nil
	case !isQuiet && l.joinsCreation(s, scope):
		l.joining = true
		return nil
	case !isQuiet && !l.inBatch(scope):
		l.joining = true
		return nil
	}
	l.joining = true // after the flush, it starts the next batch
	return l.flush(ctx)
}

// reRenameOrDrop matches the statements that never join the batch of a
// table's creation: renames change the names changes are credited by,
// and a dropped unique index silences findings on other tables (Atlas's
// data_depend analyzer).
var reRenameOrDrop = regexp.MustCompile(`(?i)\b(?:DROP|RENAME|CHANGE)\b`)

// joinsCreation reports whether a statement that is not quiet may join
// the batch together with the creation of its tables: every table it
// changes was created by a CREATE TABLE of the batch and nothing loud
// touched them since. No analyzer reports a change to a table created in
// the same file, except through the names of the file (which renames and
// drops change: those never join), so its change may be read together
// with the table's creation and credited to it.
func (l *fileLinter) joinsCreation(stmt string, scope []string) bool {
	if reRenameOrDrop.MatchString(stmt) || reQuietCreateTable.MatchString(stmt) {
		return false
	}
	for _, t := range scope {
		if !l.batchCreated[t] || l.batchLoud[t] {
			return false
		}
	}
	return true
}

// inBatch reports whether a statement of the batch named one of the
// tables.
func (l *fileLinter) inBatch(scope []string) bool {
	for _, t := range scope {
		if _, ok := l.batchFirst[t]; ok {
			return true
		}
	}
	return false
}

// ownedByLoud reports whether a statement of the batch that is not quiet
// changed one of the tables first: the changes read for it must be its
// own.
func (l *fileLinter) ownedByLoud(scope []string) bool {
	for _, t := range scope {
		if l.batchLoud[t] {
			return true
		}
	}
	return false
}

// batches reports whether the statement is quiet and batching is on.
func (l *fileLinter) batches(stmt string) bool {
	return !l.full && !l.noBatch && quiet(l.folder, stmt)
}

func (l *fileLinter) afterStmt(ctx context.Context, _ *sql.Conn, i int) error {
	s := l.stmts[i]
	if !mayChangeSchema(s.Text) {
		return nil
	}
	switch {
	case l.batches(s.Text) && !l.exact:
		l.markDirty(s.Text)
		return nil
	case l.joining:
		l.addToBatch(i)
		return nil
	}
	changes, err := l.step(ctx, s.Text)
	if err != nil {
		return wrapf(fmt.Sprintf("linting %s, statement %d (line %d): reading the schema change it made on the dev database",
			l.file.Name(), i+1, lineAt(string(l.file.Bytes()), s.Pos)), err)
	}
	l.per[i] = fixRenames(s.Text, changes)
	if l.trace != nil {
		l.trace(l.file.Name(), i, l.per[i])
	}
	return nil
}

func (l *fileLinter) fileEnd(ctx context.Context, _ *sql.Conn) error {
	if err := l.flush(ctx); err != nil {
		return err
	}
	findings, err := lint(ctx, l.folder, l.drv, l.file.Name(), string(l.file.Bytes()), l.stmts, l.per)
	if err != nil {
		return err
	}
	if findings == nil {
		findings = []Finding{}
	}
	l.out = append(l.out, LintedFile{Name: l.file.Name(), Version: l.file.Version(), Statements: len(l.stmts), Findings: findings})
	l.log.Debug("linted", "dialect", l.folder, "file", l.file.Name(), "statements", len(l.stmts), "findings", len(findings))
	l.file, l.stmts, l.per = nil, nil, nil
	return nil
}

// step returns the schema changes the statement just made and moves the
// snapshot past it.
func (l *fileLinter) step(ctx context.Context, stmt string) ([]schema.Change, error) {
	scope, ok := l.scope(stmt)
	return l.stepIn(ctx, stmt, scope, ok, nil)
}

// stepIn is step for a statement (or a batch: stmt "", whose statements
// drop or rename the tables of vanish) whose changes stay within the
// tables of scope when ok.
func (l *fileLinter) stepIn(ctx context.Context, stmt string, scope []string, ok bool, vanish map[string]bool) ([]schema.Change, error) {
	if ok && !l.full {
		before := l.snapTables(scope)
		after, err := l.drv.InspectSchema(ctx, "", &schema.InspectOptions{
			Mode:    schema.InspectSchemas | schema.InspectTables,
			Tables:  scope,
			Exclude: liveschema.OwnTables,
		})
		if err == nil && after.Name == l.snap.Name && plausible(stmt, scope, before, after.Tables, vanish) {
			from := &schema.Schema{Name: l.snap.Name, Realm: l.snap.Realm, Attrs: l.snap.Attrs, Tables: before}
			if changes, err := l.drv.SchemaDiff(from, after); err == nil {
				l.merge(scope, after.Tables)
				return changes, nil
			}
		}
		l.log.Debug("lint: scoped inspection did not fit, inspecting everything", "statement", errtext.Flatten(stmt), "tables", len(scope))
	}
	after, err := InspectTables(ctx, l.drv)
	if err != nil {
		return nil, err
	}
	changes, err := l.drv.SchemaDiff(l.snap, after)
	if err != nil {
		return nil, err
	}
	l.snap = &schema.Schema{Name: after.Name, Realm: after.Realm, Attrs: after.Attrs}
	l.merge(nil, after.Tables)
	return changes, nil
}

// snapTables returns the snapshot's tables with the names.
func (l *fileLinter) snapTables(names []string) []*schema.Table {
	var out []*schema.Table
	for _, t := range l.snap.Tables {
		if slices.Contains(names, t.Name) {
			out = append(out, t)
		}
	}
	return out
}

// merge replaces the snapshot's tables named by scope with tables. It
// keeps copies: the changes reported for a statement must not share a
// table with the snapshot, because Atlas's SQLite analyzer renames the
// tables of the changes it merges.
func (l *fileLinter) merge(scope []string, tables []*schema.Table) {
	l.snap.Tables = slices.DeleteFunc(l.snap.Tables, func(t *schema.Table) bool { return slices.Contains(scope, t.Name) })
	for _, t := range tables {
		c := *t
		c.Schema = l.snap
		l.snap.Tables = append(l.snap.Tables, &c)
	}
}

var (
	reCascade     = regexp.MustCompile(`(?i)\bCASCADE\b`)
	reCreateTable = regexp.MustCompile(`(?is)^\s*CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(` + qident + `)`)
	reAlterTable  = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(` + qident + `)`)
	reDropTable   = regexp.MustCompile(`(?is)^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(` + qident + `(?:\s*,\s*` + qident + `)*)\s*;?\s*$`)
	reCreateIndex = regexp.MustCompile(`(?is)^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?:` + qident + `\s+)?ON\s+(?:ONLY\s+)?(` + qident + `)`)
	reDropIndexOn = regexp.MustCompile(`(?is)^\s*DROP\s+INDEX\s+` + ident + `\s+ON\s+(` + qident + `)\s*;?\s*$`)
	reDropIndex   = regexp.MustCompile(`(?is)^\s*DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(` + qident + `)\s*;?\s*$`)
	reQident      = regexp.MustCompile(qident)
)

// scope returns the tables a statement changes, as the dev database names
// them, when it can tell them and the statement changes no other table.
func (l *fileLinter) scope(stmt string) ([]string, bool) {
	if reCascade.MatchString(stmt) {
		return nil, false
	}
	var raw []string
	switch {
	case reCreateTable.MatchString(stmt):
		raw = append(raw, reCreateTable.FindStringSubmatch(stmt)[1])
	case reAlterTable.MatchString(stmt):
		raw = append(raw, reAlterTable.FindStringSubmatch(stmt)[1])
		if m := reRenameTable.FindStringSubmatch(stmt); m != nil {
			raw = append(raw, m[2])
		}
	case reDropTable.MatchString(stmt):
		raw = reQident.FindAllString(reDropTable.FindStringSubmatch(stmt)[1], -1)
	case reCreateIndex.MatchString(stmt):
		raw = append(raw, reCreateIndex.FindStringSubmatch(stmt)[1])
	case reDropIndexOn.MatchString(stmt):
		raw = append(raw, reDropIndexOn.FindStringSubmatch(stmt)[1])
	case reDropIndex.MatchString(stmt):
		return l.indexTable(reDropIndex.FindStringSubmatch(stmt)[1])
	case reRenameTables.MatchString(stmt):
		loc := reRenameTables.FindStringIndex(stmt)
		for _, m := range reTablePair.FindAllStringSubmatch(stmt[loc[1]:], -1) {
			raw = append(raw, m[1], m[2])
		}
	default:
		return nil, false
	}
	var scope []string
	for _, r := range raw {
		if n := l.resolve(r); n != "" && !slices.Contains(scope, n) {
			scope = append(scope, n)
		}
	}
	if len(scope) == 0 {
		return nil, false
	}
	// Other tables' foreign keys follow a renamed table or column: they
	// are in the scope too.
	if reRenameColumn.MatchString(stmt) || reChangeColumn.MatchString(stmt) || reRenameTable.MatchString(stmt) || reRenameTables.MatchString(stmt) {
		scope = l.withReferrers(scope)
	}
	return scope, true
}

// indexTable returns the table of the index named raw, when the snapshot
// has it.
func (l *fileLinter) indexTable(raw string) ([]string, bool) {
	idx := l.resolve(raw)
	for _, t := range l.snap.Tables {
		for _, i := range t.Indexes {
			if i.Name == idx {
				return []string{t.Name}, true
			}
		}
	}
	return nil, false
}

// withReferrers adds to scope the tables whose foreign keys reference a
// table of scope.
func (l *fileLinter) withReferrers(scope []string) []string {
	named := len(scope)
	for _, t := range l.snap.Tables {
		if slices.Contains(scope, t.Name) {
			continue
		}
		if slices.ContainsFunc(t.ForeignKeys, func(fk *schema.ForeignKey) bool {
			return fk.RefTable != nil && slices.Contains(scope[:named], fk.RefTable.Name)
		}) {
			scope = append(scope, t.Name)
		}
	}
	return scope
}

// resolve maps an identifier as written to the name the dev database
// gives it: the snapshot's table of that name (ignoring case) or, for a
// new one, the name with PostgreSQL's folding of unquoted names.
func (l *fileLinter) resolve(raw string) string {
	name := unquote(raw)
	if name == "" {
		return ""
	}
	for _, t := range l.snap.Tables {
		if t.Name == name {
			return name
		}
	}
	for _, t := range l.snap.Tables {
		if strings.EqualFold(t.Name, name) {
			return t.Name
		}
	}
	last := raw[strings.LastIndexAny(raw, ".")+1:]
	if q := strings.TrimSpace(last); l.folder == Postgres && q != "" && q[0] != '"' {
		return strings.ToLower(name)
	}
	return name
}

// plausible reports whether a scoped inspection accounts for the
// statement: every table it names exists before or after it, and tables
// vanish only when dropped or renamed.
func plausible(stmt string, scope []string, before, after []*schema.Table, vanish map[string]bool) bool {
	has := func(ts []*schema.Table, n string) bool {
		return slices.ContainsFunc(ts, func(t *schema.Table) bool { return t.Name == n })
	}
	vanished, appeared := 0, 0
	for _, n := range scope {
		b, a := has(before, n), has(after, n)
		switch {
		case !b && !a:
			return false
		case b && !a && stmt == "" && !vanish[n]:
			return false
		case b && !a:
			vanished++
		case !b && a:
			appeared++
		}
	}
	switch {
	case vanished == 0 || stmt == "":
		return true
	case reDropTable.MatchString(stmt):
		return appeared == 0
	case reRenameTable.MatchString(stmt) || reRenameTables.MatchString(stmt):
		return appeared == vanished
	}
	return false
}

// mayChangeSchema reports whether a statement may change the schema; the
// linter does not inspect the database after data statements.
func mayChangeSchema(stmt string) bool {
	w, _, _ := strings.Cut(strings.TrimSpace(stmt), " ")
	switch strings.ToUpper(strings.TrimRight(w, ";")) {
	case "INSERT", "UPDATE", "DELETE", "PRAGMA", "SET", "ANALYZE":
		return false
	}
	return true
}

// ident matches one SQL identifier, quoted or not; qident one optionally
// qualified by a schema.
const (
	ident  = "(?:`[^`]+`|\"[^\"]+\"|\\[[^\\]]+\\]|[A-Za-z_][A-Za-z0-9_$]*)"
	qident = "(?:" + ident + `\s*\.\s*)?` + ident
)

var (
	// ALTER TABLE t RENAME [COLUMN] a TO b (all three), CHANGE [COLUMN] a b
	// type (MySQL).
	reRenameColumn = regexp.MustCompile(`(?i)\bRENAME\s+(?:COLUMN\s+)?(` + ident + `)\s+TO\s+(` + ident + `)`)
	reChangeColumn = regexp.MustCompile(`(?i)\bCHANGE\s+(?:COLUMN\s+)?(` + ident + `)\s+(` + ident + `)`)
	// ALTER TABLE a RENAME [TO|AS] b, RENAME TABLE a TO b[, c TO d] (MySQL).
	reRenameTable  = regexp.MustCompile(`(?i)\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(` + qident + `)\s+RENAME\s+(?:TO\s+|AS\s+)?(` + qident + `)\s*;?\s*$`)
	reRenameTables = regexp.MustCompile(`(?i)^\s*RENAME\s+TABLE\s+`)
	reTablePair    = regexp.MustCompile(`(?i)(` + qident + `)\s+TO\s+(` + qident + `)`)
)

// unquote returns an identifier's name without quotes or schema qualifier.
func unquote(id string) string {
	id = strings.TrimSpace(id)
	if n := len(id); n >= 2 {
		switch c := id[n-1]; c {
		case '`', '"', ']':
			open := c
			if c == ']' {
				open = '['
			}
			if i := strings.LastIndexByte(id[:n-1], open); i >= 0 {
				return id[i+1 : n-1]
			}
		}
	}
	if i := strings.LastIndexByte(id, '.'); i >= 0 {
		return strings.TrimSpace(id[i+1:])
	}
	return id
}

// fixRenames turns the drop-and-add pairs a schema diff sees for a rename
// into the renames the statement makes, as Atlas's own SQL parser does for
// its linter: without it a renamed column would be reported as dropped
// (destructive) instead of renamed (backward incompatible).
func fixRenames(stmt string, changes []schema.Change) []schema.Change {
	type pair struct{ from, to string }
	var cols, tables []pair
	for _, re := range []*regexp.Regexp{reRenameColumn, reChangeColumn} {
		for _, m := range re.FindAllStringSubmatch(stmt, -1) {
			if from, to := unquote(m[1]), unquote(m[2]); !strings.EqualFold(from, to) {
				cols = append(cols, pair{from, to})
			}
		}
	}
	if m := reRenameTable.FindStringSubmatch(stmt); m != nil {
		tables = append(tables, pair{unquote(m[1]), unquote(m[2])})
	}
	if loc := reRenameTables.FindStringIndex(stmt); loc != nil {
		for _, m := range reTablePair.FindAllStringSubmatch(stmt[loc[1]:], -1) {
			tables = append(tables, pair{unquote(m[1]), unquote(m[2])})
		}
	}
	if len(cols) == 0 && len(tables) == 0 {
		return changes
	}
	for _, p := range tables {
		di := indexOf(changes, func(c schema.Change) bool {
			d, ok := c.(*schema.DropTable)
			return ok && strings.EqualFold(d.T.Name, p.from)
		})
		ai := indexOf(changes, func(c schema.Change) bool {
			a, ok := c.(*schema.AddTable)
			return ok && strings.EqualFold(a.T.Name, p.to)
		})
		if di < 0 || ai < 0 {
			continue
		}
		changes[di] = &schema.RenameTable{From: changes[di].(*schema.DropTable).T, To: changes[ai].(*schema.AddTable).T}
		changes = append(changes[:ai:ai], changes[ai+1:]...)
	}
	for _, c := range changes {
		m, ok := c.(*schema.ModifyTable)
		if !ok {
			continue
		}
		for _, p := range cols {
			di := indexOf(m.Changes, func(c schema.Change) bool {
				d, ok := c.(*schema.DropColumn)
				return ok && strings.EqualFold(d.C.Name, p.from)
			})
			ai := indexOf(m.Changes, func(c schema.Change) bool {
				a, ok := c.(*schema.AddColumn)
				return ok && strings.EqualFold(a.C.Name, p.to)
			})
			if di < 0 || ai < 0 {
				continue
			}
			m.Changes[di] = &schema.RenameColumn{From: m.Changes[di].(*schema.DropColumn).C, To: m.Changes[ai].(*schema.AddColumn).C}
			m.Changes = append(m.Changes[:ai:ai], m.Changes[ai+1:]...)
		}
	}
	return changes
}

func indexOf(cs []schema.Change, f func(schema.Change) bool) int {
	for i, c := range cs {
		if f(c) {
			return i
		}
	}
	return -1
}

// markDirty notes the tables a quiet statement of a file without findings
// changed.
func (l *fileLinter) markDirty(stmt string) {
	scope, ok := l.scope(stmt)
	l.dirtyAll = l.dirtyAll || !ok
	for _, t := range scope {
		if !slices.Contains(l.dirty, t) {
			l.dirty = append(l.dirty, t)
		}
	}
}

// addToBatch adds statement i, which ran, to the batch.
func (l *fileLinter) addToBatch(i int) {
	s := l.stmts[i].Text
	if l.batchFirst == nil {
		l.batchFirst, l.batchCreated, l.batchLoud, l.batchVanish = map[string]int{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	l.batch = append(l.batch, i)
	scope, ok := l.scope(s)
	l.batchAll = l.batchAll || !ok
	for _, t := range scope {
		if _, seen := l.batchFirst[t]; !seen {
			l.batchFirst[t] = i
			l.batchScope = append(l.batchScope, t)
		}
	}
	switch {
	case !ok:
	case !quiet(l.folder, s) && !l.joinsCreation(s, scope):
		for _, t := range scope {
			l.batchLoud[t] = true
			if reDropTable.MatchString(s) || reRenameTable.MatchString(s) || reRenameTables.MatchString(s) {
				l.batchVanish[t] = true
			}
		}
		l.batchRenames = append(l.batchRenames, i)
	case reQuietCreateTable.MatchString(s):
		for _, t := range scope {
			if !slices.ContainsFunc(l.snap.Tables, func(st *schema.Table) bool { return st.Name == t }) {
				l.batchCreated[t] = true
			}
		}
	}
}

// flush inspects the schema after the pending batch and credits each
// change to the first statement of the batch that named its table (the
// first of the batch when none did).
func (l *fileLinter) flush(ctx context.Context) error {
	if len(l.batch) == 0 {
		return nil
	}
	run, scope, first, all, vanish, loud := l.batch, l.batchScope, l.batchFirst, l.batchAll, l.batchVanish, l.batchRenames
	l.batch, l.batchScope, l.batchFirst, l.batchCreated, l.batchAll = nil, nil, nil, nil, false
	l.batchLoud, l.batchVanish, l.batchRenames = nil, nil, nil
	changes, err := l.stepIn(ctx, "", scope, !all && len(scope) > 0, vanish)
	if err != nil {
		first := l.stmts[run[0]]
		return wrapf(fmt.Sprintf("linting %s, statements %d to %d (from line %d): reading the schema changes they made on the dev database",
			l.file.Name(), run[0]+1, run[len(run)-1]+1, lineAt(string(l.file.Bytes()), first.Pos)), err)
	}
	for _, c := range changes {
		at, ok := first[changedTable(c)]
		if !ok {
			at = run[0]
		}
		if !quietChange(c) && quiet(l.folder, l.stmts[at].Text) {
			l.log.Debug("lint: a statement judged quiet made a change lint reports on", "file", l.file.Name(), "statement", at+1)
		}
		l.per[at] = append(l.per[at], c)
	}
	for _, i := range loud {
		l.per[i] = fixRenames(l.stmts[i].Text, l.per[i])
	}
	if l.trace != nil {
		for _, i := range run {
			l.trace(l.file.Name(), i, l.per[i])
		}
	}
	return nil
}

// changedTable names the table a change is about ("" for none).
func changedTable(c schema.Change) string {
	switch c := c.(type) {
	case *schema.AddTable:
		return c.T.Name
	case *schema.ModifyTable:
		return c.T.Name
	case *schema.DropTable:
		return c.T.Name
	}
	return ""
}

var (
	// Statements that only add: a table, a non-unique index, a column
	// that may be NULL, a foreign key or check.
	reQuietCreateTable = regexp.MustCompile(`(?is)^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(` + qident + `)`)
	reQuietCreateIndex = regexp.MustCompile(`(?is)^\s*CREATE\s+INDEX\s`)
	reQuietAlterAdd    = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?` + qident + `\s+ADD\s`)
	// Words that make an ALTER TABLE ... ADD statement loud.
	reLoudWords = regexp.MustCompile(`(?i)\b(?:DROP|RENAME|MODIFY|CHANGE|ALTER\s+COLUMN|UNIQUE|PRIMARY|NOT\s+NULL|TYPE|ALGORITHM|PARTITION|AUTO_INCREMENT|IDENTITY|GENERATED|(?:SMALL|BIG)?SERIAL)\b`)
	// Statements that change no table (but may change what an inspection
	// of them reads, so they end a batch's scoped inspection).
	reQuietOther = regexp.MustCompile(`(?is)^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE|TRIGGER|VIEW|MATERIALIZED\s+VIEW|SEQUENCE|TYPE|EXTENSION|SCHEMA|DOMAIN)\s|COMMENT\s+ON\s|GRANT\s|REVOKE\s|ALTER\s+SEQUENCE\s)`)
)

// quiet reports whether a statement only adds things no analyzer reports
// on (see fileLinter), judged conservatively from its text. On SQLite a
// CREATE TABLE "new_..." starts a table rebuild, which the SQLite analyzer
// recognises statement by statement, so it is never quiet.
func quiet(folder, stmt string) bool {
	switch {
	case reQuietCreateTable.MatchString(stmt):
		name := unquote(reQuietCreateTable.FindStringSubmatch(stmt)[1])
		return !(folder == SQLite && strings.HasPrefix(strings.ToLower(name), "new_"))
	case reQuietCreateIndex.MatchString(stmt):
		return true
	case reQuietAlterAdd.MatchString(stmt):
		return !reLoudWords.MatchString(stmt[len(reQuietAlterAdd.FindString(stmt)):])
	}
	return reQuietOther.MatchString(stmt)
}

// quietChange reports whether no analyzer reports on the change: an added
// table, or added nullable (or defaulted) columns, non-unique indexes,
// foreign keys and checks, or a comment.
func quietChange(c schema.Change) bool {
	switch c := c.(type) {
	case *schema.AddTable:
		return true
	case *schema.ModifyTable:
		for _, mc := range c.Changes {
			switch mc := mc.(type) {
			case *schema.AddColumn:
				if !mc.C.Type.Null && mc.C.Default == nil {
					return false
				}
			case *schema.AddIndex:
				if mc.I.Unique {
					return false
				}
			case *schema.AddForeignKey, *schema.AddCheck:
			case *schema.ModifyColumn:
				if mc.Change != schema.ChangeComment {
					return false
				}
			default:
				return false
			}
		}
		return true
	}
	return false
}
