// Package datagen fills every table of a live database with generated rows
// that satisfy its schema, for `db verify` to rehearse an upgrade on a
// populated copy. It reads the schema with Atlas, so it needs no models:
// column types and lengths, NOT NULL, primary keys (auto-increment keys are
// left to the database), UNIQUE columns and unique composite indexes, enums,
// and foreign keys along every edge (parents are filled before children;
// self references and cycles through nullable columns are filled
// afterwards). The same seed gives the same rows.
//
// A project may ship its own seed data as a .sql file (Options.SeedFile),
// run before generation or, with Options.SeedOnly, instead of it.
package datagen

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/liveschema"
)

// DefaultRows is the number of rows generated per table when Options.Rows
// is zero.
const DefaultRows = 50

// Options configure Fill. The zero value generates DefaultRows rows per
// table with seed 0.
type Options struct {
	// Rows is the number of rows to generate per table (default
	// DefaultRows). Join tables and tables with unique foreign keys may get
	// fewer when their parents do not offer enough distinct combinations.
	Rows int
	// Seed makes the data deterministic: the same seed and schema give the
	// same rows.
	Seed int64
	// SeedFile is a .sql file of the project's own seed data, executed
	// statement by statement before generation.
	SeedFile string
	// SeedOnly runs SeedFile and generates nothing.
	SeedOnly bool
	// Enums gives the allowed values of string columns that hold enums
	// without the database knowing (ent writes enums as text on SQLite and
	// as varchar on PostgreSQL), keyed by "table.column". Real enum types
	// (MySQL enum(...), PostgreSQL enum types) are read from the schema.
	Enums map[string][]string
	// Exclude names more tables to leave empty.
	Exclude []string
	// Logger receives progress at debug level; nil discards.
	Logger *slog.Logger
}

// Report says what Fill wrote.
type Report struct {
	// Tables lists each table in the order it was filled.
	Tables []TableReport
	// SeedStatements is the number of statements run from Options.SeedFile.
	SeedStatements int
}

// TableReport is one table's share of the data.
type TableReport struct {
	Table string
	// Rows is the number of rows generated (seed data not included).
	Rows int64
	// Note explains why fewer rows than asked were generated, if so.
	Note string
}

// Rows returns the number of generated rows of the named table.
func (r *Report) Rows(table string) int64 {
	for _, t := range r.Tables {
		if t.Table == table {
			return t.Rows
		}
	}
	return 0
}

// Fill writes generated rows into every table of db (except Weber's own
// bookkeeping tables) in one transaction, and reports how many per table.
// dia is "sqlite", "postgres" or "mysql" (ent's names are accepted too).
func Fill(ctx context.Context, db *sql.DB, dia string, opts Options) (*Report, error) {
	d, err := liveschema.Dialect(dia)
	if err != nil {
		return nil, fmt.Errorf("filling the database: %w", err)
	}
	if opts.Rows == 0 {
		opts.Rows = DefaultRows
	}
	if opts.Rows < 0 {
		return nil, fmt.Errorf("filling the database: rows per table must be positive, not %d", opts.Rows)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	rep := &Report{}
	if opts.SeedFile != "" {
		n, err := runSeedFile(ctx, db, opts.SeedFile)
		if err != nil {
			return nil, err
		}
		rep.SeedStatements = n
		if opts.SeedOnly {
			return rep, nil
		}
	}
	s, err := liveschema.Inspect(ctx, db, d)
	if err != nil {
		return nil, fmt.Errorf("filling the database: %w", err)
	}
	tables := make([]*schema.Table, 0, len(s.Tables))
	for _, t := range s.Tables {
		if !contains(opts.Exclude, t.Name) {
			tables = append(tables, t)
		}
	}
	order, deferred, err := fillOrder(tables)
	if err != nil {
		return nil, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("filling the database: starting a transaction: %w", err)
	}
	defer tx.Rollback()
	g := &gen{dia: d, tx: tx, opts: opts, deferred: deferred}
	for _, t := range order {
		tr, err := g.fillTable(ctx, t)
		if err != nil {
			return nil, err
		}
		log.Debug("filled table", "table", t.Name, "rows", tr.Rows)
		rep.Tables = append(rep.Tables, tr)
	}
	for _, t := range order {
		for _, fk := range t.ForeignKeys {
			if deferred[fk] {
				if err := g.fillDeferred(ctx, t, fk); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("filling the database: committing the generated rows: %w", err)
	}
	return rep, nil
}

// runSeedFile executes the statements of a .sql file, split with Atlas's
// lexer, in one transaction.
func runSeedFile(ctx context.Context, db *sql.DB, path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading the seed file: %w: check Options.SeedFile / --seed-file", err)
	}
	stmts, err := migrate.NewLocalFile(filepath.Base(path), b).StmtDecls()
	if err != nil {
		return 0, fmt.Errorf("reading the seed file %s: %w", path, err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("running the seed file %s: %w", path, err)
	}
	defer tx.Rollback()
	for i, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.Text); err != nil {
			return 0, fmt.Errorf("running the seed file %s, statement %d (line %d): %w: fix the statement", path, i+1, lineOf(b, st.Pos), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("running the seed file %s: committing: %w", path, err)
	}
	return len(stmts), nil
}

func lineOf(b []byte, pos int) int {
	if pos > len(b) {
		pos = len(b)
	}
	return strings.Count(string(b[:pos]), "\n") + 1
}

// fillOrder sorts tables so that every table comes after the tables its
// foreign keys reference. Self references, and the edges that must be cut
// to break a cycle, are returned as deferred: their columns are written
// NULL first and filled in once every table has rows. Only nullable foreign
// keys can be deferred.
func fillOrder(tables []*schema.Table) ([]*schema.Table, map[*schema.ForeignKey]bool, error) {
	deferred := map[*schema.ForeignKey]bool{}
	byName := map[string]*schema.Table{}
	for _, t := range tables {
		byName[t.Name] = t
	}
	for _, t := range tables {
		for _, fk := range t.ForeignKeys {
			if fk.RefTable != nil && fk.RefTable.Name == t.Name {
				if !nullable(fk.Columns) {
					return nil, nil, fmt.Errorf("filling table %s: it references itself through NOT NULL column(s) %s: provide seed data (--seed-file)", t.Name, colNames(fk.Columns))
				}
				deferred[fk] = true
			}
		}
	}
	var order []*schema.Table
	done := map[string]bool{}
	remaining := append([]*schema.Table(nil), tables...)
	sort.Slice(remaining, func(i, j int) bool { return remaining[i].Name < remaining[j].Name })
	ready := func(t *schema.Table) bool {
		for _, fk := range t.ForeignKeys {
			if deferred[fk] || fk.RefTable == nil || byName[fk.RefTable.Name] == nil {
				continue
			}
			if !done[fk.RefTable.Name] {
				return false
			}
		}
		return true
	}
	for len(remaining) > 0 {
		progressed := false
		for i := 0; i < len(remaining); i++ {
			if t := remaining[i]; ready(t) {
				order = append(order, t)
				done[t.Name] = true
				remaining = append(remaining[:i], remaining[i+1:]...)
				i--
				progressed = true
			}
		}
		if progressed {
			continue
		}
		// A cycle: cut one nullable edge among the remaining tables.
		cut := false
		for _, t := range remaining {
			for _, fk := range t.ForeignKeys {
				if !deferred[fk] && fk.RefTable != nil && !done[fk.RefTable.Name] && nullable(fk.Columns) {
					deferred[fk] = true
					cut = true
					break
				}
			}
			if cut {
				break
			}
		}
		if !cut {
			names := make([]string, len(remaining))
			for i, t := range remaining {
				names[i] = t.Name
			}
			return nil, nil, fmt.Errorf("filling tables %s: their foreign keys form a cycle through NOT NULL columns only: provide seed data (--seed-file)", strings.Join(names, ", "))
		}
	}
	return order, deferred, nil
}

func nullable(cols []*schema.Column) bool {
	for _, c := range cols {
		if c.Type == nil || !c.Type.Null {
			return false
		}
	}
	return true
}

func colNames(cols []*schema.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// gen holds the state of one Fill.
type gen struct {
	dia      string
	tx       *sql.Tx
	opts     Options
	deferred map[*schema.ForeignKey]bool
}

// uniqueSet is one uniqueness constraint of a table (primary key or unique
// index) with the keys already taken.
type uniqueSet struct {
	cols []*schema.Column
	seen map[string]bool
}

func (g *gen) quote(name string) string { return liveschema.Quote(g.dia, name) }

// fillTable generates opts.Rows rows for t.
func (g *gen) fillTable(ctx context.Context, t *schema.Table) (TableReport, error) {
	tr := TableReport{Table: t.Name}
	rng := rand.New(rand.NewPCG(uint64(g.opts.Seed), hashName(t.Name)))

	// The columns written, and how each gets its value.
	var cols []*schema.Column
	fkOf := map[*schema.Column]*schema.ForeignKey{}
	for _, fk := range t.ForeignKeys {
		for _, c := range fk.Columns {
			fkOf[c] = fk
		}
	}
	for _, c := range t.Columns {
		if liveschema.Generated(c) || liveschema.AutoIncrement(t, c) {
			continue
		}
		if fk := fkOf[c]; fk != nil && g.deferred[fk] {
			continue // NULL for now, filled by fillDeferred
		}
		if !canGenerate(c) {
			if c.Type != nil && c.Type.Null || c.Default != nil {
				continue
			}
			return tr, fmt.Errorf("filling table %s: cannot generate values for column %s of type %s: provide seed data (--seed-file)", t.Name, c.Name, typeName(c))
		}
		cols = append(cols, c)
	}

	// Parent keys for every foreign key written.
	parents := map[*schema.ForeignKey][][]any{}
	for _, fk := range t.ForeignKeys {
		if g.deferred[fk] || fk.RefTable == nil {
			continue
		}
		keys, err := g.selectKeys(ctx, fk.RefTable.Name, fk.RefColumns)
		if err != nil {
			return tr, fmt.Errorf("filling table %s: reading the keys of %s: %w", t.Name, fk.RefTable.Name, err)
		}
		if len(keys) == 0 && !nullable(fk.Columns) {
			tr.Note = fmt.Sprintf("no rows: the referenced table %s is empty", fk.RefTable.Name)
			return tr, nil
		}
		parents[fk] = keys
	}

	// Uniqueness constraints, with the keys already in the table.
	var uniques []*uniqueSet
	addUnique := func(parts []*schema.IndexPart) error {
		u := &uniqueSet{seen: map[string]bool{}}
		for _, p := range parts {
			if p.C == nil {
				return nil // an expression index: cannot check it here
			}
			u.cols = append(u.cols, p.C)
		}
		keys, err := g.selectKeys(ctx, t.Name, u.cols)
		if err != nil {
			return fmt.Errorf("filling table %s: reading existing keys: %w", t.Name, err)
		}
		for _, k := range keys {
			u.seen[keyOf(k)] = true
		}
		uniques = append(uniques, u)
		return nil
	}
	if t.PrimaryKey != nil {
		if err := addUnique(t.PrimaryKey.Parts); err != nil {
			return tr, err
		}
	}
	for _, idx := range t.Indexes {
		if idx.Unique {
			if err := addUnique(idx.Parts); err != nil {
				return tr, err
			}
		}
	}
	uniqueCol := map[*schema.Column]bool{}
	for _, u := range uniques {
		for _, c := range u.cols {
			uniqueCol[c] = true
		}
	}
	var existing int64
	if err := g.tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+g.quote(t.Name)).Scan(&existing); err != nil {
		return tr, fmt.Errorf("filling table %s: counting rows: %w", t.Name, err)
	}

	var rows [][]any
	const maxTries = 40
	for i := 0; i < g.opts.Rows; i++ {
		var row []any
		ok := false
		for try := 0; try < maxTries && !ok; try++ {
			n := existing + int64(i) + int64(try)*int64(g.opts.Rows)*7
			vals := map[*schema.Column]any{}
			for fk, keys := range parents {
				if len(keys) == 0 || nullable(fk.Columns) && rng.IntN(10) == 0 {
					for _, c := range fk.Columns {
						vals[c] = nil
					}
					continue
				}
				k := keys[rng.IntN(len(keys))]
				for j, c := range fk.Columns {
					vals[c] = k[j]
				}
			}
			row = make([]any, len(cols))
			for j, c := range cols {
				if v, isFK := vals[c]; isFK {
					row[j] = v
					continue
				}
				v := g.value(rng, t, c, n, uniqueCol[c])
				vals[c] = v
				row[j] = v
			}
			ok = true
			for _, u := range uniques {
				if k, hasNull := uniqueKey(u.cols, vals); !hasNull && u.seen[k] {
					ok = false
					break
				}
			}
		}
		if !ok {
			tr.Note = fmt.Sprintf("%d rows instead of %d: no more distinct values for its unique keys", len(rows), g.opts.Rows)
			break
		}
		vals := map[*schema.Column]any{}
		for j, c := range cols {
			vals[c] = row[j]
		}
		for _, u := range uniques {
			if k, hasNull := uniqueKey(u.cols, vals); !hasNull {
				u.seen[k] = true
			}
		}
		rows = append(rows, row)
	}
	if err := g.insert(ctx, t, cols, rows); err != nil {
		return tr, err
	}
	tr.Rows = int64(len(rows))
	return tr, nil
}

// uniqueKey returns the key of a row for one uniqueness constraint; a
// NULL part makes the key never collide.
func uniqueKey(cols []*schema.Column, vals map[*schema.Column]any) (string, bool) {
	parts := make([]any, len(cols))
	for i, c := range cols {
		v, ok := vals[c]
		if !ok || v == nil {
			return "", true
		}
		parts[i] = v
	}
	return keyOf(parts), false
}

// keyOf turns a tuple into a comparable string, reading the values the
// database returns and the values generated alike.
func keyOf(vals []any) string {
	var b strings.Builder
	for _, v := range vals {
		switch x := v.(type) {
		case []byte:
			b.WriteString(strings.ToLower(string(x)))
		case string:
			b.WriteString(strings.ToLower(x))
		case time.Time:
			b.WriteString(x.UTC().Format(time.RFC3339Nano))
		case bool:
			if x {
				b.WriteString("1")
			} else {
				b.WriteString("0")
			}
		default:
			fmt.Fprint(&b, x)
		}
		b.WriteByte(0)
	}
	return b.String()
}

// selectKeys reads the non-NULL tuples of cols from table, in order.
func (g *gen) selectKeys(ctx context.Context, table string, cols []*schema.Column) ([][]any, error) {
	names := make([]string, len(cols))
	var notNull []string
	for i, c := range cols {
		names[i] = g.quote(c.Name)
		notNull = append(notNull, names[i]+" IS NOT NULL")
	}
	q := "SELECT " + strings.Join(names, ", ") + " FROM " + g.quote(table) +
		" WHERE " + strings.Join(notNull, " AND ") + " ORDER BY " + strings.Join(names, ", ")
	rs, err := g.tx.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out [][]any
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
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
	return out, rs.Err()
}

// insert writes rows in multi-row INSERT statements.
func (g *gen) insert(ctx context.Context, t *schema.Table, cols []*schema.Column, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if len(cols) == 0 {
		stmt := "INSERT INTO " + g.quote(t.Name) + " DEFAULT VALUES"
		if g.dia == dialect.MySQL {
			stmt = "INSERT INTO " + g.quote(t.Name) + " () VALUES ()"
		}
		for range rows {
			if _, err := g.tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("filling table %s: %w", t.Name, err)
			}
		}
		return nil
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = g.quote(c.Name)
	}
	head := "INSERT INTO " + g.quote(t.Name) + " (" + strings.Join(names, ", ") + ") VALUES "
	batch := max(1, min(200, 900/len(cols)))
	for start := 0; start < len(rows); start += batch {
		end := min(start+batch, len(rows))
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, (end-start)*len(cols))
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j := range cols {
				if j > 0 {
					b.WriteString(", ")
				}
				args = append(args, rows[i][j])
				b.WriteString(liveschema.Placeholder(g.dia, len(args)))
			}
			b.WriteByte(')')
		}
		if _, err := g.tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("filling table %s: inserting generated rows: %w: if the table has a constraint datagen cannot see (a CHECK), provide seed data (--seed-file)", t.Name, err)
		}
	}
	return nil
}

// fillDeferred fills a deferred (nullable) foreign key of t once all
// tables have rows: row j of the child points to parent row j+1, so that a
// unique foreign key gets distinct values and a self reference never
// points to its own row when there are several.
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
	children, err := g.selectKeys(ctx, t.Name, pk)
	if err != nil {
		return fmt.Errorf("filling table %s: reading its keys: %w", t.Name, err)
	}
	parents, err := g.selectKeys(ctx, fk.RefTable.Name, fk.RefColumns)
	if err != nil {
		return fmt.Errorf("filling table %s: reading the keys of %s: %w", t.Name, fk.RefTable.Name, err)
	}
	if len(parents) == 0 {
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
	for j, child := range children {
		if j >= len(parents) || j%4 == 3 {
			continue // leave some NULL, and never reuse a parent
		}
		args := append(append([]any{}, parents[(j+1)%len(parents)]...), child...)
		if _, err := g.tx.ExecContext(ctx, stmt, args...); err != nil {
			return fmt.Errorf("filling table %s: setting %s: %w", t.Name, colNames(fk.Columns), err)
		}
	}
	return nil
}

func hashName(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func typeName(c *schema.Column) string {
	if c.Type == nil {
		return "unknown"
	}
	if c.Type.Raw != "" {
		return c.Type.Raw
	}
	return fmt.Sprintf("%T", c.Type.Type)
}

// errUnsupported marks a type datagen cannot produce values for.
var errUnsupported = errors.New("unsupported column type")

func canGenerate(c *schema.Column) bool {
	if c.Type == nil || c.Type.Type == nil {
		return false
	}
	_, err := kindOf(c.Type.Type)
	return err == nil
}

type kind int

const (
	kInt kind = iota
	kFloat
	kDecimal
	kString
	kBool
	kTime
	kEnum
	kJSON
	kBinary
	kUUID
)

func kindOf(t schema.Type) (kind, error) {
	switch x := t.(type) {
	case *schema.IntegerType:
		return kInt, nil
	case *schema.FloatType:
		return kFloat, nil
	case *schema.DecimalType:
		return kDecimal, nil
	case *schema.StringType:
		return kString, nil
	case *schema.BoolType:
		return kBool, nil
	case *schema.TimeType:
		return kTime, nil
	case *schema.EnumType:
		if len(x.Values) == 0 {
			return 0, errUnsupported
		}
		return kEnum, nil
	case *schema.JSONType:
		return kJSON, nil
	case *schema.BinaryType:
		return kBinary, nil
	case *schema.UUIDType:
		return kUUID, nil
	}
	// Driver-specific types (e.g. PostgreSQL serial, or a type Atlas does
	// not model) by their name.
	name := strings.ToLower(fmt.Sprint(t))
	switch {
	case strings.Contains(name, "serial"), strings.Contains(name, "int"):
		return kInt, nil
	case strings.Contains(name, "uuid"):
		return kUUID, nil
	}
	return 0, errUnsupported
}

var words = []string{"amber", "basil", "cedar", "delta", "ember", "fjord", "gamma", "harbor", "iris", "juniper", "kelp", "lumen", "maple", "nectar", "onyx", "pebble", "quartz", "raven", "sierra", "tundra"}

var baseTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// value generates one value for column c of t. n is a number distinct for
// every row (and retry), used to make unique columns unique.
func (g *gen) value(rng *rand.Rand, t *schema.Table, c *schema.Column, n int64, unique bool) any {
	if c.Type.Null && !unique && rng.IntN(6) == 0 {
		return nil
	}
	k, _ := kindOf(c.Type.Type)
	switch k {
	case kInt:
		limit := intLimit(c.Type.Type)
		if unique {
			return (n + 1) % limit
		}
		return rng.Int64N(min(limit, 1000))
	case kFloat:
		return float64(rng.IntN(100000)) / 100
	case kDecimal:
		d := c.Type.Type.(*schema.DecimalType)
		intDigits := d.Precision - d.Scale
		if d.Precision == 0 {
			intDigits = 6
		}
		limit := int64(1)
		for i := 0; i < min(intDigits, 6); i++ {
			limit *= 10
		}
		ip := rng.Int64N(limit)
		if unique {
			ip = n % limit
		}
		if d.Scale <= 0 {
			return strconv.FormatInt(ip, 10)
		}
		frac := rng.Int64N(100)
		s := fmt.Sprintf("%d.%02d", ip, frac)
		if d.Scale == 1 {
			s = fmt.Sprintf("%d.%d", ip, frac%10)
		}
		return s
	case kBool:
		return rng.IntN(2) == 1
	case kTime:
		tt := c.Type.Type.(*schema.TimeType)
		ts := baseTime.Add(time.Duration(rng.Int64N(2*365*24*3600)) * time.Second)
		if unique {
			ts = baseTime.Add(time.Duration(n) * time.Minute)
		}
		switch strings.ToLower(tt.T) {
		case "date":
			if unique {
				ts = baseTime.AddDate(0, 0, int(n))
			}
			return ts.Truncate(24 * time.Hour)
		case "time", "time without time zone", "time with time zone", "timetz":
			return ts.Format("15:04:05")
		case "year":
			return 1970 + n%150
		}
		return ts
	case kEnum:
		vals := c.Type.Type.(*schema.EnumType).Values
		return vals[rng.IntN(len(vals))]
	case kJSON:
		return fmt.Sprintf(`{"n": %d, "word": %q}`, n, words[rng.IntN(len(words))])
	case kBinary:
		size := 16
		if b := c.Type.Type.(*schema.BinaryType); b.Size != nil && *b.Size > 0 {
			size = min(size, *b.Size)
		}
		out := make([]byte, size)
		for i := range out {
			out[i] = byte(rng.IntN(256))
		}
		if unique && size >= 8 {
			for i := 0; i < 8; i++ {
				out[i] = byte(n >> (8 * i))
			}
		}
		return out
	case kUUID:
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		if unique {
			for i := 0; i < 8; i++ {
				b[15-i] = byte(n >> (8 * i))
			}
		}
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	}
	// Strings.
	if vals := g.opts.Enums[t.Name+"."+c.Name]; len(vals) > 0 {
		return vals[rng.IntN(len(vals))]
	}
	size := c.Type.Type.(*schema.StringType).Size
	max := 200
	if size > 0 {
		max = min(max, size)
	}
	var s string
	switch name := strings.ToLower(c.Name); {
	case strings.Contains(name, "email"):
		s = fmt.Sprintf("%s%d@example.com", words[rng.IntN(len(words))], n)
	case unique:
		s = fmt.Sprintf("%d-%s", n, words[rng.IntN(len(words))])
	default:
		var b strings.Builder
		target := 1 + rng.IntN(max)
		for b.Len() < target {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rng.IntN(len(words))])
		}
		s = b.String()
	}
	if len(s) > max {
		s = s[:max]
	}
	return s
}

// intLimit is the exclusive upper bound used for an integer column's values.
func intLimit(t schema.Type) int64 {
	it, ok := t.(*schema.IntegerType)
	if !ok {
		return 1 << 31
	}
	switch strings.ToLower(it.T) {
	case "tinyint":
		return 127
	case "smallint", "int2":
		return 32767
	case "mediumint":
		return 8388607
	}
	return 1 << 31
}
