// Package migdir reads and validates one dialect's migration directory
// (migrations/<dialect>/ in Atlas's format: <version>_<name>.sql files plus
// atlas.sum) before anything runs.
//
// Open reads every file once, checks atlas.sum with a single running hash
// (linear in the size of the directory, unlike the pinned Atlas, which
// re-hashes the whole directory for every file), splits each file into
// statements with their line numbers and parses the file's directives.
//
// A directory is refused, with a one-line error naming the file and the fix,
// when atlas.sum is missing, empty, corrupt or does not match the files; when
// a file has CRLF line endings; when two files share a version; when a file
// name is malformed or follows another tool's convention (.down.sql,
// .up.sql); when a stray file sits in the directory, or anything that is not
// a regular file (a FIFO, a device, a symbolic link out of the folder); when
// a file has a directive Weber does not know, or a known one where it would
// be ignored (directives.go holds the registry); and when a file controls
// its own transactions (BEGIN, COMMIT, ...) without the
// `-- weber:as-written` directive (txcontrol.go). Besides the
// .sql files and atlas.sum, only README* files, .gitkeep and other dot files
// (.DS_Store, editor swap files are NOT allowed: only .gitkeep and
// .gitignore) are tolerated, because documentation beside the history is
// common and harmless, while any other file is most likely a migration saved
// under the wrong name that would otherwise be silently skipped.
package migdir

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"ariga.io/atlas/sql/migrate"
	entdialect "entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dialect"
)

// SumFile is the name of the directory's integrity file.
const SumFile = migrate.HashFileName

// TxMode values of the `-- atlas:txmode` file directive.
const (
	// TxModeFile runs the file in its own transaction (the default).
	TxModeFile = "file"
	// TxModeNone runs the file's statements one by one outside a
	// transaction, recording progress after each statement.
	TxModeNone = "none"
)

// Dir is a validated migration directory.
type Dir struct {
	// Path is the directory as given to Open.
	Path string
	// Dialect is ent's dialect name the statements were split for ("" when
	// the folder name did not tell and the generic splitter was used).
	Dialect string
	// Files are the migration files sorted by version.
	Files []*File
	// Sum is the parsed atlas.sum.
	Sum migrate.HashFile

	byVersion map[string]*File
}

// File is one migration file.
type File struct {
	// Name is the file name, e.g. "20261127000000_add_tags.sql".
	Name string
	// Version is the part of the name before the first "_".
	Version string
	// Description is the part of the name after the first "_", without ".sql".
	Description string
	// Bytes is the file's content.
	Bytes []byte
	// Sum is the file's entry in atlas.sum: Atlas's running hash over the
	// names and contents of this and every earlier file ("h1:" prefixed).
	Sum string
	// Hash is the hash of this file's content alone ("h1:" prefixed); the
	// revision store keeps it to detect an applied file edited later.
	Hash string
	// Stmts are the file's statements in order.
	Stmts []Stmt
	// TxMode is TxModeFile or TxModeNone (from `-- atlas:txmode none`).
	TxMode string
	// NoLint holds the arguments of file-level `-- atlas:nolint` directives.
	NoLint []string
	// AsWritten is set by the `-- weber:as-written` file directive: the file
	// controls its own transactions and runs exactly as written, with no
	// transaction of Weber's around it. Without it, a file with its own
	// BEGIN/COMMIT is refused.
	AsWritten bool
	// Squashes is the FIRST..LAST argument of the `-- weber:squashes`
	// header directive ("" for a file `db squash` did not write).
	Squashes string
	// Go is the name in the `-- weber:go NAME` file directive: the file is
	// a data migration written in Go, which db upgrade runs in batches
	// (each its own transaction, its progress recorded) with the function
	// registered under that name. Such a file holds no statements.
	Go string
	// Touches holds the arguments of the file's `-- weber:touches`
	// directives, as written (e.g. "users.first_name, users.last_name"):
	// the columns whose values the file rewrites on purpose.
	Touches []string
}

// ChangesRows reports a data migration: a file that runs Go code
// (`-- weber:go`), declares the columns it rewrites (`-- weber:touches`)
// or runs a statement in batches (`-- weber:batch`). Its effect is on
// rows, which no comparison of schemas can see.
func (f *File) ChangesRows() bool {
	if f.Go != "" || len(f.Touches) > 0 {
		return true
	}
	for _, s := range f.Stmts {
		if s.Batch != nil {
			return true
		}
	}
	return false
}

// Stmt is one statement of a migration file.
type Stmt struct {
	// Text is the statement as written, without the trailing delimiter.
	Text string
	// Line is the 1-based line on which the statement starts.
	Line int
	// NoLint holds the arguments of `-- atlas:nolint` directives attached to
	// the statement.
	NoLint []string
	// Batch is set for a statement marked `-- weber:batch`; Text then
	// holds the statement over the whole key range (what a replay on a
	// scratch database runs) and Batch.Template the one with {lo} and {hi}.
	Batch *Batch
	// TxControl is TxBegin, TxCommit or TxRollback for a statement that
	// controls the transaction (only in a file run as written), else "".
	TxControl string
}

// Error is a refusal of the directory. Its message names the file and the fix.
type Error struct {
	// Kind classifies the refusal: KindSum, KindCRLF, KindDuplicate,
	// KindName, KindStray, KindSyntax, KindTxControl or KindDir.
	Kind Kind
	// Path is the directory.
	Path string
	// File is the offending file name ("" for the directory itself).
	File string
	// Msg is the one-line explanation, including what to do next.
	Msg string
}

func (e *Error) Error() string {
	if e.File == "" {
		return fmt.Sprintf("migration directory %s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("migration directory %s: %s: %s", e.Path, e.File, e.Msg)
}

// Is lets errors.Is(err, ErrSumMismatch) match every refusal about atlas.sum.
func (e *Error) Is(target error) bool { return target == ErrSumMismatch && e.Kind == KindSum }

// ErrSumMismatch is matched (errors.Is) by every refusal about atlas.sum:
// missing, empty, corrupt or not matching the files.
var ErrSumMismatch = errors.New("atlas.sum does not match the migration files")

// Kind classifies an Error: what is wrong with the directory.
type Kind string

// Kinds of Error.
const (
	KindSum       Kind = "sum"       // atlas.sum missing, empty, corrupt or not matching
	KindCRLF      Kind = "crlf"      // CRLF line endings
	KindDuplicate Kind = "duplicate" // two files with the same version
	KindName      Kind = "name"      // malformed file name or version order
	KindStray     Kind = "stray"     // a file or directory that does not belong
	KindSyntax    Kind = "syntax"    // a file that cannot be split or has a bad directive
	KindTxControl Kind = "txcontrol" // a file with its own BEGIN/COMMIT and no weber:as-written
	KindDir       Kind = "dir"       // the directory is missing or unreadable
)

// Folder returns the folder name for a dialect's name in any spelling
// dialect.Parse accepts ("sqlite3" -> "sqlite", "postgres" -> "postgres",
// "mysql" -> "mysql").
func Folder(dia string) (string, error) {
	d, err := dialect.Parse(dia)
	if err != nil {
		return "", err
	}
	return d.Folder(), nil
}

// DialectDir returns root/<folder> for an ent dialect name.
func DialectDir(root, dia string) (string, error) {
	f, err := Folder(dia)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, f), nil
}

// dialectOfFolder infers the dialect from a folder's base name.
func dialectOfFolder(path string) string {
	base := filepath.Base(filepath.Clean(path))
	for _, d := range dialect.All() {
		if base == d.Folder() {
			return d.Ent()
		}
	}
	return ""
}

var reName = regexp.MustCompile(`^([0-9]+)(?:_([A-Za-z0-9][A-Za-z0-9_.\-]*))?\.sql$`)

// Open reads and validates the directory at path. The statement splitter
// follows the dialect named by the folder (sqlite, postgres, mysql); use
// OpenDialect for a folder named otherwise.
func Open(path string) (*Dir, error) {
	return OpenDialect(path, dialectOfFolder(path))
}

// OpenDialect is Open with the dialect given explicitly (ent's name; "" for
// the generic splitter).
func OpenDialect(path, dia string) (*Dir, error) {
	d, err := read(path, dia)
	if err != nil {
		return nil, err
	}
	if err := d.checkSum(); err != nil {
		return nil, err
	}
	return d, nil
}

// read reads and parses the files without checking atlas.sum.
func read(path, dia string) (*Dir, error) {
	fail := func(kind Kind, file, format string, args ...any) error {
		return dirError(kind, path, file, format, args...)
	}
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fail(KindDir, "", "does not exist: create it with `weberctl db revision` or pass the right --dir")
		}
		return nil, fail(KindDir, "", "cannot read it: %v", unwrapPath(err))
	}
	if !fi.IsDir() {
		return nil, fail(KindDir, "", "is not a directory: pass the folder holding the .sql files")
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fail(KindDir, "", "cannot list it: %v", unwrapPath(err))
	}
	d := &Dir{Path: path, Dialect: dia, byVersion: map[string]*File{}}
	for _, e := range entries {
		f, err := readEntry(path, e)
		if err != nil {
			return nil, err
		}
		if f != nil {
			d.Files = append(d.Files, f)
		}
	}
	if err := d.index(); err != nil {
		return nil, err
	}
	return d, nil
}

// dirError is an *Error about the folder path, or its file when file is
// not "".
func dirError(kind Kind, path, file, format string, args ...any) error {
	return &Error{Kind: kind, Path: path, File: file, Msg: fmt.Sprintf(format, args...)}
}

// readEntry reads the migration file e of the folder path; it returns nil
// for a file that may sit in the folder but is not a migration file.
func readEntry(path string, e fs.DirEntry) (*File, error) {
	name := e.Name()
	fail := func(kind Kind, format string, args ...any) error {
		return dirError(kind, path, name, format, args...)
	}
	if !e.IsDir() && !e.Type().IsRegular() {
		if err := checkSpecial(path, e); err != nil {
			return nil, fail(KindStray, "%s", err)
		}
	}
	switch {
	case name == SumFile:
		if !e.Type().IsRegular() {
			return nil, fail(KindSum, "is not a regular file: replace it with the file `weberctl db hash` writes")
		}
		return nil, nil
	case e.IsDir():
		return nil, fail(KindStray, "a subdirectory does not belong in a migration directory: move it out (files must sit directly in %s)", path)
	case strings.HasSuffix(name, ".sql"):
	case isAllowedExtra(name):
		return nil, nil
	default:
		return nil, fail(KindStray, "stray file: only <version>_<name>.sql files, atlas.sum, README* and .gitkeep/.gitignore may sit here; rename it to <version>_<name>.sql or move it out")
	}
	if msg := unsupportedName(name); msg != "" {
		return nil, fail(KindName, "%s", msg)
	}
	m := reName.FindStringSubmatch(name)
	if m == nil {
		return nil, fail(KindName, "malformed migration file name: it must be <version>_<name>.sql with a numeric version, e.g. 20261127093000_add_tags.sql; rename it")
	}
	b, err := os.ReadFile(filepath.Join(path, name))
	if err != nil {
		return nil, fail(KindDir, "cannot read it: %v", unwrapPath(err))
	}
	return &File{Name: name, Version: m[1], Description: m[2], Bytes: b}, nil
}

// index checks that the files' versions are unique and ascend, indexes
// them by version and parses each file.
func (d *Dir) index() error {
	// os.ReadDir sorts by name, which is Atlas's (and atlas.sum's) order.
	// Versions must also ascend numerically in that order, or Weber and
	// Atlas would disagree on what runs first.
	for _, f := range d.Files {
		if prev, ok := d.byVersion[canonVersion(f.Version)]; ok {
			return dirError(KindDuplicate, d.Path, f.Name, "duplicate version %s (also used by %s): give one of them a new version (rename it) and run `weberctl db hash`", f.Version, prev.Name)
		}
		d.byVersion[canonVersion(f.Version)] = f
	}
	for i, f := range d.Files {
		if i > 0 && compareVersions(d.Files[i-1].Version, f.Version) > 0 {
			return dirError(KindName, d.Path, f.Name, "version %s sorts before %s as text but after it as a number: pad versions to the same number of digits (e.g. 0002) and run `weberctl db hash`", f.Version, d.Files[i-1].Version)
		}
		if kind, err := f.parse(d.Dialect); err != nil {
			return &Error{Kind: kind, Path: d.Path, File: f.Name, Msg: err.Error()}
		}
	}
	return nil
}

// unsupportedName explains a .sql file name in another tool's convention
// that Weber would otherwise misread ("" for a name it understands).
func unsupportedName(name string) string {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".down.sql"):
		return "is a down migration: Weber and Atlas have no down files (each .sql file here runs forward, so this one would run as an upgrade); move it out of the folder (`weberctl db downgrade` plans a downgrade from the history) and run `weberctl db hash`"
	case strings.HasSuffix(lower, ".up.sql"):
		return "the .up.sql suffix belongs to another tool: every file here runs forward; rename it to " + strings.TrimSuffix(name, name[len(name)-len(".up.sql"):]) + ".sql and run `weberctl db hash`"
	}
	return ""
}

// checkSpecial refuses a directory entry that is not a regular file: a
// FIFO, a device or a socket (reading one can block forever), or a
// symbolic link that leads outside the folder or to anything but a regular
// file. A link to a regular file inside the folder is accepted.
func checkSpecial(dir string, e fs.DirEntry) error {
	full := filepath.Join(dir, e.Name())
	if e.Type()&fs.ModeSymlink == 0 {
		return fmt.Errorf("is a %s, not a regular file: a migration folder holds only files; remove it", describeMode(e.Type()))
	}
	target, err := filepath.EvalSymlinks(full)
	if err != nil {
		return fmt.Errorf("is a symbolic link that cannot be followed (%v): replace it with the file itself", unwrapPath(err))
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("cannot resolve the folder: %v", unwrapPath(err))
	}
	if rel, err := filepath.Rel(root, target); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return fmt.Errorf("is a symbolic link to %s, outside the migration folder: replace it with a copy of the file, or remove it", target)
	}
	fi, err := os.Stat(target)
	if err != nil {
		return fmt.Errorf("is a symbolic link that cannot be followed (%v): replace it with the file itself", unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("is a symbolic link to a %s, not a regular file: remove it", describeMode(fi.Mode()))
	}
	return nil
}

// describeMode names a non-regular file type for a message.
func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	case m.IsDir():
		return "directory"
	}
	return "special file"
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// isAllowedExtra reports the non-migration files tolerated in a directory.
func isAllowedExtra(name string) bool {
	return name == ".gitkeep" || name == ".gitignore" || strings.HasPrefix(strings.ToUpper(name), "README")
}

// canonVersion strips leading zeros so "01" and "1" count as the same version.
func canonVersion(v string) string {
	t := strings.TrimLeft(v, "0")
	if t == "" {
		return "0"
	}
	return t
}

// CompareVersions compares two numeric versions by value: -1, 0 or +1.
func CompareVersions(a, b string) int { return compareVersions(a, b) }

func compareVersions(a, b string) int {
	a, b = canonVersion(a), canonVersion(b)
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// parse checks line endings, splits statements and reads directives.
func (f *File) parse(dia string) (Kind, error) {
	if i := bytes.Index(f.Bytes, []byte("\r\n")); i >= 0 {
		line := bytes.Count(f.Bytes[:i], []byte("\n")) + 1
		return KindCRLF, fmt.Errorf("has CRLF (Windows) line endings (first on line %d): convert it to LF (e.g. `dos2unix %s`, or set `* text eol=lf` in .gitattributes) and run `weberctl db hash`", line, f.Name)
	}
	h := sha256.Sum256(f.Bytes)
	f.Hash = "h1:" + base64.StdEncoding.EncodeToString(h[:])
	lf := migrate.NewLocalFile(f.Name, f.Bytes)
	for _, a := range lf.Directive("nolint") {
		f.NoLint = append(f.NoLint, strings.Fields(a)...)
	}
	stmts, err := scanner(dia).Scan(string(f.Bytes))
	if err != nil {
		return KindSyntax, fmt.Errorf("cannot split it into statements: %v; fix the SQL and run `weberctl db hash`", err)
	}
	// Atlas's scanner drops a first-line `-- atlas:delimiter` before
	// scanning, so its positions start after that line.
	if first, _, ok := strings.Cut(string(f.Bytes), "\n"); ok && strings.HasPrefix(first, "-- "+DirectiveDelimiter) {
		for _, s := range stmts {
			s.Pos += len(first) + 1
		}
	}
	fd, err := f.checkDirectives(stmts)
	if err != nil {
		return KindSyntax, err
	}
	f.AsWritten = fd.asWritten
	f.Squashes = fd.squashes
	f.Go = fd.goName
	f.Touches = fd.touches
	if f.Go != "" && len(stmts) > 0 {
		return KindSyntax, fmt.Errorf("a `-- %s %s` data migration runs Go, not SQL, yet the file holds %d statement(s): move them into a revision of their own, then run `weberctl db hash`", DirectiveGo, f.Go, len(stmts))
	}
	f.TxMode = TxModeFile
	if slices.Contains(fd.txmode, TxModeNone) || f.AsWritten || f.Go != "" {
		f.TxMode = TxModeNone
	}
	if f.AsWritten && slices.Contains(fd.txmode, TxModeFile) {
		return KindSyntax, fmt.Errorf("`-- %s` and `-- atlas:txmode file` contradict each other: a file run as written has no transaction of Weber's; remove one of them and run `weberctl db hash`", DirectiveAsWritten)
	}
	if err := f.readStmts(dia, stmts); err != nil {
		return KindSyntax, err
	}
	if err := f.checkTxControl(); err != nil {
		return KindTxControl, err
	}
	return "", nil
}

// readStmts sets f.Stmts from the scanned statements: their lines, nolint
// directives, batches and transaction control.
func (f *File) readStmts(dia string, stmts []*migrate.Stmt) error {
	// Statement positions ascend, so counting newlines as we go is linear.
	line, at := 1, 0
	f.Stmts = make([]Stmt, 0, len(stmts))
	for _, s := range stmts {
		pos := s.Pos
		if pos < at || pos > len(f.Bytes) {
			pos = at // defensive: never go backwards
		}
		line += bytes.Count(f.Bytes[at:pos], []byte("\n"))
		at = pos
		st := Stmt{Text: s.Text, Line: line}
		for _, a := range s.Directive("nolint") {
			st.NoLint = append(st.NoLint, strings.Fields(a)...)
		}
		b, err := parseBatch(s.Comments, s.Text)
		if err != nil {
			return fmt.Errorf("statement %d (line %d): %v; then run `weberctl db hash`", len(f.Stmts)+1, line, err)
		}
		if b != nil {
			if f.TxMode != TxModeNone && dia != entdialect.MySQL {
				return fmt.Errorf("statement %d (line %d) is batched (`-- weber:batch`), so each batch must be its own transaction: add `-- atlas:txmode none` at the top of the file, followed by a blank line, and run `weberctl db hash`", len(f.Stmts)+1, line)
			}
			st.Batch = b
			st.Text = b.Range(math.MinInt64, math.MaxInt64)
		}
		st.TxControl = txControl(s.Text)
		f.Stmts = append(f.Stmts, st)
	}
	return nil
}

// Statements splits text into statements exactly as Open splits a file of
// the dialect dia (ent's name; "" for the generic splitter), honouring an
// `-- atlas:delimiter` directive on its first line. Tools that write files
// for this package use it to check that a file splits as they intend.
func Statements(dia, text string) ([]string, error) {
	stmts, err := scanner(dia).Scan(text)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(stmts))
	for i, s := range stmts {
		out[i] = s.Text
	}
	return out, nil
}

// scanner returns Atlas's statement scanner configured as the dialect's
// driver configures it.
func scanner(dia string) *migrate.Scanner {
	var o migrate.ScannerOptions
	switch dia {
	case entdialect.MySQL:
		o = migrate.ScannerOptions{MatchBegin: true, BackslashEscapes: true, HashComments: true}
	case entdialect.Postgres:
		o = migrate.ScannerOptions{MatchBegin: true, MatchBeginAtomic: true, MatchDollarQuote: true, EscapedStringExt: true}
	case entdialect.SQLite:
		o = migrate.ScannerOptions{MatchBegin: true}
	default:
		o = migrate.ScannerOptions{MatchBeginAtomic: true, MatchDollarQuote: true}
	}
	return &migrate.Scanner{ScannerOptions: o}
}

// PartialHashes returns Atlas's running statement hashes for the file: entry
// i covers statements 0..i. The revision store keeps the first k of them
// for a file applied up to statement k.
func (f *File) PartialHashes() []string {
	out := make([]string, len(f.Stmts))
	h := sha256.New()
	for i, s := range f.Stmts {
		h.Write([]byte(s.Text))
		out[i] = "h1:" + base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	return out
}

// Find returns the file with the given version (numeric match), or nil.
func (d *Dir) Find(version string) *File {
	return d.byVersion[canonVersion(version)]
}

// Latest returns the version of the last file, or "" for an empty directory.
func (d *Dir) Latest() string {
	if len(d.Files) == 0 {
		return ""
	}
	return d.Files[len(d.Files)-1].Version
}

// Nearest returns the file version closest to v, to suggest in an error.
func (d *Dir) Nearest(v string) string {
	best, bestScore := "", -1
	for _, f := range d.Files {
		score := commonPrefix(f.Version, v)
		if score > bestScore {
			best, bestScore = f.Version, score
		}
	}
	return best
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// localFiles returns the files as Atlas files, in name order.
func (d *Dir) localFiles() []migrate.File {
	out := make([]migrate.File, len(d.Files))
	for i, f := range d.Files {
		out[i] = migrate.NewLocalFile(f.Name, f.Bytes)
	}
	return out
}

// checkSum compares atlas.sum with the files in one pass.
func (d *Dir) checkSum() error {
	fail := func(_, file, format string, args ...any) error {
		return &Error{Kind: KindSum, Path: d.Path, File: file, Msg: fmt.Sprintf(format, args...)}
	}
	const fix = "run `weberctl db hash` if the change is intended (never for a file already applied in production)"
	b, err := os.ReadFile(filepath.Join(d.Path, SumFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if len(d.Files) == 0 {
			return nil
		}
		return fail("missing", SumFile, "is missing: run `weberctl db hash` to write it (or `weberctl db revision`, which maintains it)")
	case err != nil:
		return fail("corrupt", SumFile, "cannot read it: %v", unwrapPath(err))
	case len(bytes.TrimSpace(b)) == 0:
		return fail("empty", SumFile, "is empty: run `weberctl db hash` to rewrite it")
	case HasConflictMarkers(b):
		return fail("conflict", SumFile, conflictMsg)
	case bytes.Contains(b, []byte("\r")):
		return fail("corrupt", SumFile, "has CRLF line endings: convert it to LF (or run `weberctl db hash`)")
	}
	var sum migrate.HashFile
	if err := sum.UnmarshalText(b); err != nil {
		return fail("corrupt", SumFile, "is corrupt (%v): restore it from version control or run `weberctl db hash`", err)
	}
	want, err := migrate.NewHashFile(d.localFiles())
	if err != nil {
		return fail("corrupt", SumFile, "cannot hash the files: %v", err)
	}
	have := map[string]bool{}
	for _, e := range want {
		have[e.N] = true
	}
	for i, e := range sum {
		if i < len(want) && want[i] == e {
			continue
		}
		switch {
		case !have[e.N]:
			return fail("removed", e.N, "is listed in atlas.sum but missing from the directory: restore the file (never delete an applied migration), or %s", fix)
		case i < len(want) && want[i].N == e.N:
			return fail("edited", e.N, "was edited after atlas.sum was written: revert the edit, or %s", fix)
		case i < len(want):
			return fail("added", want[i].N, "was added without updating atlas.sum: %s", fix)
		default:
			return fail("edited", e.N, "atlas.sum lists the files in a different order than the directory: %s", fix)
		}
	}
	if len(want) > len(sum) {
		return fail("added", want[len(sum)].N, "was added without updating atlas.sum: %s", fix)
	}
	d.Sum = sum
	sums := make(map[string]string, len(want))
	for _, e := range want {
		sums[e.N] = "h1:" + e.H
	}
	for _, f := range d.Files {
		f.Sum = sums[f.Name]
	}
	return nil
}

// Rehash rewrites path/atlas.sum from the files in the directory (the
// `db hash` repair). It still refuses a directory with malformed names,
// duplicates, stray files or CRLF line endings.
func Rehash(path string) error {
	d, err := read(path, dialectOfFolder(path))
	if err != nil {
		return err
	}
	ld, err := migrate.NewLocalDir(path)
	if err != nil {
		return &Error{Kind: KindDir, Path: path, Msg: err.Error()}
	}
	sum, err := migrate.NewHashFile(d.localFiles())
	if err != nil {
		return &Error{Kind: KindSum, Path: path, File: SumFile, Msg: fmt.Sprintf("cannot hash the files: %v", err)}
	}
	if err := migrate.WriteSumFile(ld, sum); err != nil {
		return &Error{Kind: KindSum, Path: path, File: SumFile, Msg: fmt.Sprintf("cannot write it: %v", err)}
	}
	return nil
}

// CheckFiles reads the folder at path and applies every rule Open applies
// except the atlas.sum check: file types, names, versions, line endings,
// directives and transaction control. Callers that read the history their
// own way (`db revision`) call it so that a folder every other command
// refuses is refused there too.
func CheckFiles(path string) error {
	_, err := read(path, dialectOfFolder(path))
	return err
}
