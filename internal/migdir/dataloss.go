package migdir

import (
	"regexp"
	"strings"
)

// DataLossDirective is the directive by which a migration file declares
// the data it loses on purpose, on a comment line of its own anywhere in
// the file:
//
//	-- weber:data-loss audit_logs, users.legacy_note
//
// A table name covers the table's rows (a DELETE), its drop and every one
// of its columns; "table.column" covers that column (its drop, its values).
// The upgrade's pre-flight lets a declared drop through without
// --allow-data-loss, db lint accepts it as intended, and db verify accepts
// the loss in its comparisons and in its down-and-up round.
const DataLossDirective = DirectiveDataLoss

var dataLossRe = regexp.MustCompile(`(?m)^[ \t]*(?:--|#)[ \t]*weber:data-loss(?:[ \t]+(.*))?$`)

var unquote = strings.NewReplacer("\"", "", "`", "", "'", "")

// DeclaredLoss is what the data-loss directives of one file name: "table"
// or "table.column" entries.
type DeclaredLoss map[string]bool

// ParseDataLoss reads the data-loss directives of a file's content.
func ParseDataLoss(content []byte) DeclaredLoss {
	d := DeclaredLoss{}
	for _, m := range dataLossRe.FindAllSubmatch(content, -1) {
		for _, item := range strings.FieldsFunc(string(m[1]), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' }) {
			if item = unquote.Replace(item); item != "" {
				d[item] = true
			}
		}
	}
	return d
}

// Table reports whether the file declares the loss of table's rows or the
// table itself.
func (d DeclaredLoss) Table(table string) bool { return d[table] }

// Column reports whether the file declares the loss of the column's
// values: the column, or its whole table, is named.
func (d DeclaredLoss) Column(table, column string) bool {
	return d[table] || d[table+"."+column]
}
