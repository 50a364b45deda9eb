package plan

import (
	"slices"
	"strings"

	"ariga.io/atlas/sql/mysql"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlite"
)

// destructive lists the changes that destroy data or schema objects: table,
// column and index drops, and column type changes that are not widenings.
func destructive(folder string, changes []schema.Change) []LeftOut {
	var out []LeftOut
	for _, c := range changes {
		switch c := c.(type) {
		case *schema.DropTable:
			out = append(out, LeftOut{Kind: "DROP TABLE", Table: c.T.Name})
		case *schema.ModifyTable:
			for _, sc := range c.Changes {
				switch sc := sc.(type) {
				case *schema.DropColumn:
					l := LeftOut{Kind: "DROP COLUMN", Table: c.T.Name, Name: sc.C.Name}
					if needsNull(sc.C) {
						l.Detail = "kept as nullable so the application can insert without it"
					}
					out = append(out, l)
				case *schema.DropIndex:
					out = append(out, LeftOut{Kind: "DROP INDEX", Table: c.T.Name, Name: sc.I.Name})
				case *schema.ModifyColumn:
					if lossy(sc) {
						out = append(out, LeftOut{Kind: "MODIFY COLUMN", Table: c.T.Name, Name: sc.To.Name,
							Detail: typeString(folder, sc.From.Type) + " -> " + typeString(folder, sc.To.Type)})
					}
				}
			}
		}
	}
	return out
}

// isDestructiveSource reports whether a planned statement's source change
// destroys data.
func isDestructiveSource(folder string, c schema.Change) bool {
	switch c := c.(type) {
	case *schema.DropTable, *schema.DropColumn, *schema.DropIndex:
		return true
	case *schema.ModifyColumn:
		return lossy(c)
	case *schema.ModifyTable:
		return len(destructive(folder, []schema.Change{c})) > 0
	}
	return false
}

// needsNull reports a column the application could no longer insert rows
// without, once it leaves the models: NOT NULL without a default.
func needsNull(c *schema.Column) bool {
	return c.Type != nil && !c.Type.Null && c.Default == nil && !autoIncrement(c)
}

func autoIncrement(c *schema.Column) bool {
	for _, a := range c.Attrs {
		switch a.(type) {
		case *sqlite.AutoIncrement, *mysql.AutoIncrement, *postgres.Identity:
			return true
		}
	}
	return false
}

// keep edits desired so that a new diff leaves out the destructive changes:
// dropped tables, columns and indexes are put back as the history has them
// (a NOT NULL column without a default is put back nullable), and a
// narrowed column keeps its current type.
func keep(desired *schema.Schema, changes []schema.Change) {
	for _, c := range changes {
		switch c := c.(type) {
		case *schema.DropTable:
			t := *c.T
			t.Schema = desired
			desired.Tables = append(desired.Tables, &t)
		case *schema.ModifyTable:
			dt, ok := desired.Table(c.T.Name)
			if !ok {
				continue
			}
			for _, sc := range c.Changes {
				switch sc := sc.(type) {
				case *schema.DropColumn:
					col := *sc.C
					if col.Type != nil && needsNull(sc.C) {
						ty := *col.Type
						ty.Null = true
						col.Type = &ty
					}
					col.Indexes, col.ForeignKeys = nil, nil
					dt.Columns = append(dt.Columns, &col)
				case *schema.ModifyColumn:
					if !lossy(sc) {
						continue
					}
					if dc, ok := dt.Column(sc.To.Name); ok && sc.From.Type != nil {
						ty := *dc.Type
						ty.Type, ty.Raw = sc.From.Type.Type, sc.From.Type.Raw
						dc.Type = &ty
					}
				}
			}
			// Indexes after columns: their parts must point at desired's columns.
			for _, sc := range c.Changes {
				d, ok := sc.(*schema.DropIndex)
				if !ok {
					continue
				}
				idx := *d.I
				idx.Table = dt
				idx.Parts = nil
				for _, p := range d.I.Parts {
					np := *p
					if p.C != nil {
						if dc, ok := dt.Column(p.C.Name); ok {
							np.C = dc
						}
					}
					idx.Parts = append(idx.Parts, &np)
				}
				dt.Indexes = append(dt.Indexes, &idx)
			}
		}
	}
}

// lossy reports a column change whose new type may not hold every value of
// the old one.
func lossy(m *schema.ModifyColumn) bool {
	if !m.Change.Is(schema.ChangeType) || m.From.Type == nil || m.To.Type == nil {
		return false
	}
	return !widens(m.From.Type.Type, m.To.Type.Type)
}

// widens reports whether every value of type from fits in type to.
func widens(from, to schema.Type) bool {
	switch f := from.(type) {
	case *schema.StringType:
		t, ok := to.(*schema.StringType)
		if !ok {
			return false
		}
		fr, tr := textRank(f.T), textRank(t.T)
		switch {
		case fr > 0 && tr > 0: // both unbounded text kinds
			return tr >= fr
		case tr > 0: // bounded to text
			return tr > 1 || f.Size <= 255
		case fr > 0: // text to bounded
			return false
		}
		return t.Size == 0 || (f.Size != 0 && t.Size >= f.Size)
	case *schema.IntegerType:
		t, ok := to.(*schema.IntegerType)
		return ok && f.Unsigned == t.Unsigned && intRank(t.T) >= intRank(f.T)
	case *schema.EnumType:
		t, ok := to.(*schema.EnumType)
		if !ok {
			return false
		}
		for _, v := range f.Values {
			if !slices.Contains(t.Values, v) {
				return false
			}
		}
		return true
	case *schema.DecimalType:
		t, ok := to.(*schema.DecimalType)
		return ok && t.Scale >= f.Scale && t.Precision-t.Scale >= f.Precision-f.Scale
	case *schema.FloatType:
		t, ok := to.(*schema.FloatType)
		return ok && floatRank(t.T) >= floatRank(f.T) && (t.Precision == 0 || t.Precision >= f.Precision)
	case *schema.TimeType:
		t, ok := to.(*schema.TimeType)
		return ok && strings.EqualFold(f.T, t.T)
	}
	return false
}

// textRank ranks unbounded text types (0: a bounded type like varchar).
func textRank(t string) int {
	switch strings.ToLower(t) {
	case "tinytext":
		return 1
	case "text", "clob":
		return 2
	case "mediumtext":
		return 3
	case "longtext":
		return 4
	}
	return 0
}

func intRank(t string) int {
	switch strings.ToLower(t) {
	case "tinyint":
		return 1
	case "smallint", "int2", "smallserial":
		return 2
	case "mediumint":
		return 3
	case "int", "integer", "int4", "serial":
		return 4
	}
	return 5 // bigint and the like
}

func floatRank(t string) int {
	switch strings.ToLower(t) {
	case "float", "real", "float4":
		return 1
	}
	return 2
}

// typeString renders a column type in the dialect's SQL.
func typeString(folder string, ct *schema.ColumnType) string {
	if ct == nil || ct.Type == nil {
		return "?"
	}
	var (
		s   string
		err error
	)
	switch folder {
	case SQLite:
		s, err = sqlite.FormatType(ct.Type)
	case Postgres:
		s, err = postgres.FormatType(ct.Type)
	default:
		s, err = mysql.FormatType(ct.Type)
	}
	if err != nil || s == "" {
		return ct.Raw
	}
	return s
}
