// Package sqlrecord records the SQL that ent's typed client would run,
// for one dialect, without a database: the driver it hands out runs
// nothing, it writes down every statement with its arguments written in as
// literals of that dialect. `weberctl db revision --data NAME --frozen`
// uses it to freeze a data migration written with the typed client into
// plain SQL files, one per dialect, that any binary can apply and a
// reviewer can read (ent's own recipe for data migrations, with literals
// each server reads back as the driver would have stored them).
//
// A recorded function may change rows (Create, Update().Where(...),
// Delete().Where(...)) but not read them: at revision time there are no
// rows to read, so a read is refused (ErrRead) rather than answered with
// nothing.
package sqlrecord

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// ErrRead is wrapped by Record's error when the recorded function reads
// rows.
var ErrRead = errors.New("a frozen data migration cannot read rows")

// Recording is what a recorded function would have run on one dialect.
type Recording struct {
	// Dialect is ent's dialect name: sqlite3, postgres or mysql.
	Dialect string
	// Statements are the statements in the order they ran, each complete
	// (its arguments written in as literals), without a final semicolon.
	Statements []string
	// Touches lists what the statements change, sorted and without
	// repeats: "table.column" for a column an UPDATE sets, "table.*" for
	// a table that gains or loses rows (INSERT, DELETE).
	Touches []string
	// Unread are the statements whose changes could not be read from
	// their text (not of the shape ent writes): their columns must be
	// declared by hand.
	Unread []string
}

// Func is a function recorded by Record: it makes its change through drv,
// e.g. with ent.NewClient(ent.Driver(drv)).
type Func func(ctx context.Context, drv dialect.Driver) error

// Record runs fn with a recording driver of ent's dialect d (sqlite3,
// postgres, mysql) and returns the statements it would have run.
func Record(ctx context.Context, d string, fn Func) (*Recording, error) {
	switch d {
	case dialect.SQLite, dialect.Postgres, dialect.MySQL:
	default:
		return nil, fmt.Errorf("recording SQL: unknown dialect %q (want %s, %s or %s)", d, dialect.SQLite, dialect.Postgres, dialect.MySQL)
	}
	drv := &driver{dialect: d}
	if err := fn(ctx, drv); err != nil {
		return nil, err
	}
	if drv.err != nil {
		// The function swallowed the refusal (a read's error ignored).
		return nil, drv.err
	}
	rec := &Recording{Dialect: d, Statements: []string{}, Touches: []string{}}
	for _, s := range drv.stmts {
		rec.Statements = append(rec.Statements, s.text)
		t, ok := touches(s.raw)
		if !ok {
			rec.Unread = append(rec.Unread, s.text)
		}
		rec.Touches = append(rec.Touches, t...)
	}
	slices.Sort(rec.Touches)
	rec.Touches = slices.Compact(rec.Touches)
	return rec, nil
}

// stmt is one recorded statement: raw as ent built it (placeholders, no
// literals) and text with its arguments written in.
type stmt struct{ raw, text string }

// driver is the recording dialect.Driver.
type driver struct {
	dialect string
	stmts   []stmt
	err     error // the first refusal, kept in case the caller drops it
}

// Dialect returns ent's dialect name.
func (d *driver) Dialect() string { return d.dialect }

// Close does nothing: there is no connection.
func (d *driver) Close() error { return nil }

// Tx returns a transaction that records into the driver: the statements
// of a transaction are recorded like any others (the file runs in one
// transaction anyway).
func (d *driver) Tx(context.Context) (dialect.Tx, error) { return dialect.NopTx(d), nil }

// BeginTx is Tx, for ent's client.BeginTx.
func (d *driver) BeginTx(ctx context.Context, _ *stdsql.TxOptions) (dialect.Tx, error) {
	return d.Tx(ctx)
}

// Exec records query with its arguments written in.
func (d *driver) Exec(_ context.Context, query string, args, res any) error {
	if err := d.record(query, args); err != nil {
		return err
	}
	if r, ok := res.(*stdsql.Result); ok {
		*r = noResult{}
	}
	return nil
}

// Query records an INSERT or UPDATE (ent asks PostgreSQL and SQLite for
// the new row's id with RETURNING: the clause is dropped, and the id reads
// as zero) and refuses anything else: a read.
func (d *driver) Query(_ context.Context, query string, args, res any) error {
	verb := firstWord(query)
	if verb != "INSERT" && verb != "UPDATE" {
		err := fmt.Errorf("%w (it ran %s): its SQL is recorded at revision time, where there are no rows to read; change rows with bulk statements (Create, Update().Where(...), Delete().Where(...), not UpdateOne, which reads the row back), or write a batched Go data migration (db revision --data NAME, without --frozen)", ErrRead, clip(query, 60))
		if d.err == nil {
			d.err = err
		}
		return err
	}
	query, cols := cutReturning(query)
	if err := d.record(query, args); err != nil {
		return err
	}
	if r, ok := res.(*entsql.Rows); ok {
		*r = entsql.Rows{ColumnScanner: &oneRow{cols: cols}}
	}
	return nil
}

// record writes query down with args written in as literals.
func (d *driver) record(query string, args any) error {
	list, ok := args.([]any)
	if args != nil && !ok {
		return fmt.Errorf("recording SQL: arguments of type %T, want []any", args)
	}
	text, err := expand(d.dialect, query, list)
	if err != nil {
		if d.err == nil {
			d.err = err
		}
		return err
	}
	d.stmts = append(d.stmts, stmt{raw: strings.TrimRight(strings.TrimSpace(query), ";"), text: strings.TrimRight(strings.TrimSpace(text), ";")})
	return nil
}

// firstWord is the statement's first word, upper-cased.
func firstWord(q string) string {
	f := strings.Fields(q)
	if len(f) == 0 {
		return ""
	}
	return strings.ToUpper(f[0])
}

// clip shortens s to n bytes for a message.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// noResult is the result of a recorded Exec: nothing affected, id zero.
type noResult struct{}

func (noResult) LastInsertId() (int64, error) { return 0, nil }
func (noResult) RowsAffected() (int64, error) { return 0, nil }

// oneRow answers a recorded RETURNING with one row whose columns scan as
// nothing (the values stay zero).
type oneRow struct {
	entsql.ColumnScanner
	cols []string
	done bool
}

func (*oneRow) Close() error { return nil }
func (*oneRow) Err() error   { return nil }
func (r *oneRow) Next() bool {
	if r.done {
		return false
	}
	r.done = true
	return true
}
func (r *oneRow) Columns() ([]string, error) { return r.cols, nil }
func (*oneRow) Scan(...any) error            { return nil }
