// Package fingerprint snapshots the data of a database and proves, by
// comparing two snapshots, that an upgrade kept it: no table lost rows, and
// every value of a column the migration files did not touch is unchanged.
// It also checks that every foreign key holds.
//
// Values are normalised before they are hashed, so that the same data reads
// the same across an ALTER: integers of any width, decimals with more or
// fewer trailing zeros, times in any zone or text form, booleans stored as
// 0/1 or true/false. Rows are keyed by their normalised primary key, never
// ordered by the database's collation, and column digests are order-free,
// so that a rebuilt table hashes the same.
//
// Memory does not grow with the data: rows are streamed, and each
// snapshot keeps them in a temporary file (removed by Snapshot.Close) that
// Compare joins with the other snapshot's to count and name the rows that
// differ.
package fingerprint

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/liveschema"
)

// Snapshot is the data of a database at one moment. Its counts and hashes
// are in memory; its rows are in a temporary file, so that a snapshot of
// any size takes the same memory. Close removes the file.
type Snapshot struct {
	// Dialect is ent's dialect name of the database.
	Dialect string
	// Tables holds each application table by name.
	Tables map[string]*Table
	store  *store
}

// Close removes the snapshot's rows from disk. Compare needs them: close
// a snapshot once no comparison is left to make with it.
func (s *Snapshot) Close() error {
	if s == nil {
		return nil
	}
	err := s.store.close()
	s.store = nil
	return err
}

// Table is one table's data.
type Table struct {
	Name string
	// Rows is the row count.
	Rows int64
	// PrimaryKey names the columns rows are keyed by; empty for a table
	// without one (only its column hashes are compared then).
	PrimaryKey []string
	// Columns holds each column by name; Order lists them as in the table.
	Columns map[string]*Column
	Order   []string
	snap    *Snapshot
	// stored names the table of the snapshot's file holding the rows.
	stored string
	// was is the table's old name in a view of renames (Renamed).
	was string
}

// Column is one column's data.
type Column struct {
	Name string
	// Class is the kind of values after normalisation: int, number,
	// string, bool, time, bytes.
	Class string
	// Hash is an order-free digest of every (key, value) pair: the sum of
	// their SHA-256 digests, so rows may be read in any order.
	Hash string
	// NonNull counts the rows whose value is not NULL.
	NonNull int64
	sum     digest
	// was and wasTable are the column's old name and its table's, in a
	// view of renames (Renamed).
	was, wasTable string
}

// digest is an order-free multiset hash: the sum, lane by lane, of the
// SHA-256 digests of its elements.
type digest [4]uint64

// add adds the element made of parts, hashing with h (reset first).
func (d *digest) add(h hash.Hash, parts ...string) {
	h.Reset()
	var n [8]byte
	for _, p := range parts {
		binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		io.WriteString(h, p)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	for i := range d {
		d[i] += binary.LittleEndian.Uint64(sum[8*i:])
	}
}

func (d *digest) String() string {
	var b [32]byte
	for i, v := range d {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return hex.EncodeToString(b[:])
}

// Take reads every row of every table of s (inspected from db when nil)
// and returns the snapshot. dia is "sqlite", "postgres" or "mysql". Rows
// are streamed: memory does not grow with the number of rows.
func Take(ctx context.Context, db *sql.DB, dia string, s *schema.Schema) (*Snapshot, error) {
	return TakeProgress(ctx, db, dia, s, nil)
}

// ProgressEvery is the number of rows between two calls of a progress
// function.
const ProgressEvery = 10000

// TakeProgress is Take that calls progress (when not nil) with the table
// being read and the rows read so far, every ProgressEvery rows.
func TakeProgress(ctx context.Context, db *sql.DB, dia string, s *schema.Schema, progress func(table string, rows int64)) (*Snapshot, error) {
	d, err := liveschema.Dialect(dia)
	if err != nil {
		return nil, fmt.Errorf("fingerprinting the data: %w", err)
	}
	if s == nil {
		if s, err = liveschema.Inspect(ctx, db, d); err != nil {
			return nil, fmt.Errorf("fingerprinting the data: %w", err)
		}
	}
	st, err := openStore()
	if err != nil {
		return nil, fmt.Errorf("fingerprinting the data: %w", err)
	}
	snap := &Snapshot{Dialect: d, Tables: map[string]*Table{}, store: st}
	for i, t := range s.Tables {
		tb, err := snap.takeTable(ctx, db, t, fmt.Sprintf("t%d", i), progress)
		if err != nil {
			snap.Close()
			return nil, fmt.Errorf("fingerprinting table %s: %w", t.Name, err)
		}
		snap.Tables[t.Name] = tb
	}
	return snap, nil
}

// newTable describes t and finds the positions of its primary key.
func newTable(d string, t *schema.Table) (*Table, []string, []string, []int) {
	tb := &Table{Name: t.Name, Columns: map[string]*Column{}}
	names := make([]string, len(t.Columns))
	classes := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = liveschema.Quote(d, c.Name)
		classes[i] = classOf(c)
		tb.Order = append(tb.Order, c.Name)
		tb.Columns[c.Name] = &Column{Name: c.Name, Class: classes[i]}
	}
	var pkIdx []int
	if t.PrimaryKey != nil {
		for _, p := range t.PrimaryKey.Parts {
			if p.C == nil {
				pkIdx = nil
				break
			}
			for i, c := range t.Columns {
				if c.Name == p.C.Name {
					pkIdx = append(pkIdx, i)
					tb.PrimaryKey = append(tb.PrimaryKey, c.Name)
				}
			}
		}
	}
	if len(pkIdx) == 0 {
		tb.PrimaryKey = nil
	}
	return tb, names, classes, pkIdx
}

// takeTable streams the rows of t: each updates the column digests and,
// for a table with a primary key, is written to the snapshot's file.
func (s *Snapshot) takeTable(ctx context.Context, db *sql.DB, t *schema.Table, stored string, progress func(string, int64)) (*Table, error) {
	tb, names, classes, pkIdx := newTable(s.Dialect, t)
	tb.snap = s
	var w *tableWriter
	if len(pkIdx) > 0 {
		var err error
		if w, err = s.store.newTable(ctx, stored); err != nil {
			return nil, err
		}
		defer w.abort()
		tb.stored = stored
	}
	rs, err := db.QueryContext(ctx, "SELECT "+strings.Join(names, ", ")+" FROM "+liveschema.Quote(s.Dialect, t.Name))
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	raw := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	row := &rowFolder{tb: tb, t: t, classes: classes, pkIdx: pkIdx, w: w,
		vals: make([]string, len(names)), parts: make([]string, len(pkIdx)), h: sha256.New()}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		tb.Rows++
		if progress != nil && tb.Rows%ProgressEvery == 0 {
			progress(t.Name, tb.Rows)
		}
		if err := row.fold(ctx, raw); err != nil {
			return nil, err
		}
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	for _, col := range tb.Columns {
		col.Hash = col.sum.String()
	}
	if w != nil {
		if err := w.finish(ctx); err != nil {
			return nil, err
		}
	}
	return tb, nil
}

// rowFolder folds the rows takeTable reads into the table's column
// digests and, for a table with a primary key, its stored file.
type rowFolder struct {
	tb      *Table
	t       *schema.Table
	classes []string
	pkIdx   []int
	w       *tableWriter
	vals    []string // the row's normalized values, reused
	parts   []string // the row's key parts, reused
	h       hash.Hash
}

// fold adds one scanned row.
func (r *rowFolder) fold(ctx context.Context, raw []any) error {
	for i, v := range raw {
		var null bool
		r.vals[i], null = Normalize(r.classes[i], v)
		if !null {
			r.tb.Columns[r.t.Columns[i].Name].NonNull++
		}
	}
	key := ""
	if r.w != nil {
		for j, i := range r.pkIdx {
			r.parts[j] = r.vals[i]
		}
		key = strings.Join(r.parts, ", ")
		if err := r.w.add(ctx, key, r.vals); err != nil {
			return fmt.Errorf("writing the snapshot: %w", err)
		}
	}
	for i, c := range r.t.Columns {
		col := r.tb.Columns[c.Name]
		if r.w != nil {
			col.sum.add(r.h, key, r.vals[i])
		} else {
			col.sum.add(r.h, r.vals[i])
		}
	}
	return nil
}

// keyLess orders keys numerically when both are integers.
func keyLess(a, b string) bool {
	ai, aerr := strconv.ParseInt(a, 10, 64)
	bi, berr := strconv.ParseInt(b, 10, 64)
	if aerr == nil && berr == nil {
		return ai < bi
	}
	return a < b
}

// classOf maps a column type to the normalisation class of its values.
func classOf(c *schema.Column) string {
	if c.Type == nil {
		return "string"
	}
	switch t := c.Type.Type.(type) {
	case *schema.IntegerType:
		return "int"
	case *schema.FloatType, *schema.DecimalType:
		return "number"
	case *schema.BoolType:
		return "bool"
	case *schema.TimeType:
		switch strings.ToLower(t.T) {
		case "time", "time without time zone", "time with time zone", "timetz", "year":
			return "string"
		}
		return "time"
	case *schema.BinaryType:
		return "bytes"
	}
	name := strings.ToLower(fmt.Sprint(c.Type.Type))
	if strings.Contains(name, "serial") {
		return "int"
	}
	return "string"
}

// Normalize returns the canonical text of a scanned value of the class,
// and whether it is NULL.
func Normalize(class string, v any) (string, bool) {
	if v == nil {
		return "\x00NULL", true
	}
	var s string
	switch x := v.(type) {
	case []byte:
		if class == "bytes" {
			return hex.EncodeToString(x), false
		}
		s = string(x)
	case string:
		s = x
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), false
	case bool:
		if x {
			return "true", false
		}
		return "false", false
	case int64:
		if class == "bool" {
			return strconv.FormatBool(x != 0), false
		}
		return strconv.FormatInt(x, 10), false
	case float64:
		if class == "bool" {
			return strconv.FormatBool(x != 0), false
		}
		return canonicalNumber(strconv.FormatFloat(x, 'f', -1, 64)), false
	default:
		s = fmt.Sprint(x)
	}
	switch class {
	case "int", "number":
		return canonicalNumber(s), false
	case "bool":
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "1", "t", "true", "y", "yes", "on":
			return "true", false
		case "0", "f", "false", "n", "no", "off":
			return "false", false
		}
	case "time":
		if t, ok := parseTime(s); ok {
			return t.UTC().Format(time.RFC3339Nano), false
		}
	case "bytes":
		return hex.EncodeToString([]byte(s)), false
	}
	return s, false
}

// canonicalNumber writes a decimal number without trailing zeros: "1.50",
// "1.5" and "1.500" all read "1.5"; "7.0" reads "7".
func canonicalNumber(s string) string {
	s = strings.TrimSpace(s)
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return s
	}
	if r.IsInt() {
		return r.Num().String()
	}
	out := r.FloatString(30)
	out = strings.TrimRight(out, "0")
	return strings.TrimSuffix(out, ".")
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999 -0700 MST",
	"2006-01-02 15:04:05.999999999 -0700",
	"2006-01-02",
}

func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, " m=+"); i > 0 { // time.Time.String's monotonic part
		s = s[:i]
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// Kind names what a Finding is about.
type Kind string

// The kinds of findings.
const (
	// RowsLost: a table has fewer rows than before.
	RowsLost Kind = "rows-lost"
	// RowsAdded: a table has more rows than before (informational).
	RowsAdded Kind = "rows-added"
	// ValueChanged: values of a column no migration touched changed.
	ValueChanged Kind = "value-changed"
	// ColumnDropped: a column is gone.
	ColumnDropped Kind = "column-dropped"
	// ColumnRenamed: a column is gone and a new one holds exactly its values.
	ColumnRenamed Kind = "column-renamed"
	// TableDropped: a table is gone.
	TableDropped Kind = "table-dropped"
	// TableRenamed: a table is gone and a new one holds exactly its data.
	TableRenamed Kind = "table-renamed"
	// ForeignKeyBroken: rows reference a parent row that does not exist.
	ForeignKeyBroken Kind = "foreign-key-broken"
)

// Severity says whether a finding fails the check.
type Severity string

// The severities.
const (
	// Error fails the check: data was lost or changed.
	Error Severity = "error"
	// Info is worth saying but proves nothing wrong.
	Info Severity = "info"
)

// Finding is one difference between two snapshots, or one broken foreign
// key. Message is a full sentence naming table, column and counts.
type Finding struct {
	Kind     Kind
	Severity Severity
	Table    string
	Column   string
	// Before and After are row counts (RowsLost, RowsAdded, TableDropped)
	// or non-NULL counts (ColumnDropped).
	Before int64
	After  int64
	// Count is the number of rows concerned: rows lost, values changed,
	// rows breaking a foreign key.
	Count int64
	// Example names the first affected row, e.g. `id=3: "Ada" -> "x"`.
	Example string
	// NewName is the new name of a renamed table or column.
	NewName string
	Message string
}

func (f Finding) String() string { return f.Message }

// Touched says which columns the migration files changed, by table: a
// column listed there is not compared for value equality. The column name
// "*" stands for every column of the table.
type Touched map[string]map[string]bool

// Add marks table.column as touched ("*" for the whole table).
func (t Touched) Add(table, column string) {
	if t[table] == nil {
		t[table] = map[string]bool{}
	}
	t[table][column] = true
}

// Has reports whether the files touched table.column.
func (t Touched) Has(table, column string) bool {
	return t[table]["*"] || t[table][column]
}

// Failed reports whether any finding is an error.
func Failed(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

// Compare proves that after kept the data of before: no table lost rows,
// and every column the files did not touch holds the same values in the
// rows both snapshots share. Dropped and renamed tables and columns are
// reported distinctly: a dropped table or column that held data is an
// error, a rename that kept every value is not. Both snapshots must still
// be open; rows are read from their files, never held in memory.
func Compare(ctx context.Context, before, after *Snapshot, touched Touched) ([]Finding, error) {
	var out []Finding
	var gone, added []string
	for name := range before.Tables {
		if after.Tables[name] == nil {
			gone = append(gone, name)
		}
	}
	for name := range after.Tables {
		if before.Tables[name] == nil {
			added = append(added, name)
		}
	}
	sort.Strings(gone)
	sort.Strings(added)
	usedNew := map[string]bool{}
	for _, name := range gone {
		b := before.Tables[name]
		if nn := renamedTable(b, after, added, usedNew); nn != "" {
			usedNew[nn] = true
			out = append(out, Finding{Kind: TableRenamed, Severity: Info, Table: name, NewName: nn, Before: b.Rows, After: after.Tables[nn].Rows,
				Message: fmt.Sprintf("table %s was renamed to %s with all %d rows", name, nn, b.Rows)})
			continue
		}
		f := Finding{Kind: TableDropped, Severity: Info, Table: name, Before: b.Rows, Count: b.Rows,
			Message: fmt.Sprintf("table %s was dropped; it was empty", name)}
		if b.Rows > 0 {
			f.Severity = Error
			f.Message = fmt.Sprintf("table %s was dropped with its %s rows", name, count(b.Rows))
		}
		out = append(out, f)
	}
	names := make([]string, 0, len(before.Tables))
	for name := range before.Tables {
		if after.Tables[name] != nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		fs, err := compareTable(ctx, before.Tables[name], after.Tables[name], touched)
		if err != nil {
			return nil, fmt.Errorf("comparing table %s: %w", name, err)
		}
		out = append(out, fs...)
		out = append(out, renameFindings(before.Tables[name], after.Tables[name], fs)...)
	}
	return out, nil
}

func renamedTable(b *Table, after *Snapshot, added []string, used map[string]bool) string {
	if b.Rows == 0 {
		return ""
	}
	for _, nn := range added {
		a := after.Tables[nn]
		if used[nn] || a.Rows != b.Rows {
			continue
		}
		same := true
		for cn, bc := range b.Columns {
			if ac := a.Columns[cn]; ac == nil || ac.Hash != bc.Hash {
				same = false
				break
			}
		}
		if same {
			return nn
		}
	}
	return ""
}

func compareTable(ctx context.Context, b, a *Table, touched Touched) ([]Finding, error) {
	var out []Finding
	switch {
	case a.Rows < b.Rows:
		lost := b.Rows - a.Rows
		f := Finding{Kind: RowsLost, Severity: Error, Table: b.Name, Before: b.Rows, After: a.Rows, Count: lost,
			Message: fmt.Sprintf("table %s lost %s of its %s rows (%s before, %s after)", b.Name, count(lost), count(b.Rows), count(b.Rows), count(a.Rows))}
		ex, err := missingKey(ctx, b, a)
		if err != nil {
			return nil, err
		}
		if ex != "" {
			f.Example = ex
			f.Message += "; the first missing row is " + ex
		}
		out = append(out, f)
	case a.Rows > b.Rows:
		out = append(out, Finding{Kind: RowsAdded, Severity: Info, Table: b.Name, Before: b.Rows, After: a.Rows, Count: a.Rows - b.Rows,
			Message: fmt.Sprintf("table %s gained %s rows (%s before, %s after)", b.Name, count(a.Rows-b.Rows), count(b.Rows), count(a.Rows))})
	}
	out = append(out, droppedColumns(b, a)...)
	if len(b.PrimaryKey) == 0 || strings.Join(b.PrimaryKey, ",") != strings.Join(a.PrimaryKey, ",") || b.stored == "" || a.stored == "" {
		// No stable row identity: compare whole columns (order-free hashes).
		for _, cn := range b.Order {
			ac := a.Columns[cn]
			if ac == nil || touched.Has(b.Name, cn) || a.Rows != b.Rows || ac.Hash == b.Columns[cn].Hash {
				continue
			}
			out = append(out, Finding{Kind: ValueChanged, Severity: Error, Table: b.Name, Column: cn, Before: b.Rows, After: a.Rows,
				Message: fmt.Sprintf("values of %s.%s changed although no migration file touches the column (the table has no primary key to say which rows)", b.Name, cn)})
		}
		return out, nil
	}
	fs, err := changedValues(ctx, b, a, touched)
	if err != nil {
		return nil, err
	}
	return append(out, fs...), nil
}

// droppedColumns reports the columns of b that a lacks: renamed when a new
// column holds exactly its values, dropped otherwise.
func droppedColumns(b, a *Table) []Finding {
	var out []Finding
	var goneCols, newCols []string
	for _, cn := range b.Order {
		if a.Columns[cn] == nil {
			goneCols = append(goneCols, cn)
		}
	}
	for _, cn := range a.Order {
		if b.Columns[cn] == nil {
			newCols = append(newCols, cn)
		}
	}
	used := map[string]bool{}
	for _, cn := range goneCols {
		bc := b.Columns[cn]
		renamed := ""
		for _, nn := range newCols {
			if !used[nn] && a.Columns[nn].Hash == bc.Hash && bc.NonNull > 0 {
				renamed = nn
				break
			}
		}
		if renamed != "" {
			used[renamed] = true
			out = append(out, Finding{Kind: ColumnRenamed, Severity: Info, Table: b.Name, Column: cn, NewName: renamed, Before: bc.NonNull, After: a.Columns[renamed].NonNull,
				Message: fmt.Sprintf("column %s.%s was renamed to %s with every value kept", b.Name, cn, renamed)})
			continue
		}
		f := Finding{Kind: ColumnDropped, Severity: Info, Table: b.Name, Column: cn, Before: bc.NonNull, Count: bc.NonNull,
			Message: fmt.Sprintf("column %s.%s was dropped; it held no values", b.Name, cn)}
		if bc.NonNull > 0 {
			f.Severity = Error
			f.Message = fmt.Sprintf("column %s.%s was dropped with values in %s of %s rows", b.Name, cn, count(bc.NonNull), count(b.Rows))
		}
		out = append(out, f)
	}
	return out
}

// changedValues counts, for every untouched column whose digest differs,
// the rows both snapshots share whose value changed, and names the first.
func changedValues(ctx context.Context, b, a *Table, touched Touched) ([]Finding, error) {
	type diff struct {
		bi, ai   int
		changed  int64
		firstKey string
		example  string
	}
	var diffs []*diff
	for bi, cn := range b.Order {
		bc, ac := b.Columns[cn], a.Columns[cn]
		if ac == nil || touched.Has(b.Name, cn) || (ac.Hash == bc.Hash && a.Rows == b.Rows) {
			continue
		}
		diffs = append(diffs, &diff{bi: bi, ai: slices.Index(a.Order, cn)})
	}
	if len(diffs) == 0 {
		return nil, nil
	}
	err := pairs(ctx, b, a, func(key string, bv, av []string) error {
		for _, d := range diffs {
			if d.bi >= len(bv) || d.ai >= len(av) || bv[d.bi] == av[d.ai] {
				continue
			}
			d.changed++
			if d.firstKey == "" || keyLess(key, d.firstKey) {
				d.firstKey = key
				d.example = fmt.Sprintf("%s=%s: %s -> %s", strings.Join(b.PrimaryKey, ","), key, show(bv[d.bi]), show(av[d.ai]))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, d := range diffs {
		if d.changed == 0 {
			continue
		}
		cn := b.Order[d.bi]
		out = append(out, Finding{Kind: ValueChanged, Severity: Error, Table: b.Name, Column: cn, Before: b.Rows, After: a.Rows, Count: d.changed, Example: d.example,
			Message: fmt.Sprintf("%s of %s values of %s changed although no migration file touches the column (first: %s)", count(d.changed), count(b.Rows), b.label(cn), d.example)})
	}
	return out, nil
}

func missingKey(ctx context.Context, b, a *Table) (string, error) {
	if len(b.PrimaryKey) == 0 || b.stored == "" || a.stored == "" || strings.Join(b.PrimaryKey, ",") != strings.Join(a.PrimaryKey, ",") {
		return "", nil
	}
	k, err := firstMissing(ctx, b, a)
	if err != nil || k == "" {
		return "", err
	}
	return strings.Join(b.PrimaryKey, ",") + "=" + k, nil
}

func show(v string) string {
	if v == "\x00NULL" {
		return "NULL"
	}
	if r := []rune(v); len(r) > 40 {
		v = string(r[:20]) + "..." + string(r[len(r)-17:])
	}
	return strconv.Quote(v)
}

// count writes n with thousands separators: 1204 -> "1,204".
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// CheckForeignKeys returns one ForeignKeyBroken finding per foreign key
// that some rows break: a non-NULL reference to a parent row that does not
// exist. SQLite asks PRAGMA foreign_key_check; PostgreSQL and MySQL count
// orphans of each inspected foreign key.
func CheckForeignKeys(ctx context.Context, db *sql.DB, dia string) ([]Finding, error) {
	d, err := liveschema.Dialect(dia)
	if err != nil {
		return nil, fmt.Errorf("checking foreign keys: %w", err)
	}
	s, err := liveschema.Inspect(ctx, db, d)
	if err != nil {
		return nil, fmt.Errorf("checking foreign keys: %w", err)
	}
	if d == dialect.SQLite {
		return sqliteForeignKeys(ctx, db, s)
	}
	var out []Finding
	for _, t := range s.Tables {
		for _, fk := range t.ForeignKeys {
			if fk.RefTable == nil || len(fk.Columns) == 0 || len(fk.Columns) != len(fk.RefColumns) {
				continue
			}
			var notNull, match []string
			for i, c := range fk.Columns {
				cc := "c." + liveschema.Quote(d, c.Name)
				notNull = append(notNull, cc+" IS NOT NULL")
				match = append(match, "p."+liveschema.Quote(d, fk.RefColumns[i].Name)+" = "+cc)
			}
			q := "SELECT COUNT(*) FROM " + liveschema.Quote(d, t.Name) + " c WHERE " + strings.Join(notNull, " AND ") +
				" AND NOT EXISTS (SELECT 1 FROM " + liveschema.Quote(d, fk.RefTable.Name) + " p WHERE " + strings.Join(match, " AND ") + ")"
			var n int64
			if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
				return nil, fmt.Errorf("checking foreign key %s of table %s: %w", fk.Symbol, t.Name, err)
			}
			if n > 0 {
				out = append(out, fkFinding(t.Name, colList(fk.Columns), fk.RefTable.Name, n))
			}
		}
	}
	return out, nil
}

func colList(cols []*schema.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return strings.Join(names, ",")
}

func fkFinding(table, cols, parent string, n int64) Finding {
	return Finding{Kind: ForeignKeyBroken, Severity: Error, Table: table, Column: cols, Count: n,
		Message: fmt.Sprintf("%s rows of %s.%s point to no row of %s", count(n), table, cols, parent)}
}

func sqliteForeignKeys(ctx context.Context, db *sql.DB, s *schema.Schema) ([]Finding, error) {
	rs, err := db.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return nil, fmt.Errorf("checking foreign keys: %w", err)
	}
	type key struct {
		table, parent string
		fkid          int64
	}
	counts := map[key]int64{}
	var order []key
	for rs.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int64
		if err := rs.Scan(&table, &rowid, &parent, &fkid); err != nil {
			rs.Close()
			return nil, fmt.Errorf("checking foreign keys: %w", err)
		}
		k := key{table, parent, fkid}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("checking foreign keys: %w", err)
	}
	var out []Finding
	for _, k := range order {
		if liveschema.Table(s, k.table) == nil {
			continue // one of Weber's own tables
		}
		cols, err := sqliteFKColumns(ctx, db, k.table, k.fkid)
		if err != nil {
			return nil, err
		}
		out = append(out, fkFinding(k.table, cols, k.parent, counts[k]))
	}
	return out, nil
}

func sqliteFKColumns(ctx context.Context, db *sql.DB, table string, id int64) (string, error) {
	rs, err := db.QueryContext(ctx, "SELECT \"from\" FROM pragma_foreign_key_list(?) WHERE id = ? ORDER BY seq", table, id)
	if err != nil {
		return "", fmt.Errorf("checking foreign keys of %s: %w", table, err)
	}
	defer rs.Close()
	var cols []string
	for rs.Next() {
		var c string
		if err := rs.Scan(&c); err != nil {
			return "", err
		}
		cols = append(cols, c)
	}
	return strings.Join(cols, ","), rs.Err()
}
