// Package datagen fills every table of a live database with generated rows
// that satisfy its schema, for `db verify` to rehearse an upgrade on a
// populated copy. It reads the schema with Atlas, so it needs no models:
// column types and lengths, NOT NULL, primary keys (auto-increment keys are
// left to the database), UNIQUE columns and unique composite indexes, enums,
// foreign keys along every edge (parents are filled before children; self
// references and cycles through nullable columns are filled afterwards),
// and CHECK constraints of the common shapes (length bounds, numeric
// ranges, IN lists, not empty, IS NOT NULL; a check of another form that
// the rows break is named in the error). The same seed gives the same rows.
//
// Memory does not grow with the rows: they are generated and inserted in
// batches, the database keeps unique keys unique (rows that collide are
// skipped by the INSERT, not remembered in a set), and parent keys are
// read a page at a time.
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
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"

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
	// Progress, when set, is called after each batch of rows with the
	// table being filled, the rows written to it so far and the rows asked.
	Progress func(table string, done, want int64)
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
	if rep.Tables, err = fillInOrder(ctx, db, d, opts, order, deferred); err != nil {
		return nil, err
	}
	return rep, nil
}

// fillInOrder fills the tables in order in one transaction, then the
// deferred foreign keys, and commits.
func fillInOrder(ctx context.Context, db *sql.DB, d string, opts Options, order []*schema.Table, deferred map[*schema.ForeignKey]bool) ([]TableReport, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("filling the database: starting a transaction: %w", err)
	}
	defer tx.Rollback()
	g := &gen{dia: d, tx: tx, opts: opts, deferred: deferred, progress: opts.Progress}
	var reports []TableReport
	for _, t := range order {
		tr, err := g.fillTable(ctx, t)
		if err != nil {
			return nil, err
		}
		log.Debug("filled table", "table", t.Name, "rows", tr.Rows)
		reports = append(reports, tr)
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
	return reports, nil
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
	deferred, err := selfReferences(tables)
	if err != nil {
		return nil, nil, err
	}
	byName := map[string]*schema.Table{}
	for _, t := range tables {
		byName[t.Name] = t
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
		if err := cutCycle(remaining, deferred, done); err != nil {
			return nil, nil, err
		}
	}
	return order, deferred, nil
}

// selfReferences returns the foreign keys by which a table references
// itself, all deferred; one through NOT NULL columns is an error.
func selfReferences(tables []*schema.Table) (map[*schema.ForeignKey]bool, error) {
	deferred := map[*schema.ForeignKey]bool{}
	for _, t := range tables {
		for _, fk := range t.ForeignKeys {
			if fk.RefTable != nil && fk.RefTable.Name == t.Name {
				if !nullable(fk.Columns) {
					return nil, fmt.Errorf("filling table %s: it references itself through NOT NULL column(s) %s: provide seed data (--seed-file)", t.Name, colNames(fk.Columns))
				}
				deferred[fk] = true
			}
		}
	}
	return deferred, nil
}

// cutCycle breaks a cycle among the remaining tables by deferring one
// nullable foreign key to a table not yet done; with none, the cycle runs
// through NOT NULL columns only and it is an error.
func cutCycle(remaining []*schema.Table, deferred map[*schema.ForeignKey]bool, done map[string]bool) error {
	for _, t := range remaining {
		for _, fk := range t.ForeignKeys {
			if !deferred[fk] && fk.RefTable != nil && !done[fk.RefTable.Name] && nullable(fk.Columns) {
				deferred[fk] = true
				return nil
			}
		}
	}
	names := make([]string, len(remaining))
	for i, t := range remaining {
		names[i] = t.Name
	}
	return fmt.Errorf("filling tables %s: their foreign keys form a cycle through NOT NULL columns only: provide seed data (--seed-file)", strings.Join(names, ", "))
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
	// progress, when set, is told the rows written so far after each batch.
	progress func(table string, done, want int64)
}

func (g *gen) quote(name string) string { return liveschema.Quote(g.dia, name) }

// maxTries bounds the rows generated for a table, as a multiple of the rows
// asked, when its unique keys keep colliding.
const maxTries = 40

// tableFill is the state of filling one table.
type tableFill struct {
	t    *schema.Table
	cols []*schema.Column
	// parents holds a key cursor per foreign key written; sequential ones
	// take distinct parents in order (a unique foreign key), the others
	// pick at random in the current page.
	parents    map[*schema.ForeignKey]*keyCursor
	sequential map[*schema.ForeignKey]bool
	uniqueCol  map[*schema.Column]bool
	rules      map[*schema.Column]*rule
	unknown    []unsatisfiedCheck
}

// fillTable generates opts.Rows rows for t, a batch at a time: memory holds
// one batch, whatever the number of rows.
func (g *gen) fillTable(ctx context.Context, t *schema.Table) (TableReport, error) {
	tr := TableReport{Table: t.Name}
	rng := rand.New(rand.NewPCG(uint64(g.opts.Seed), hashName(t.Name)))
	tf, err := g.prepare(t)
	if err != nil {
		return tr, err
	}
	for fk, cur := range tf.parents {
		first, err := cur.page(ctx, 1)
		if err != nil {
			return tr, fmt.Errorf("filling table %s: reading the keys of %s: %w", t.Name, fk.RefTable.Name, err)
		}
		cur.last = nil
		if len(first) == 0 {
			if !nullable(fk.Columns) {
				tr.Note = fmt.Sprintf("no rows: the referenced table %s is empty", fk.RefTable.Name)
				return tr, nil
			}
			delete(tf.parents, fk)
		}
	}
	existing, err := countRows(ctx, g.tx, g.quote(t.Name))
	if err != nil {
		return tr, fmt.Errorf("filling table %s: counting rows: %w", t.Name, err)
	}
	batch := max(1, min(200, 900/max(1, len(tf.cols))))
	want := int64(g.opts.Rows)
	n, idle := existing, 0
	for tr.Rows < want && n-existing < want*maxTries && idle < 3 {
		size := int(min(int64(batch), want-tr.Rows))
		rows, err := g.batch(ctx, rng, tf, size, &n)
		if err != nil {
			return tr, err
		}
		wrote, err := g.insertBatch(ctx, tf, rows)
		if err != nil {
			return tr, err
		}
		tr.Rows += wrote
		if wrote == 0 {
			idle++
		} else {
			idle = 0
		}
		if g.progress != nil {
			g.progress(t.Name, tr.Rows, want)
		}
	}
	if tr.Rows < want {
		tr.Note = fmt.Sprintf("%d rows instead of %d: no more distinct values for its unique keys", tr.Rows, want)
	}
	return tr, nil
}

// prepare decides which columns of t are written and how.
func (g *gen) prepare(t *schema.Table) (*tableFill, error) {
	tf := &tableFill{t: t, parents: map[*schema.ForeignKey]*keyCursor{}, sequential: map[*schema.ForeignKey]bool{}, uniqueCol: map[*schema.Column]bool{}}
	tf.rules, tf.unknown = rulesOf(t)
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
			return nil, fmt.Errorf("filling table %s: cannot generate values for column %s of type %s: provide seed data (--seed-file)", t.Name, c.Name, typeName(c))
		}
		tf.cols = append(tf.cols, c)
	}
	var uniques [][]*schema.Column
	if t.PrimaryKey != nil {
		uniques = append(uniques, partColumns(t.PrimaryKey.Parts))
	}
	for _, idx := range t.Indexes {
		if idx.Unique {
			uniques = append(uniques, partColumns(idx.Parts))
		}
	}
	for _, u := range uniques {
		for _, c := range u {
			tf.uniqueCol[c] = true
		}
	}
	for _, fk := range t.ForeignKeys {
		if g.deferred[fk] || fk.RefTable == nil {
			continue
		}
		tf.parents[fk] = g.cursor(fk.RefTable.Name, fk.RefColumns)
		for _, u := range uniques {
			if len(u) > 0 && subset(u, fk.Columns) {
				tf.sequential[fk] = true
			}
		}
	}
	return tf, nil
}

func partColumns(parts []*schema.IndexPart) []*schema.Column {
	var out []*schema.Column
	for _, p := range parts {
		if p.C == nil {
			return nil // an expression index: not known here
		}
		out = append(out, p.C)
	}
	return out
}

// subset reports whether every column of a is in b.
func subset(a, b []*schema.Column) bool {
	for _, c := range a {
		if !slices.Contains(b, c) {
			return false
		}
	}
	return true
}

// batch generates size rows; *n numbers every generated row, so that
// unique columns get values never generated before.
func (g *gen) batch(ctx context.Context, rng *rand.Rand, tf *tableFill, size int, n *int64) ([][]any, error) {
	pages := map[*schema.ForeignKey][][]any{}
	for fk, cur := range tf.parents {
		keys, err := cur.next(ctx, size)
		if err != nil {
			return nil, fmt.Errorf("filling table %s: reading the keys of %s: %w", tf.t.Name, fk.RefTable.Name, err)
		}
		pages[fk] = keys
	}
	rows := make([][]any, size)
	for i := range rows {
		vals := map[*schema.Column]any{}
		for _, fk := range tf.t.ForeignKeys {
			if !g.deferred[fk] && fk.RefTable != nil {
				for _, c := range fk.Columns {
					vals[c] = nil // NULL unless a parent is picked below
				}
			}
		}
		for fk, keys := range pages {
			if len(keys) == 0 || nullable(fk.Columns) && !tf.sequential[fk] && rng.IntN(10) == 0 {
				continue
			}
			k := keys[rng.IntN(len(keys))]
			if tf.sequential[fk] {
				k = keys[i%len(keys)]
			}
			for j, c := range fk.Columns {
				vals[c] = k[j]
			}
		}
		row := make([]any, len(tf.cols))
		for j, c := range tf.cols {
			if v, isFK := vals[c]; isFK {
				row[j] = v
				continue
			}
			row[j] = g.value(rng, tf.t, c, *n, tf.uniqueCol[c], tf.rules[c])
		}
		rows[i] = row
		*n++
	}
	return rows, nil
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

// value generates one value for column c of t that satisfies r (the
// column's CHECK constraints; nil for none). n is a number distinct for
// every row, used to make unique columns unique.
func (g *gen) value(rng *rand.Rand, t *schema.Table, c *schema.Column, n int64, unique bool, r *rule) any {
	if c.Type.Null && !unique && (r == nil || !r.notNull) && rng.IntN(6) == 0 {
		return nil
	}
	k, _ := kindOf(c.Type.Type)
	if r != nil && len(r.in) > 0 {
		v := r.in[rng.IntN(len(r.in))]
		if k == kInt {
			if i, err := strconv.ParseInt(v, 10, 64); err == nil {
				return i
			}
		}
		return v
	}
	switch k {
	case kInt:
		lo, hi := r.intRange(intLimit(c.Type.Type))
		if unique {
			return lo + (n+1)%(hi-lo+1)
		}
		return lo + rng.Int64N(min(hi-lo+1, 1000))
	case kFloat:
		return r.floatIn(float64(rng.IntN(100000)) / 100)
	case kDecimal:
		return decimalValue(rng, c.Type.Type.(*schema.DecimalType), n, unique, r)
	case kBool:
		return rng.IntN(2) == 1
	case kTime:
		return timeValue(rng, c.Type.Type.(*schema.TimeType), n, unique)
	case kEnum:
		vals := c.Type.Type.(*schema.EnumType).Values
		return vals[rng.IntN(len(vals))]
	case kJSON:
		return fmt.Sprintf(`{"n": %d, "word": %q}`, n, words[rng.IntN(len(words))])
	case kBinary:
		return binaryValue(rng, c.Type.Type.(*schema.BinaryType), n, unique)
	case kUUID:
		return uuidValue(rng, n, unique)
	}
	return g.stringValue(rng, t, c, n, unique, r)
}

// floatIn moves f into the rule's range.
func (r *rule) floatIn(f float64) float64 {
	if r == nil {
		return f
	}
	lo, hi := r.lo, r.hi
	switch {
	case math.IsInf(lo, -1) && math.IsInf(hi, 1):
		return f
	case math.IsInf(hi, 1):
		return lo + f
	case math.IsInf(lo, -1):
		return hi - f
	}
	return lo + math.Mod(f, hi-lo+1e-9)
}

func decimalValue(rng *rand.Rand, d *schema.DecimalType, n int64, unique bool, r *rule) string {
	intDigits := d.Precision - d.Scale
	if d.Precision == 0 {
		intDigits = 6
	}
	limit := int64(1)
	for i := 0; i < min(intDigits, 6); i++ {
		limit *= 10
	}
	lo, hi := r.intRange(limit)
	if r != nil && !math.IsInf(r.hi, 1) && float64(hi) >= r.hi && d.Scale > 0 {
		hi-- // leave room for the fraction under the bound
	}
	ip := lo + rng.Int64N(hi-lo+1)
	if unique {
		ip = lo + n%(hi-lo+1)
	}
	if d.Scale <= 0 {
		return strconv.FormatInt(ip, 10)
	}
	frac := rng.Int64N(100)
	if d.Scale == 1 {
		return fmt.Sprintf("%d.%d", ip, frac%10)
	}
	return fmt.Sprintf("%d.%02d", ip, frac)
}

func timeValue(rng *rand.Rand, tt *schema.TimeType, n int64, unique bool) any {
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
}

func binaryValue(rng *rand.Rand, b *schema.BinaryType, n int64, unique bool) []byte {
	size := 16
	if b.Size != nil && *b.Size > 0 {
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
}

func uuidValue(rng *rand.Rand, n int64, unique bool) string {
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

// stringValue generates text within the column's size and the rule's
// length bounds.
func (g *gen) stringValue(rng *rand.Rand, t *schema.Table, c *schema.Column, n int64, unique bool, r *rule) string {
	if vals := g.opts.Enums[t.Name+"."+c.Name]; len(vals) > 0 {
		return vals[rng.IntN(len(vals))]
	}
	hi := 200
	if st, ok := c.Type.Type.(*schema.StringType); ok && st.Size > 0 {
		hi = min(hi, st.Size)
	}
	lo := 0
	if r != nil {
		lo = r.minLen
		if r.maxLen > 0 {
			hi = min(hi, r.maxLen)
		}
	}
	var s string
	switch name := strings.ToLower(c.Name); {
	case strings.Contains(name, "email"):
		s = fmt.Sprintf("%s%d@example.com", words[rng.IntN(len(words))], n)
	case unique:
		s = fmt.Sprintf("%d-%s", n, words[rng.IntN(len(words))])
	default:
		var b strings.Builder
		target := max(lo, 1+rng.IntN(max(1, hi)))
		for b.Len() < target {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rng.IntN(len(words))])
		}
		s = b.String()
	}
	if len(s) < lo {
		s += strings.Repeat("x", lo-len(s))
	}
	if len(s) > hi {
		s = s[:hi]
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
