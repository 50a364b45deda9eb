package devdb

import entschema "entgo.io/ent/dialect/sql/schema"

// cloneTables deep-copies ent tables. ent's migration engine writes into the
// tables it is given (links between columns, indexes and foreign keys, and
// dialect-specific symbol names), and migrate.Tables is a package variable:
// two Ensure calls at once in one process would race on it. Each call works
// on its own copy instead.
//
// Only exported fields are copied; the unexported ones are the very links
// ent fills in. The field lists match ent v0.14.5 (pinned in go.mod).
func cloneTables(tables []*entschema.Table) []*entschema.Table {
	tmap := make(map[*entschema.Table]*entschema.Table, len(tables))
	cmap := make(map[*entschema.Column]*entschema.Column)
	col := func(c *entschema.Column) *entschema.Column {
		if c == nil {
			return nil
		}
		if n, ok := cmap[c]; ok {
			return n
		}
		n := &entschema.Column{
			Name: c.Name, Type: c.Type, SchemaType: c.SchemaType, Attr: c.Attr, Size: c.Size, Key: c.Key,
			Unique: c.Unique, Increment: c.Increment, Nullable: c.Nullable, Default: c.Default,
			Enums: c.Enums, Collation: c.Collation, Comment: c.Comment,
		}
		cmap[c] = n
		return n
	}
	cols := func(cs []*entschema.Column) []*entschema.Column {
		if cs == nil {
			return nil
		}
		out := make([]*entschema.Column, len(cs))
		for i, c := range cs {
			out[i] = col(c)
		}
		return out
	}
	out := make([]*entschema.Table, len(tables))
	for i, t := range tables {
		n := &entschema.Table{
			Name: t.Name, Schema: t.Schema, Annotation: t.Annotation, Comment: t.Comment, View: t.View, Pos: t.Pos,
		}
		n.Columns = cols(t.Columns)
		tmap[t] = n
		out[i] = n
	}
	table := func(t *entschema.Table) *entschema.Table {
		if n, ok := tmap[t]; ok {
			return n
		}
		return t // a table outside the set: referenced, never migrated here
	}
	for i, t := range tables {
		n := out[i]
		n.PrimaryKey = cols(t.PrimaryKey)
		for _, idx := range t.Indexes {
			n.Indexes = append(n.Indexes, &entschema.Index{Name: idx.Name, Unique: idx.Unique, Columns: cols(idx.Columns), Annotation: idx.Annotation})
		}
		for _, fk := range t.ForeignKeys {
			n.ForeignKeys = append(n.ForeignKeys, &entschema.ForeignKey{
				Symbol: fk.Symbol, Columns: cols(fk.Columns), RefTable: table(fk.RefTable), RefColumns: cols(fk.RefColumns),
				OnUpdate: fk.OnUpdate, OnDelete: fk.OnDelete,
			})
		}
	}
	return out
}
