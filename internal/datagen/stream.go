package datagen

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/liveschema"
)

// keyCursor reads the key tuples of a table page by page, in key order,
// starting over at the first key when it reaches the end: memory holds one
// page, whatever the size of the table.
type keyCursor struct {
	g     *gen
	table string
	cols  []*schema.Column
	last  []any
	// wrapped is set once the cursor has started over.
	wrapped bool
}

func (g *gen) cursor(table string, cols []*schema.Column) *keyCursor {
	return &keyCursor{g: g, table: table, cols: cols}
}

// next returns up to n keys after the last one read, starting over at the
// beginning when the end is reached. It returns none for an empty table.
func (k *keyCursor) next(ctx context.Context, n int) ([][]any, error) {
	out, err := k.page(ctx, n)
	if err != nil || len(out) == n {
		return out, err
	}
	k.last, k.wrapped = nil, true
	more, err := k.page(ctx, n-len(out))
	return append(out, more...), err
}

func (k *keyCursor) page(ctx context.Context, n int) ([][]any, error) {
	g := k.g
	names := make([]string, len(k.cols))
	var where []string
	for i, c := range k.cols {
		names[i] = g.quote(c.Name)
		where = append(where, names[i]+" IS NOT NULL")
	}
	var args []any
	if k.last != nil {
		ph := make([]string, len(k.last))
		for i := range k.last {
			ph[i] = liveschema.Placeholder(g.dia, i+1)
		}
		if len(names) == 1 {
			where = append(where, names[0]+" > "+ph[0])
		} else {
			where = append(where, "("+strings.Join(names, ", ")+") > ("+strings.Join(ph, ", ")+")")
		}
		args = k.last
	}
	q := fmt.Sprintf("SELECT %s FROM %s WHERE %s ORDER BY %s LIMIT %d", strings.Join(names, ", "), g.quote(k.table),
		strings.Join(where, " AND "), strings.Join(names, ", "), n)
	rs, err := g.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out [][]any
	for rs.Next() {
		vals := make([]any, len(k.cols))
		ptrs := make([]any, len(k.cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		out = append(out, vals)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	if len(out) > 0 {
		k.last = out[len(out)-1]
	}
	return out, nil
}

// insertBatch writes rows in one multi-row INSERT that skips rows whose
// unique keys are taken, and returns how many it wrote: the database, not
// a set in memory, keeps the keys unique.
func (g *gen) insertBatch(ctx context.Context, tf *tableFill, rows [][]any) (int64, error) {
	t, cols := tf.t, tf.cols
	if len(rows) == 0 {
		return 0, nil
	}
	if len(cols) == 0 {
		stmt := "INSERT INTO " + g.quote(t.Name) + " DEFAULT VALUES"
		if g.dia == dialect.MySQL {
			stmt = "INSERT INTO " + g.quote(t.Name) + " () VALUES ()"
		}
		for range rows {
			if _, err := g.tx.ExecContext(ctx, stmt); err != nil {
				return 0, tf.insertError(err)
			}
		}
		return int64(len(rows)), nil
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = g.quote(c.Name)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + g.quote(t.Name) + " (" + strings.Join(names, ", ") + ") VALUES ")
	args := make([]any, 0, len(rows)*len(cols))
	for i, row := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			args = append(args, row[j])
			b.WriteString(liveschema.Placeholder(g.dia, len(args)))
		}
		b.WriteByte(')')
	}
	if g.dia == dialect.MySQL {
		b.WriteString(" ON DUPLICATE KEY UPDATE " + names[0] + " = " + names[0])
	} else {
		b.WriteString(" ON CONFLICT DO NOTHING")
	}
	res, err := g.tx.ExecContext(ctx, b.String(), args...)
	if err != nil {
		return 0, tf.insertError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("filling table %s: %w", t.Name, err)
	}
	return n, nil
}

// fillDeferred fills a deferred (nullable) foreign key of t once all
// tables have rows: row j of the child (in key order) points to parent row
// j+1, so that a unique foreign key gets distinct values and a self
// reference never points to its own row when there are several. Children
// and parents are read a page at a time.
func (g *gen) fillDeferred(ctx context.Context, t *schema.Table, fk *schema.ForeignKey) error {
	if t.PrimaryKey == nil || len(t.PrimaryKey.Parts) == 0 {
		return nil // no way to address a row: leave the column NULL
	}
	var pk []*schema.Column
	for _, p := range t.PrimaryKey.Parts {
		if p.C == nil {
			return nil
		}
		pk = append(pk, p.C)
	}
	var total int64
	if err := g.tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+g.quote(fk.RefTable.Name)).Scan(&total); err != nil {
		return fmt.Errorf("filling table %s: counting the rows of %s: %w", t.Name, fk.RefTable.Name, err)
	}
	if total == 0 {
		return nil
	}
	var sets, where []string
	n := 0
	for _, c := range fk.Columns {
		n++
		sets = append(sets, g.quote(c.Name)+" = "+liveschema.Placeholder(g.dia, n))
	}
	for _, c := range pk {
		n++
		where = append(where, g.quote(c.Name)+" = "+liveschema.Placeholder(g.dia, n))
	}
	stmt := "UPDATE " + g.quote(t.Name) + " SET " + strings.Join(sets, ", ") + " WHERE " + strings.Join(where, " AND ")
	children, parents := g.cursor(t.Name, pk), g.cursor(fk.RefTable.Name, fk.RefColumns)
	if _, err := parents.next(ctx, 1); err != nil { // child j gets parent j+1
		return fmt.Errorf("filling table %s: reading the keys of %s: %w", t.Name, fk.RefTable.Name, err)
	}
	for j := int64(0); ; {
		page, err := children.page(ctx, 200)
		if err != nil {
			return fmt.Errorf("filling table %s: reading its keys: %w", t.Name, err)
		}
		if len(page) == 0 {
			return nil
		}
		ps, err := parents.next(ctx, len(page))
		if err != nil {
			return fmt.Errorf("filling table %s: reading the keys of %s: %w", t.Name, fk.RefTable.Name, err)
		}
		for i, child := range page {
			if j >= total {
				return nil // never reuse a parent
			}
			if j%4 != 3 && i < len(ps) { // leave some NULL
				args := append(append([]any{}, ps[i]...), child...)
				if _, err := g.tx.ExecContext(ctx, stmt, args...); err != nil {
					return fmt.Errorf("filling table %s: setting %s: %w", t.Name, colNames(fk.Columns), err)
				}
			}
			j++
		}
	}
}

// countRows returns the number of rows of a table.
func countRows(ctx context.Context, tx *sql.Tx, quoted string) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoted).Scan(&n)
	return n, err
}
