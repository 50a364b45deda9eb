package fingerprint

import (
	"fmt"
	"slices"

	"github.com/weber-framework/weber/weberschema"
)

// Renamed returns a view of s in which renames (in order; a column's table
// named as it is at that point) have been made, for a Compare with a
// snapshot taken after migrations that rename: each renamed table and
// column is then compared, row by row, with its new name, and Compare says
// that every value is under the new name (ColumnRenamed, TableRenamed). A
// rename whose old name s lacks is ignored. The view shares s's rows: close
// s, never the view.
func (s *Snapshot) Renamed(renames []weberschema.Rename) *Snapshot {
	v := &Snapshot{Dialect: s.Dialect, Tables: map[string]*Table{}, store: s.store}
	for name, t := range s.Tables {
		v.Tables[name] = t
	}
	own := map[*Table]bool{} // tables already copied into the view
	copyOf := func(name string) *Table {
		t := v.Tables[name]
		if t == nil || own[t] {
			return t
		}
		c := *t
		c.Columns = map[string]*Column{}
		for n, col := range t.Columns {
			c.Columns[n] = col
		}
		c.Order = slices.Clone(t.Order)
		c.PrimaryKey = slices.Clone(t.PrimaryKey)
		own[&c] = true
		v.Tables[name] = &c
		return &c
	}
	for _, r := range renames {
		if r.Table == "" {
			t := copyOf(r.From)
			if t == nil || v.Tables[r.To] != nil {
				continue
			}
			delete(v.Tables, r.From)
			if t.was == "" {
				t.was = t.Name
			}
			t.Name = r.To
			v.Tables[r.To] = t
			continue
		}
		t := copyOf(r.Table)
		if t == nil || t.Columns[r.From] == nil || t.Columns[r.To] != nil {
			continue
		}
		col := *t.Columns[r.From]
		if col.was == "" {
			col.was, col.wasTable = col.Name, t.wasName()
		}
		col.Name = r.To
		delete(t.Columns, r.From)
		t.Columns[r.To] = &col
		for i, n := range t.Order {
			if n == r.From {
				t.Order[i] = r.To
			}
		}
		for i, n := range t.PrimaryKey {
			if n == r.From {
				t.PrimaryKey[i] = r.To
			}
		}
	}
	return v
}

// wasName is the table's name before the renames of a view.
func (t *Table) wasName() string {
	if t.was != "" {
		return t.was
	}
	return t.Name
}

// label names a column in a finding: "users.bio", or, in a view of
// renames, "users.bio (now biography)".
func (t *Table) label(cn string) string {
	c := t.Columns[cn]
	if c == nil || c.was == "" && t.was == "" {
		return t.Name + "." + cn
	}
	if c.was == "" {
		return fmt.Sprintf("%s.%s (now %s.%s)", t.was, cn, t.Name, cn)
	}
	if c.wasTable == t.Name {
		return fmt.Sprintf("%s.%s (now %s)", c.wasTable, c.was, cn)
	}
	return fmt.Sprintf("%s.%s (now %s.%s)", c.wasTable, c.was, t.Name, cn)
}

// renameFindings says, for the renamed table b (a view's) and its renamed
// columns, that every row and value is under the new name, unless fs
// already reports a loss or a change there.
func renameFindings(b, a *Table, fs []Finding) []Finding {
	var out []Finding
	if b.was != "" && !slices.ContainsFunc(fs, func(f Finding) bool { return f.Kind == RowsLost }) {
		out = append(out, Finding{Kind: TableRenamed, Severity: Info, Table: b.was, NewName: b.Name, Before: b.Rows, After: a.Rows,
			Message: fmt.Sprintf("table %s was renamed to %s with all %d rows", b.was, b.Name, b.Rows)})
	}
	for _, cn := range b.Order {
		c := b.Columns[cn]
		if c.was == "" || a.Columns[cn] == nil || slices.ContainsFunc(fs, func(f Finding) bool { return f.Column == cn }) {
			continue
		}
		to := cn
		if c.wasTable != b.Name {
			to = b.Name + "." + cn
		}
		out = append(out, Finding{Kind: ColumnRenamed, Severity: Info, Table: c.wasTable, Column: c.was, NewName: to, Before: c.NonNull, After: a.Columns[cn].NonNull,
			Message: fmt.Sprintf("column %s.%s was renamed to %s: all %d rows hold their value under the new name", c.wasTable, c.was, to, b.Rows)})
	}
	return out
}
