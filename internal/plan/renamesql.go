package plan

import (
	"regexp"

	"ariga.io/atlas/sql/schema"

	"github.com/weber-framework/weber/weberschema"
)

// ident matches one quoted or bare identifier, capturing its name.
const identRe = "(?:`([^`]+)`|\"([^\"]+)\"|([A-Za-z_][A-Za-z0-9_]*))"

var (
	renameTableSQL  = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+` + identRe + `\s+RENAME\s+TO\s+` + identRe + `\s*;?\s*$`)
	renameTable2SQL = regexp.MustCompile(`(?is)^\s*RENAME\s+TABLE\s+` + identRe + `\s+TO\s+` + identRe + `\s*;?\s*$`)
	renameColumnSQL = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+` + identRe + `\s+RENAME\s+COLUMN\s+` + identRe + `\s+TO\s+` + identRe + `\s*(,.*)?;?\s*$`)
	createTableSQL  = regexp.MustCompile(`(?is)^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?` + identRe)
	changeColumnSQL = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+` + identRe + `\s+CHANGE\s+(?:COLUMN\s+)?` + identRe + `\s+` + identRe + `\s`)
)

// captured returns the identifier captured at group i (of three alternatives).
func captured(m []string, i int) string {
	for _, s := range m[i : i+3] {
		if s != "" {
			return s
		}
	}
	return ""
}

// RenamesIn reads the renames a migration's statements make, in order:
// ALTER TABLE t RENAME TO n, RENAME TABLE t TO n, ALTER TABLE t RENAME
// COLUMN a TO b, and MySQL's ALTER TABLE t CHANGE COLUMN a b when a and b
// differ. Each Rename names its table as the statement does (after earlier
// table renames). A table the file creates is no rename of an existing
// one: SQLite's table rebuild (CREATE TABLE new_t ...; ALTER TABLE new_t
// RENAME TO t) is left out. Other statements are ignored.
func RenamesIn(stmts []string) []weberschema.Rename {
	var out []weberschema.Rename
	created := map[string]bool{}
	for _, s := range stmts {
		if m := createTableSQL.FindStringSubmatch(s); m != nil {
			created[captured(m, 1)] = true
		}
	}
	for _, s := range stmts {
		m := renameTableSQL.FindStringSubmatch(s)
		if m == nil {
			m = renameTable2SQL.FindStringSubmatch(s)
		}
		if m != nil {
			if !created[captured(m, 1)] {
				out = append(out, weberschema.Rename{From: captured(m, 1), To: captured(m, 4)})
			}
		} else if m := renameColumnSQL.FindStringSubmatch(s); m != nil {
			out = append(out, weberschema.Rename{Table: captured(m, 1), From: captured(m, 4), To: captured(m, 7)})
		} else if m := changeColumnSQL.FindStringSubmatch(s); m != nil && captured(m, 4) != captured(m, 7) {
			out = append(out, weberschema.Rename{Table: captured(m, 1), From: captured(m, 4), To: captured(m, 7)})
		}
	}
	return out
}

// Reversed returns the renames that undo renames: each reversed, in the
// opposite order.
func Reversed(renames []weberschema.Rename) []weberschema.Rename {
	out := make([]weberschema.Rename, 0, len(renames))
	for i := len(renames) - 1; i >= 0; i-- {
		r := renames[i]
		if r.Table == "" {
			out = append(out, weberschema.Rename{From: r.To, To: r.From})
			continue
		}
		out = append(out, weberschema.Rename{Table: r.Table, From: r.To, To: r.From})
	}
	return out
}

// WithRenames plans, for a caller that diffs two schemas itself (`db
// downgrade`), the renames on current: it renames the tables and columns
// in current (in memory) and returns the changes that rename them in the
// database. Diff current with the other schema afterwards and pass both to
// MergeRenames.
func WithRenames(current *schema.Schema, renames []weberschema.Rename) (renameChanges []schema.Change, tables []string) {
	out, tables, _ := applyRenames(current, renames)
	return out, tables
}

// MergeRenames puts renameChanges (from WithRenames) before changes,
// turning a dropped and an added index of a renamed table into a rename of
// the index.
func MergeRenames(renameChanges, changes []schema.Change, tables []string) []schema.Change {
	return mergeRenames(renameChanges, renameIndexes(changes, tables))
}
