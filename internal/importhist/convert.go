package importhist

import (
	"fmt"
	"regexp"
	"strings"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/migdir"
)

// ImportedFile describes one Weber file written from a foreign migration.
type ImportedFile struct {
	// Name is the Weber file name, e.g. "00002_add_posts.sql".
	Name string
	// Version is the Weber version (the source version, zero-padded to
	// the width of the longest one).
	Version string
	// SourceVersion is the version as the tool reads it.
	SourceVersion string
	// Sources are the source files.
	Sources []string
	// Stmts counts the statements Weber will run.
	Stmts int
	// NoTx reports `-- atlas:txmode none`: the tool ran it outside a
	// transaction.
	NoTx bool
	// Delimiter reports that statement blocks needed an
	// `-- atlas:delimiter` directive to split as the tool splits them.
	Delimiter bool
	// Unwrapped reports that the file's own BEGIN/COMMIT around its
	// statements was commented out (Weber runs a file in its own
	// transaction).
	Unwrapped bool
	// DownKept reports that the down section is kept, as a comment at the
	// end of the file.
	DownKept bool
}

// blockDelimiter ends each statement of a file whose statement blocks
// cannot be split at semicolons.
const blockDelimiter = "-- end"

var (
	reTxBegin = regexp.MustCompile(`(?i)^(BEGIN|BEGIN\s+TRANSACTION|BEGIN\s+WORK|START\s+TRANSACTION)\s*;$`)
	reTxEnd   = regexp.MustCompile(`(?i)^(COMMIT|END|COMMIT\s+TRANSACTION|COMMIT\s+WORK|END\s+TRANSACTION)\s*;$`)
	// A statement that starts like the tail of a compound statement: the
	// splitter cut a trigger or routine body at an inner semicolon.
	reCompoundTail = regexp.MustCompile(`(?i)^END\s+(IF|LOOP|WHILE|REPEAT|CASE)\b`)
	reTxStmt       = regexp.MustCompile(`(?i)^(BEGIN|START\s+TRANSACTION|COMMIT|ROLLBACK|END)(\s+(TRANSACTION|WORK))?\s*;?$`)
	// Statements PostgreSQL refuses inside a transaction block.
	rePostgresNoTx = regexp.MustCompile(`(?is)^(CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY|DROP\s+INDEX\s+CONCURRENTLY|REINDEX\b.*\bCONCURRENTLY|VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM|CREATE\s+TABLESPACE|DROP\s+TABLESPACE)\b`)
	reSQLiteNoTx   = regexp.MustCompile(`(?i)^VACUUM\b`)
	reBadNameChar  = regexp.MustCompile(`[^A-Za-z0-9_.\-]+`)
)

// convert renders m as the Weber file with the given version.
func convert(tool Tool, dia string, m *Migration, version string) ([]byte, *ImportedFile, error) {
	f := &ImportedFile{Version: version, SourceVersion: m.Version, Sources: m.Files, NoTx: m.NoTx, DownKept: strings.TrimSpace(m.Down) != ""}
	f.Name = version + ".sql"
	if d := sanitizeName(m.Name); d != "" {
		f.Name = version + "_" + d + ".sql"
	}
	var (
		b   []byte
		err error
	)
	if m.Stmts != nil {
		b, err = convertStmts(tool, dia, m, f)
	} else {
		b, err = convertText(tool, dia, m, f)
	}
	if err != nil {
		return nil, nil, err
	}
	return b, f, nil
}

// convertText renders a section the tool sends to the database whole
// (golang-migrate, dbmate): Weber splits it with Atlas's scanner.
func convertText(tool Tool, dia string, m *Migration, f *ImportedFile) ([]byte, error) {
	body, unwrapped := unwrapTx(m.Up)
	f.Unwrapped = unwrapped
	stmts, err := migdir.Statements(dia, body)
	if err != nil {
		return nil, refuse(KindUnsupported, m.Files[0], "Weber cannot split the up section into statements (%v): fix the SQL and import again", err)
	}
	for _, s := range stmts {
		if reCompoundTail.MatchString(strings.TrimSpace(s)) {
			return nil, refuse(KindUnsupported, m.Files[0], "Weber would cut a trigger or routine body at its inner semicolons (%q would stand alone): wrap the body in BEGIN ... END in the source file (the database runs it the same), and import again", strings.TrimSpace(s))
		}
		if reTxStmt.MatchString(strings.TrimSpace(s)) {
			return nil, refuse(KindUnsupported, m.Files[0], "has its own transaction statement %q among its statements: Weber runs each file in one transaction (or none); remove it, or split the file at it, and import again", strings.TrimSpace(s))
		}
		if tool == GolangMigrate && needsNoTx(dia, s) {
			f.NoTx = true
		}
	}
	f.Stmts = len(stmts)
	out := header(tool, m, f) + strings.TrimSpace(body) + "\n" + downComment(m)
	got, err := migdir.Statements(dia, out)
	if err != nil || len(got) != len(stmts) {
		return nil, refuse(KindUnsupported, m.Files[0], "the imported file would not split like the source (%d statements instead of %d): report this, and copy the file by hand meanwhile", len(got), len(stmts))
	}
	return []byte(out), nil
}

// convertStmts renders statements the tool split itself (goose), adding an
// `-- atlas:delimiter` directive when Weber would split them otherwise.
func convertStmts(tool Tool, dia string, m *Migration, f *ImportedFile) ([]byte, error) {
	f.Stmts = len(m.Stmts)
	plain := header(tool, m, f) + strings.Join(m.Stmts, "\n\n") + "\n" + downComment(m)
	if splitsAs(dia, plain, m.Stmts) {
		return []byte(plain), nil
	}
	f.Delimiter = true
	var body strings.Builder
	for _, s := range m.Stmts {
		body.WriteString(s + "\n" + blockDelimiter + "\n\n")
	}
	out := header(tool, m, f) + body.String() + downComment(m)
	if !splitsAs(dia, out, m.Stmts) {
		return nil, refuse(KindUnsupported, m.Files[0], "Weber cannot keep its statements apart as %s does, even with a delimiter (a statement contains %q?): split the statement block by hand and import again", tool, blockDelimiter)
	}
	return []byte(out), nil
}

// splitsAs reports whether migdir splits text into exactly want (compared
// without leading and trailing comment lines, which no server runs).
func splitsAs(dia, text string, want []string) bool {
	got, err := migdir.Statements(dia, text)
	if err != nil || len(got) != len(want) {
		return false
	}
	for i := range got {
		if stripComments(got[i]) != stripComments(want[i]) {
			return false
		}
	}
	return true
}

// stripComments drops blank and comment lines at either end of s.
func stripComments(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	isNoise := func(l string) bool {
		t := strings.TrimSpace(l)
		return t == "" || strings.HasPrefix(t, "--")
	}
	for len(lines) > 0 && isNoise(lines[0]) {
		lines = lines[1:]
	}
	for len(lines) > 0 && isNoise(lines[len(lines)-1]) {
		lines = lines[:len(lines)-1]
	}
	if n := len(lines); n > 0 {
		// A comment after the closing semicolon belongs to no statement.
		if i := strings.LastIndex(lines[n-1], ";"); i >= 0 && strings.HasPrefix(strings.TrimSpace(lines[n-1][i+1:]), "--") {
			lines[n-1] = lines[n-1][:i+1]
		}
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// header renders the file's directives and the comment saying where it
// came from. Directives sit in the first comment block, the delimiter on
// the very first line (where Atlas's scanner looks for it).
func header(tool Tool, m *Migration, f *ImportedFile) string {
	var b strings.Builder
	if f.Delimiter {
		b.WriteString("-- atlas:delimiter " + blockDelimiter + "\n")
	}
	if f.NoTx {
		b.WriteString("-- atlas:txmode none\n")
	}
	fmt.Fprintf(&b, "-- Imported by `weberctl db import` from %s: %s.\n", tool, strings.Join(m.Files, ", "))
	if f.Delimiter {
		fmt.Fprintf(&b, "-- Each statement ends at a %q line, so statement blocks keep their semicolons.\n", blockDelimiter)
	}
	if f.NoTx {
		fmt.Fprintf(&b, "-- Runs outside a transaction, as %s ran it.\n", tool)
	}
	if f.Unwrapped {
		b.WriteString("-- Its own BEGIN/COMMIT is commented out: Weber runs the file in one transaction.\n")
	}
	b.WriteString("\n")
	return b.String()
}

// downComment keeps the down section as a comment at the end of the file.
func downComment(m *Migration) string {
	down := strings.TrimSpace(m.Down)
	if down == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n-- The source's down section, kept for reference only: Weber does not run it;\n")
	b.WriteString("-- `weberctl db downgrade` plans the way back from the history itself.\n")
	for _, l := range strings.Split(down, "\n") {
		b.WriteString(strings.TrimRight("--   "+l, " \t") + "\n")
	}
	return b.String()
}

// unwrapTx comments out a BEGIN; on the first and a COMMIT; on the last
// statement line of text, when both are there.
func unwrapTx(text string) (string, bool) {
	lines := strings.Split(text, "\n")
	first, last := -1, -1
	for i, l := range lines {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 || first == last || !reTxBegin.MatchString(strings.TrimSpace(lines[first])) || !reTxEnd.MatchString(strings.TrimSpace(lines[last])) {
		return text, false
	}
	lines[first] = "-- " + strings.TrimSpace(lines[first]) + " (the file's own transaction; Weber opens one)"
	lines[last] = "-- " + strings.TrimSpace(lines[last])
	return strings.Join(lines, "\n"), true
}

// needsNoTx reports a statement the database refuses inside a
// transaction, which golang-migrate (no per-file option) ran on its own.
func needsNoTx(dia, stmt string) bool {
	s := strings.TrimSpace(stmt)
	switch dia {
	case dialect.Postgres:
		return rePostgresNoTx.MatchString(s)
	case dialect.SQLite:
		return reSQLiteNoTx.MatchString(s)
	}
	return false
}

// sanitizeName makes a tool's migration name fit Weber's file names.
func sanitizeName(name string) string {
	s := reBadNameChar.ReplaceAllString(name, "_")
	return strings.TrimLeft(s, "_.-")
}
