package preflight

import "github.com/weber-framework/weber/internal/migdir"

// DataLossDirective is migdir.DataLossDirective, by which a file declares
// the data it loses on purpose.
const DataLossDirective = migdir.DataLossDirective

// ParseDataLoss reads the data-loss directives of a file's content
// (migdir.ParseDataLoss).
func ParseDataLoss(content []byte) migdir.DeclaredLoss { return migdir.ParseDataLoss(content) }

// Covers reports whether the declaration covers a risk: a dropped table
// named as a table, a dropped column named as a column or by its table.
func covers(d migdir.DeclaredLoss, r Risk) bool {
	switch r.Kind {
	case DropTable:
		return d.Table(r.Table)
	case DropColumn:
		return d.Column(r.Table, r.Column)
	}
	return false
}
