package migdir

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"ariga.io/atlas/sql/migrate"
)

// Directive names Weber reads from migration files.
const (
	// DirectiveTxMode is `-- atlas:txmode none|file` in a file's header.
	DirectiveTxMode = "atlas:txmode"
	// DirectiveNoLint is `-- atlas:nolint [analyzer|code ...]` in a file's
	// header (the whole file) or above a statement.
	DirectiveNoLint = "atlas:nolint"
	// DirectiveDelimiter is `-- atlas:delimiter <delim>` on a file's first
	// line, read by Atlas's statement splitter.
	DirectiveDelimiter = "atlas:delimiter"
	// DirectiveTouches is `-- weber:touches table.column, ...`, anywhere in
	// a file: the columns whose values the file rewrites on purpose (read
	// by internal/verify).
	DirectiveTouches = "weber:touches"
	// DirectiveAsWritten is `-- weber:as-written` in a file's header: the
	// file controls its own transactions (BEGIN/COMMIT) and runs exactly as
	// written, with no transaction of Weber's around it.
	DirectiveAsWritten = "weber:as-written"
	// DirectiveBatch is `-- weber:batch TABLE.KEY SIZE` above a statement:
	// run it in batches over TABLE's key, each its own transaction.
	DirectiveBatch = "weber:batch"
	// DirectiveFlavor is `-- weber:flavor mysql|mariadb` in a mysql file's
	// header: the flavour the history was planned for (package flavor).
	DirectiveFlavor = "weber:flavor"
	// DirectiveDataLoss is `-- weber:data-loss table|table.column, ...`,
	// anywhere: the rows, tables or columns the file destroys on purpose
	// (read by preflight, lint and verify).
	DirectiveDataLoss = "weber:data-loss"
	// DirectiveSquashes is `-- weber:squashes FIRST..LAST` in a file's
	// header: the file was written by `db squash` in place of the files
	// from version FIRST to LAST (its own version), and a database that
	// applied those counts it as applied.
	DirectiveSquashes = "weber:squashes"
	// DirectiveGo is `-- weber:go NAME` in a file's header: the file is a
	// data migration written in Go, registered under NAME with the engine
	// (upgrade.Options.DataMigrations) and run in batches. The file holds
	// no statements.
	DirectiveGo = "weber:go"
)

// Places where a directive takes effect (a bit set).
const (
	// inHeader: the file's leading comment lines, followed by a blank line.
	inHeader = 1 << iota
	// onStatement: comment lines directly above a statement (no blank line
	// between).
	onStatement
	// onFirstLine: the file's first line.
	onFirstLine
	// anywhere: any comment line of the file.
	anywhere
)

// directiveSpec is what Weber knows about one directive.
type directiveSpec struct {
	where int                 // the places it takes effect
	args  func(string) string // checks the arguments: "" when valid, else the fix
}

// directiveRegistry lists every directive Weber understands. Any other
// `-- atlas:` or `-- weber:` comment is refused, as is a known one where
// Atlas or Weber would ignore it. Adding a directive is one line here.
func directiveRegistry() map[string]directiveSpec {
	return map[string]directiveSpec{
		DirectiveTxMode:    {where: inHeader, args: oneOf(TxModeNone, TxModeFile)},
		DirectiveNoLint:    {where: inHeader | onStatement},
		DirectiveDelimiter: {where: onFirstLine, args: notEmpty},
		DirectiveTouches:   {where: anywhere, args: notEmpty},
		DirectiveAsWritten: {where: inHeader, args: oneOf("")},
		DirectiveBatch:     {where: onStatement, args: notEmpty},
		DirectiveFlavor:    {where: inHeader, args: oneOf("mysql", "mariadb")},
		DirectiveDataLoss:  {where: anywhere, args: notEmpty},
		DirectiveSquashes:  {where: inHeader, args: versionRange},
		DirectiveGo:        {where: inHeader, args: goName},
	}
}

// knownDirectives returns the registry's names, sorted, for messages.
func knownDirectives() string {
	names := make([]string, 0, 8)
	for n := range directiveRegistry() {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func oneOf(values ...string) func(string) string {
	return func(a string) string {
		if slices.Contains(values, a) {
			return ""
		}
		var forms []string
		for _, v := range values {
			forms = append(forms, strings.TrimSpace("%s "+v))
		}
		return "write it as `-- " + strings.Join(forms, "` or `-- ") + "`"
	}
}

var reVersionRange = regexp.MustCompile(`^[0-9]+\.\.[0-9]+$`)

// versionRange checks the FIRST..LAST argument of weber:squashes.
func versionRange(a string) string {
	if reVersionRange.MatchString(a) {
		return ""
	}
	return "write it as `-- %s FIRST..LAST`, two versions, e.g. `-- %s 20260101000001..20260101000040`"
}

// reGoName is a data migration's registered name.
var reGoName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func goName(a string) string {
	if !reGoName.MatchString(a) {
		return "give the data migration's registered name in lower case, letters, digits and underscores, e.g. `-- %s split_user_names`"
	}
	return ""
}

func notEmpty(a string) string {
	if a == "" {
		return "give it an argument, e.g. `-- %s ...`"
	}
	return ""
}

// reDirectiveLine matches a comment line that looks like a directive:
// `-- atlas:name args`, `# weber:name args`.
var reDirectiveLine = regexp.MustCompile(`^\s*(--|#)(\s*)((?:atlas|weber):[A-Za-z0-9_-]+)(.*)$`)

// fileDirectives are the directives of one file, read by checkDirectives.
type fileDirectives struct {
	asWritten bool
	txmode    []string
	squashes  string
	goName    string
	touches   []string
}

// checkDirectives reads every directive line of the file and refuses an
// unknown directive, bad arguments, or a known directive in a place where
// it would be silently ignored. stmts are the file's statements as Atlas's
// scanner split them (positions in the file's bytes).
func (f *File) checkDirectives(stmts []*migrate.Stmt) (fileDirectives, error) {
	var fd fileDirectives
	lines := strings.Split(string(f.Bytes), "\n")
	header, detached := headerLines(lines)
	starts := map[int]bool{} // lines on which a statement starts
	off, line := 0, 1
	for _, s := range stmts {
		line += strings.Count(string(f.Bytes[off:min(s.Pos, len(f.Bytes))]), "\n")
		off = min(s.Pos, len(f.Bytes))
		starts[line] = true
	}
	reg := directiveRegistry()
	at := 0 // byte offset of the current line
	for i, text := range lines {
		n := i + 1
		lineAt := at
		at += len(text) + 1
		m := reDirectiveLine.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		name, args := m[3], strings.TrimSpace(m[4])
		spec, ok := reg[name]
		if !ok {
			return fd, fmt.Errorf("line %d: unknown directive `%s`: Weber understands %s; fix the spelling or remove the line, then run `weberctl db hash`", n, strings.TrimSpace(text), knownDirectives())
		}
		if spec.args != nil {
			if fix := spec.args(args); fix != "" {
				return fd, fmt.Errorf("line %d: `%s` has arguments Weber does not understand: %s, then run `weberctl db hash`", n, strings.TrimSpace(text), strings.ReplaceAll(fix, "%s", name))
			}
		}
		place := placeOf(lines, n, header, detached, starts, insideStmt(stmts, lineAt, len(text)))
		if spec.where&anywhere != 0 || spec.where&place != 0 {
			if err := canonical(text, m, n, place); err != nil {
				return fd, err
			}
			switch name {
			case DirectiveAsWritten:
				fd.asWritten = true
			case DirectiveTxMode:
				fd.txmode = append(fd.txmode, args)
			case DirectiveSquashes:
				fd.squashes = args
			case DirectiveGo:
				fd.goName = args
			case DirectiveTouches:
				fd.touches = append(fd.touches, args)
			}
			continue
		}
		return fd, misplaced(name, n, spec.where, place)
	}
	return fd, nil
}

// canonical refuses spellings Atlas would not read above a statement:
// Atlas accepts exactly `--`, `-- ` or `#` before an atlas: name there.
func canonical(text string, m []string, n, place int) error {
	prefix := m[1] + m[2]
	if place&onStatement == 0 || strings.HasPrefix(m[3], "weber:") || prefix == "--" || prefix == "-- " || prefix == "#" {
		return nil
	}
	return fmt.Errorf("line %d: `%s` is not read as a directive in this spelling: write it as `-- %s%s`, then run `weberctl db hash`",
		n, strings.TrimSpace(text), m[3], strings.TrimRight(" "+strings.TrimSpace(m[4]), " "))
}

// misplaced explains where a directive must go.
func misplaced(name string, n, where, place int) error {
	var fix string
	switch {
	case where&inHeader != 0 && place&onStatement != 0:
		fix = "as a file directive it must be followed by a blank line (without one it belongs to the first statement and is ignored): add an empty line after the file's leading directives"
	case where&inHeader != 0 && where&onStatement != 0:
		fix = "put it directly above the statement it is about (no blank line between), or in the file's header followed by a blank line"
	case where&inHeader != 0:
		fix = "it is a file directive and is read only in the file's leading comment lines, followed by a blank line: move it to the top of the file"
	case where&onFirstLine != 0:
		fix = "it is read only on the file's first line: move it there"
	}
	return fmt.Errorf("line %d: `-- %s` would be ignored here: %s, then run `weberctl db hash`", n, name, fix)
}

// headerLines returns how many leading lines of the file are comments
// (Atlas's file comments: lines starting with "--" or "#") and whether a
// blank line (or the end of the file) follows them, which makes them file
// directives rather than comments of the first statement.
func headerLines(lines []string) (int, bool) {
	n := 0
	for n < len(lines) && (strings.HasPrefix(lines[n], "--") || strings.HasPrefix(lines[n], "#")) {
		n++
	}
	if n == len(lines) {
		return n, true
	}
	rest := lines[n:]
	if strings.TrimLeft(rest[0], " \t") == "" {
		return n, true
	}
	return n, false
}

// placeOf classifies line n (1-based): inside a statement (0), in the
// detached header, directly above a statement, or detached elsewhere (0).
func placeOf(lines []string, n, header int, detached bool, starts map[int]bool, inside bool) int {
	place := 0
	switch {
	case inside:
		return 0
	case n <= header && detached:
		place = inHeader
	default:
		for k := n + 1; k <= len(lines); k++ {
			t := strings.TrimSpace(lines[k-1])
			if t == "" {
				break
			}
			if strings.HasPrefix(t, "--") || strings.HasPrefix(t, "#") {
				continue
			}
			if starts[k] {
				place = onStatement
			}
			break
		}
	}
	if n == 1 {
		place |= onFirstLine
	}
	return place
}

// insideStmt reports whether the line at byte offset off (length n) lies
// within a statement's text.
func insideStmt(stmts []*migrate.Stmt, off, n int) bool {
	for _, s := range stmts {
		if off+n > s.Pos && off < s.Pos+len(s.Text) {
			return true
		}
	}
	return false
}

// RunsAsWritten reports whether a migration file's content carries the
// `-- weber:as-written` file directive (for callers holding Atlas files,
// such as the replays in package plan).
func RunsAsWritten(content []byte) bool {
	lines := strings.Split(string(content), "\n")
	header, detached := headerLines(lines)
	if !detached {
		return false
	}
	for _, l := range lines[:header] {
		if m := reDirectiveLine.FindStringSubmatch(l); m != nil && m[3] == DirectiveAsWritten {
			return true
		}
	}
	return false
}
