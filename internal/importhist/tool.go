package importhist

import (
	"errors"
	"fmt"
	"strings"
)

// Tool names the migration tool a history was written for.
type Tool string

// The tools whose histories can be imported.
const (
	GolangMigrate Tool = "golang-migrate"
	Goose         Tool = "goose"
	Dbmate        Tool = "dbmate"
	Atlas         Tool = "atlas"
)

// Tools lists the supported tools in the order help text names them.
func Tools() []Tool { return []Tool{GolangMigrate, Goose, Dbmate, Atlas} }

// ParseTool reads a tool name; "migrate" and "golang_migrate" are accepted
// for golang-migrate.
func ParseTool(s string) (Tool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "golang-migrate", "golang_migrate", "migrate":
		return GolangMigrate, nil
	case "goose":
		return Goose, nil
	case "dbmate":
		return Dbmate, nil
	case "atlas":
		return Atlas, nil
	}
	names := make([]string, 0, 4)
	for _, t := range Tools() {
		names = append(names, string(t))
	}
	return "", fmt.Errorf("unknown tool %q: use one of %s", s, strings.Join(names, ", "))
}

// VersionTable returns the name of the table in which the tool records what
// it applied, by default: schema_migrations for golang-migrate and dbmate,
// goose_db_version for goose, atlas_schema_revisions for Atlas.
func (t Tool) VersionTable() string {
	switch t {
	case Goose:
		return "goose_db_version"
	case Atlas:
		return "atlas_schema_revisions"
	}
	return "schema_migrations"
}

// Kind classifies an Error.
type Kind string

// Kinds of Error.
const (
	// KindSource: the foreign directory cannot be read by the tool's rules.
	KindSource Kind = "source"
	// KindUnsupported: the history uses something Weber cannot carry over
	// (a Go migration, environment substitution, a transaction statement
	// inside a file).
	KindUnsupported Kind = "unsupported"
	// KindOrder: the tool orders the files differently from Weber.
	KindOrder Kind = "order"
	// KindTarget: the Weber folder already holds a different history.
	KindTarget Kind = "target"
	// KindNoTable: the tool's version table is not in the database.
	KindNoTable Kind = "no-table"
	// KindDirty: the tool's table records a migration that failed halfway.
	KindDirty Kind = "dirty"
	// KindUnknownVersion: the tool's table names a version that is not in
	// the files, or holds rows the tool itself would not write.
	KindUnknownVersion Kind = "unknown-version"
	// KindHistory: the database already has a different Weber history.
	KindHistory Kind = "history"
)

// Error is a refusal: nothing was written. Msg names the problem and the
// fix in one line.
type Error struct {
	// Kind classifies the refusal (KindSource, KindDirty, ...).
	Kind Kind
	// File is the file concerned, or "".
	File string
	// Msg is the one-line explanation.
	Msg string
}

func (e *Error) Error() string {
	if e.File == "" {
		return e.Msg
	}
	return e.File + ": " + e.Msg
}

// KindOf returns the Kind of the *Error in err's chain, or "" when there
// is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

func refuse(kind Kind, file, format string, args ...any) *Error {
	return &Error{Kind: kind, File: file, Msg: fmt.Sprintf(format, args...)}
}
