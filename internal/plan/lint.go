package plan

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/mysql"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"
	"ariga.io/atlas/sql/sqlclient"
	"ariga.io/atlas/sql/sqlite"

	// Atlas's analyzers register themselves per driver; these are the one
	// place Weber imports them.
	_ "ariga.io/atlas/sql/mysql/mysqlcheck"
	_ "ariga.io/atlas/sql/postgres/postgrescheck"
	_ "ariga.io/atlas/sql/sqlite/sqlitecheck"

	"github.com/weber-framework/weber/internal/livelint"
	"github.com/weber-framework/weber/internal/migdir"
)

// Finding is one lint diagnostic on a statement.
type Finding struct {
	// File is the migration file's name ("" for a file Revise has not
	// written yet).
	File string
	Code string // Atlas's code, e.g. DS103
	// Analyzer is destructive, data_depend, condrop, incompatible or mysql:
	// the name an `-- atlas:nolint` directive uses.
	Analyzer string
	// Message is Atlas's text, e.g. `Dropping non-virtual column "bio"`.
	Message string
	// Statement is the SQL statement the finding is about.
	Statement string
	// Line is the 1-based line of the statement in the file.
	Line int
	// Explanation says the risk in plain words; Alternative the safer way.
	Explanation string
	Alternative string
	// Intended reports a finding silenced by an `atlas:nolint` directive in
	// the file: the change is meant.
	Intended bool
	// Severity is SeverityError for a destructive change not marked
	// intended, SeverityIntended for any finding marked intended, and
	// SeverityWarning otherwise.
	Severity string
}

// Severities of a Finding.
const (
	SeverityError    = "error"
	SeverityWarning  = "warning"
	SeverityIntended = "intended"
)

// IsError reports a finding that fails lint: a destructive change not
// marked intended.
func (f Finding) IsError() bool { return f.Analyzer == "destructive" && !f.Intended }

// severity classifies the finding.
func (f Finding) severity() string {
	switch {
	case f.Intended:
		return SeverityIntended
	case f.IsError():
		return SeverityError
	}
	return SeverityWarning
}

// String renders the finding on one line, e.g.
// `20261127_drop_bio.sql line 3: DS103 Dropping non-virtual column "bio"`.
func (f Finding) String() string {
	s := fmt.Sprintf("%s line %d: %s", f.Code, f.Line, f.Message)
	if f.File != "" {
		s = fmt.Sprintf("%s line %d: %s %s", f.File, f.Line, f.Code, f.Message)
	}
	if f.Intended {
		s += " (marked intended)"
	}
	return s
}

// DestructiveError stops a revision whose lint found a destructive change
// that was not allowed.
type DestructiveError struct {
	Dialect  string
	Findings []Finding
}

// Error names the first finding and the flag that allows it.
func (e *DestructiveError) Error() string {
	f := e.Findings[0]
	return fmt.Sprintf("planning %s: lint found a destructive change, %s: %s; no file written: pass --allow-destructive if it is intended",
		e.Dialect, f.String(), f.Statement)
}

// explanations holds, per code, the risk in plain words and the safer way.
var explanations = map[string][2]string{
	"DS101": {"Dropping a schema deletes every table in it and all their rows.",
		"Back the data up first, or leave the schema in place and drop it in a later release."},
	"DS102": {"Dropping a table deletes all of its rows; an application still running the old code fails on it.",
		"Stop using the table in a release first, back it up, then drop it in a later revision with --allow-destructive."},
	"DS103": {"Dropping a column deletes its values in every row; old application instances that still read or write it fail.",
		"Stop using the column in one release (make it nullable), back up its values, then drop it in a later revision."},
	"MF101": {"Adding a unique index fails if the existing rows hold duplicate values.",
		"Find and fix duplicates first (SELECT col, COUNT(*) ... GROUP BY col HAVING COUNT(*) > 1), then add the index."},
	"MF102": {"Making an index unique fails if the existing rows hold duplicate values.",
		"Remove the duplicates first, or add a new unique index beside the old one and drop the old one later."},
	"MF103": {"Adding a NOT NULL column without a default fails on a table that has rows.",
		"Give the column a default, or add it nullable, backfill it, then make it NOT NULL in a later revision."},
	"MF104": {"Making a column NOT NULL fails if any row holds NULL in it.",
		"Backfill the NULLs first (UPDATE ... SET col = ... WHERE col IS NULL), or give the column a default."},
	"LT101": {"Making a column NOT NULL on SQLite rebuilds the table and fails if any row holds NULL in it.",
		"Backfill the NULLs first, or give the column a default."},
	"CD101": {"Dropping a foreign key lets rows point at parents that do not exist.",
		"Keep the constraint unless the relation is really gone; drop the column in a later revision."},
	"BC101": {"Renaming a table breaks every running application instance that still uses the old name.",
		"Create the new table (or a view with the old name), move the code over, then drop the old one later."},
	"BC102": {"Renaming a column breaks every running application instance that still uses the old name.",
		"Add the new column, write both, backfill, switch reads, then drop the old column in a later revision."},
	"MY101": {"On MySQL, adding a NOT NULL column without a default silently fills existing rows with an implicit value (0 or '').",
		"Give the column an explicit default, or add it nullable and backfill it."},
	"MY102": {"MySQL ignores inline REFERENCES clauses: the foreign key is not created.",
		"Declare the foreign key as a table constraint (FOREIGN KEY (...) REFERENCES ...)."},
}

// Explain returns the plain explanation and the safer alternative for a
// lint code ("" when the code is unknown).
func Explain(code string) (explanation, alternative string) {
	if e, ok := explanations[code]; ok {
		return e[0], e[1]
	}
	return livelint.Explain(code)
}

// analyzerOf names the analyzer behind a code, as the nolint directive
// spells it.
func analyzerOf(code string) string {
	switch {
	case strings.HasPrefix(code, "DS"):
		return "destructive"
	case strings.HasPrefix(code, "MF"), strings.HasPrefix(code, "LT"), code == "MY101":
		return "data_depend"
	case strings.HasPrefix(code, "CD"):
		return "condrop"
	case strings.HasPrefix(code, "BC"):
		return "incompatible"
	case strings.HasPrefix(code, "MY"):
		return "mysql"
	}
	return ""
}

// atlasDriverName is the name Atlas registers the dialect's analyzers under.
func atlasDriverName(folder string) string {
	switch folder {
	case SQLite:
		return sqlite.DriverName
	case Postgres:
		return postgres.DriverName
	}
	return mysql.DriverName
}

// lintPlan formats the plan into a file, lints it, and stores both in p.
// A destructive finding stops the plan unless allowed; when allowed, each
// such statement gets an `-- atlas:nolint destructive` directive and its
// findings are marked intended.
func lintPlan(ctx context.Context, folder string, drv migrate.Driver, changes []schema.Change, mp *migrate.Plan, allow bool, p *Plan) error {
	per := stmtChanges(folder, changes, mp)
	content, stmts := format(mp, nil)
	findings, err := lint(ctx, folder, drv, "", content, stmts, per)
	if err != nil {
		return err
	}
	nolint := map[int]bool{}
	var bad []Finding
	for _, f := range findings {
		if f.IsError() {
			bad = append(bad, f)
			for i, s := range stmts {
				if lineAt(content, s.Pos) == f.Line {
					nolint[i] = true
				}
			}
		}
	}
	if len(bad) > 0 {
		if !allow {
			return &DestructiveError{Dialect: folder, Findings: bad}
		}
		content, stmts = format(mp, nolint)
		if findings, err = lint(ctx, folder, drv, "", content, stmts, per); err != nil {
			return err
		}
	}
	p.Content, p.Findings = []byte(content), findings
	return nil
}

// stmtChanges gives each planned statement the schema changes it carries
// out, as Atlas's analyzers expect them: each top-level change once, on the
// first statement that comes from it. On SQLite a table rebuild is credited
// to its `CREATE TABLE new_<name>` statement, where Atlas's own SQLite
// analyzer puts it.
func stmtChanges(folder string, changes []schema.Change, mp *migrate.Plan) []schema.Changes {
	top := map[schema.Change]schema.Change{}
	modified := map[string]*schema.ModifyTable{}
	for _, c := range changes {
		top[c] = c
		if m, ok := c.(*schema.ModifyTable); ok {
			modified[m.T.Name] = m
			for _, sc := range m.Changes {
				top[sc] = m
			}
		}
	}
	used := map[schema.Change]bool{}
	out := make([]schema.Changes, len(mp.Changes))
	for i, pc := range mp.Changes {
		if pc.Source == nil {
			continue
		}
		t, ok := top[pc.Source]
		if !ok {
			// Some planners build their own source: MySQL a new ModifyTable
			// per ALTER, SQLite an AddTable of "new_<name>" for a rebuild.
			var m *schema.ModifyTable
			switch src := pc.Source.(type) {
			case *schema.ModifyTable:
				m, ok = modified[src.T.Name]
			case *schema.AddTable:
				if folder == SQLite && strings.HasPrefix(src.T.Name, "new_") {
					m, ok = modified[strings.TrimPrefix(src.T.Name, "new_")]
				}
			}
			t = m
		}
		if !ok || used[t] {
			continue
		}
		used[t] = true
		out[i] = schema.Changes{t}
	}
	return out
}

// lint runs the dialect's Atlas analyzers on a file: name ("" for a plan
// not written yet), its content, its statements and the schema changes
// each statement makes (per[i] for stmts[i]). It is the one place findings
// are made, for Revise and LintFiles alike; a finding is intended when an
// `atlas:nolint` directive on its statement, or in the file's header,
// names its analyzer or code (or names nothing).
func lint(ctx context.Context, folder string, drv migrate.Driver, name, content string, stmts []*migrate.Stmt, per []schema.Changes) ([]Finding, error) {
	subject := "the " + folder + " plan"
	if name != "" {
		subject = name
	}
	azs, err := sqlcheck.AnalyzerFor(atlasDriverName(folder), nil)
	if err != nil {
		return nil, wrapf("linting "+subject, err)
	}
	fileName := name
	if fileName == "" {
		fileName = "plan.sql"
	}
	file := migrate.NewLocalFile(fileName, []byte(content))
	changes := make([]*sqlcheck.Change, len(stmts))
	lf := &lintedFile{name: name, content: content, byPos: map[int]*migrate.Stmt{}, perPos: map[int]schema.Changes{},
		declared: migdir.ParseDataLoss([]byte(content)), nolint: file.Directive("nolint")}
	for i, s := range stmts {
		changes[i] = &sqlcheck.Change{Stmt: s, Changes: per[i]}
		lf.byPos[s.Pos] = s
		lf.perPos[s.Pos] = per[i]
	}
	pass := &sqlcheck.Pass{
		File: &sqlcheck.File{File: file, Changes: changes},
		Dev:  &sqlclient.Client{Name: atlasDriverName(folder), Driver: drv},
	}
	var out []Finding
	seen := map[string]bool{}
	for _, az := range azs {
		// The analyzer's own name is what Atlas's nolint matches (MySQL's
		// MY101 comes from data_depend); unnamed ones go by code.
		azName := ""
		if n, ok := az.(sqlcheck.NamedAnalyzer); ok {
			azName = n.Name()
		}
		reported := false
		pass.Reporter = sqlcheck.ReportWriterFunc(func(r sqlcheck.Report) {
			reported = true
			for _, d := range r.Diagnostics {
				key := fmt.Sprintf("%s@%d:%s", d.Code, d.Pos, d.Text)
				if seen[key] {
					continue
				}
				seen[key] = true
				out = append(out, lf.finding(azName, d))
			}
		})
		if err := az.Analyze(ctx, pass); err != nil && !reported {
			return nil, wrapf("linting "+subject, err)
		}
	}
	out = append(out, liveFindings(folder, name, content, file, stmts)...)
	slices.SortStableFunc(out, func(a, b Finding) int { return a.Line - b.Line })
	return out, nil
}

// lintedFile is what lint knows of the file it lints, to turn an
// analyzer's diagnostics into findings.
type lintedFile struct {
	name, content string
	byPos         map[int]*migrate.Stmt  // statements by position
	perPos        map[int]schema.Changes // each statement's changes by position
	declared      migdir.DeclaredLoss    // the file's data-loss declarations
	nolint        []string               // the file header's nolint directives
}

// finding is the Finding of one diagnostic of the analyzer named azName.
func (lf *lintedFile) finding(azName string, d sqlcheck.Diagnostic) Finding {
	f := Finding{File: lf.name, Code: d.Code, Analyzer: azName, Message: d.Text, Line: lineAt(lf.content, d.Pos)}
	if f.Analyzer == "" {
		f.Analyzer = analyzerOf(d.Code)
	}
	f.Explanation, f.Alternative = Explain(d.Code)
	var stmtNolint []string
	if s, ok := lf.byPos[d.Pos]; ok {
		f.Statement = strings.TrimSpace(s.Text)
		stmtNolint = s.Directive("nolint")
	}
	f.Intended = silenced(stmtNolint, f) || silenced(lf.nolint, f) ||
		f.Analyzer == "destructive" && declaresLoss(lf.declared, lf.perPos[d.Pos])
	f.Severity = f.severity()
	return f
}

// liveFindings are Weber's own rules for statements that would stall a live
// application (package livelint: WL codes), as lint findings of the
// analyzer "live". They are warnings: the upgrade's pre-flight refuses
// them on tables above its size limit.
func liveFindings(folder, name, content string, file *migrate.LocalFile, stmts []*migrate.Stmt) []Finding {
	dia, err := entDialect(folder)
	if err != nil {
		return nil
	}
	texts := make([]string, len(stmts))
	for i, s := range stmts {
		texts[i] = s.Text
	}
	tx := folder != MySQL && !slices.Contains(file.Directive("txmode"), migdir.TxModeNone)
	fileNolint := file.Directive("nolint")
	var out []Finding
	for _, lf := range livelint.Lint(livelint.File{Dialect: dia, Stmts: texts, Transactional: tx}) {
		s := stmts[lf.Stmt]
		f := Finding{File: name, Code: lf.Code, Analyzer: livelint.Analyzer, Message: lf.Message,
			Statement: strings.TrimSpace(s.Text), Line: lineAt(content, s.Pos), Explanation: lf.Explanation, Alternative: lf.Alternative}
		f.Intended = silenced(s.Directive("nolint"), f) || silenced(fileNolint, f)
		f.Severity = f.severity()
		out = append(out, f)
	}
	return out
}

// declaresLoss reports whether the file's weber:data-loss directives name
// every table and column the statement's changes drop.
func declaresLoss(d migdir.DeclaredLoss, changes schema.Changes) bool {
	drops := 0
	for _, ch := range changes {
		switch ch := ch.(type) {
		case *schema.DropTable:
			drops++
			if !d.Table(ch.T.Name) {
				return false
			}
		case *schema.ModifyTable:
			for _, c := range ch.Changes {
				if dc, ok := c.(*schema.DropColumn); ok {
					drops++
					if !d.Column(ch.T.Name, dc.C.Name) {
						return false
					}
				}
			}
		}
	}
	return drops > 0
}

// silenced reports whether nolint directives (each the text after
// `atlas:nolint`) cover the finding: an empty directive covers all, else it
// names the analyzer or the code.
func silenced(directives []string, f Finding) bool {
	for _, d := range directives {
		names := strings.Fields(d)
		if len(names) == 0 || slices.Contains(names, f.Analyzer) || slices.Contains(names, f.Code) {
			return true
		}
	}
	return false
}

// format renders the plan as Atlas's default formatter does (a comment line
// then the statement, per change), adding `-- atlas:nolint destructive`
// above the statements in nolint. It returns the content and each
// statement's position and comments.
func format(mp *migrate.Plan, nolint map[int]bool) (string, []*migrate.Stmt) {
	var b strings.Builder
	var ds []string
	if mp.Delimiter != "" {
		ds = append(ds, "-- atlas:delimiter "+strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(mp.Delimiter))
	}
	ds = append(ds, mp.Directives...)
	if len(ds) > 0 {
		b.WriteString(strings.Join(ds, "\n") + "\n\n")
	}
	delim := ";"
	if mp.Delimiter != "" {
		delim = mp.Delimiter
	}
	stmts := make([]*migrate.Stmt, 0, len(mp.Changes))
	for i, c := range mp.Changes {
		var comments []string
		if c.Comment != "" {
			line := "-- " + strings.ToUpper(c.Comment[:1]) + c.Comment[1:]
			comments = append(comments, line)
			b.WriteString(line + "\n")
		}
		if nolint[i] {
			const line = "-- atlas:nolint destructive"
			comments = append(comments, line)
			b.WriteString(line + "\n")
		}
		pos := b.Len()
		b.WriteString(c.Cmd + delim + "\n")
		stmts = append(stmts, &migrate.Stmt{Pos: pos, Text: c.Cmd + delim, Comments: comments})
	}
	return b.String(), stmts
}
