// Package preflight looks at the pending statements of an upgrade before
// they run and counts, on the real target, the rows each statement would
// destroy or reject: a dropped table or column that holds data, a type
// narrowed below the longest value, NOT NULL set on a column holding NULLs
// or a NOT NULL column added without a default to a populated table, a
// UNIQUE index over duplicate values, a foreign key over orphan rows.
//
// To know what a statement does, preflight copies the target's schema (not
// its data) to a scratch dev database, runs the pending statements there
// one by one and asks Atlas for the schema difference each file makes. The
// target itself only receives read-only COUNT queries.
package preflight

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/liveschema"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/plural"
	"github.com/weber-framework/weber/internal/scratchdb"
)

// Statement is one pending statement of a migration file.
type Statement struct {
	// File is the file's name, e.g. 20261127093000_drop_bio.sql.
	File string
	// Index is the statement's 1-based position in its file.
	Index int
	// Line is the 1-based line the statement starts on.
	Line int
	// Text is the SQL.
	Text string
	// DataLoss is what the file declares it loses on purpose (its
	// weber:data-loss directives).
	DataLoss migdir.DeclaredLoss
}

// Statements returns the statements of f from the (skip+1)-th on: skip is
// the number already applied, for a partially applied file.
func Statements(f migrate.File, skip int) ([]Statement, error) {
	decls, err := f.StmtDecls()
	if err != nil {
		return nil, fmt.Errorf("reading the statements of %s: %w", f.Name(), err)
	}
	b := f.Bytes()
	loss := ParseDataLoss(b)
	var out []Statement
	for i, d := range decls {
		if i < skip {
			continue
		}
		pos := min(max(d.Pos, 0), len(b))
		out = append(out, Statement{File: f.Name(), Index: i + 1, Line: strings.Count(string(b[:pos]), "\n") + 1, Text: d.Text, DataLoss: loss})
	}
	return out, nil
}

// FileStatements returns the statements of a validated migration file
// (as upgrade reads it, split by the dialect's own scanner) from the
// (skip+1)-th on, without the transaction control of a file run as written
// (BEGIN, COMMIT: they change no schema, and on the copy's connection pool
// they would leave transactions open).
func FileStatements(f *migdir.File, skip int) []Statement {
	var out []Statement
	loss := ParseDataLoss(f.Bytes)
	for i, st := range f.Stmts {
		if i >= skip && st.TxControl == "" {
			out = append(out, Statement{File: f.Name, Index: i + 1, Line: st.Line, Text: st.Text, DataLoss: loss})
		}
	}
	return out
}

// Kind names what a risky statement does.
type Kind string

// The kinds of risk.
const (
	DropTable        Kind = "drop-table"
	DropColumn       Kind = "drop-column"
	NarrowType       Kind = "narrow-type"
	ChangeType       Kind = "change-type"
	SetNotNull       Kind = "set-not-null"
	AddNotNullColumn Kind = "add-not-null-column"
	AddUnique        Kind = "add-unique"
	AddForeignKey    Kind = "add-foreign-key"
)

// Risk is one pending statement that destroys or constrains data, with the
// number of target rows it would destroy or reject.
type Risk struct {
	File      string
	Index     int
	Line      int
	Statement string
	Table     string
	Column    string
	Kind      Kind
	// Rows is the number of rows on the target that the statement would
	// destroy or reject (for AddUnique, the rows in duplicate groups).
	Rows int64
	// Groups is, for AddUnique, the number of values appearing more than once.
	Groups int64
	// Approximate is set when an earlier pending statement writes rows of
	// the same table, so that the count, taken before anything runs, may
	// be too high.
	Approximate bool
	// Declared is set when the file declares the loss on purpose with a
	// weber:data-loss directive naming the table or column.
	Declared bool
	Message  string
}

// Blocks reports whether the statement would lose or reject data on the
// target: the upgrade must refuse it without --allow-data-loss. An
// approximate count does not block (an earlier statement writing the same
// table may be the backfill or the copy that makes the change safe); show
// its message as a warning. Neither does a loss the file declares.
func (r Risk) Blocks() bool { return r.Rows > 0 && !r.Approximate && !r.Declared }

// DataLossError is returned by Gate when risky statements would affect rows
// and the caller did not allow data loss.
type DataLossError struct {
	Risks []Risk
}

func (e *DataLossError) Error() string {
	if len(e.Risks) == 1 {
		return "refusing to upgrade: " + e.Risks[0].Message
	}
	return fmt.Sprintf("refusing to upgrade: %s would destroy or reject data; the first: %s", plural.Count(len(e.Risks), "statement", "statements"), e.Risks[0].Message)
}

// Gate returns a *DataLossError listing the risks that block, unless
// allowDataLoss is set or none block.
func Gate(risks []Risk, allowDataLoss bool) error {
	if allowDataLoss {
		return nil
	}
	var blocking []Risk
	for _, r := range risks {
		if r.Blocks() {
			blocking = append(blocking, r)
		}
	}
	if len(blocking) == 0 {
		return nil
	}
	return &DataLossError{Risks: blocking}
}

// Options configure CountRisks.
type Options struct {
	// Dialect of the target: "sqlite", "postgres" or "mysql".
	Dialect string
	// Dev is an empty scratch database of the same dialect that CountRisks may
	// change freely. When nil, CountRisks uses DevURL; SQLite needs neither (an
	// in-memory database is used).
	Dev *sql.DB
	// DevURL names a PostgreSQL or MySQL server where CountRisks creates a
	// scratch database ("weber_preflight_o" + random, see
	// internal/scratchdb) and drops it after.
	DevURL string
	// Root is the migrations root: the dev setup file under it
	// (plan.DevSetupFile) runs on the scratch database CountRisks creates; ""
	// runs none.
	Root string
	// Logger receives debug output; nil discards.
	Logger *slog.Logger
}

// ErrNoDev is returned when a server dialect has no dev database to
// rehearse the statements on.
var ErrNoDev = errors.New("no dev database")

// CountRisks decides for each pending statement whether it destroys or
// constrains data, and counts the rows concerned on target. stmts are
// the pending statements in the order they would run, grouped by file.
func CountRisks(ctx context.Context, target *sql.DB, stmts []Statement, opts Options) ([]Risk, error) {
	d, err := liveschema.Dialect(opts.Dialect)
	if err != nil {
		return nil, fmt.Errorf("pre-flight check: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(stmts) == 0 {
		return nil, nil
	}
	dev, cleanup, err := openDev(ctx, d, opts)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	live, err := liveschema.Inspect(ctx, target, d)
	if err != nil {
		return nil, fmt.Errorf("pre-flight check: reading the target's schema: %w", err)
	}
	devDrv, err := liveschema.Driver(dev, d)
	if err != nil {
		return nil, fmt.Errorf("pre-flight check: %w", err)
	}
	if err := mirror(ctx, dev, devDrv, live); err != nil {
		return nil, err
	}
	c := &checker{d: d, target: target, live: live, drv: devDrv, log: log}
	prev, err := liveschema.InspectWith(ctx, devDrv)
	if err != nil {
		return nil, fmt.Errorf("pre-flight check: %w", err)
	}
	var risks []Risk
	for start := 0; start < len(stmts); {
		end := start
		for end < len(stmts) && stmts[end].File == stmts[start].File {
			end++
		}
		fileStart := prev
		steps, after, err := c.steps(ctx, dev, prev, stmts[start:end])
		if err != nil {
			return nil, err
		}
		prev = after
		net, err := devDrv.SchemaDiff(fileStart, prev)
		if err != nil {
			return nil, fmt.Errorf("pre-flight check: diffing %s: %w", stmts[start].File, err)
		}
		net = addSizeChanges(fileStart, prev, net)
		rs, err := c.classify(ctx, net, steps, stmts[:start])
		if err != nil {
			return nil, err
		}
		risks = append(risks, rs...)
		start = end
	}
	return risks, nil
}

// steps runs one file's statements on the dev copy, whose schema is prev,
// and returns the schema changes of each and the schema after them.
func (c *checker) steps(ctx context.Context, dev *sql.DB, prev *schema.Schema, stmts []Statement) ([]step, *schema.Schema, error) {
	var steps []step
	for _, st := range stmts {
		if _, err := dev.ExecContext(ctx, st.Text); err != nil {
			if isDML(st.Text) {
				// Data statements may need rows the empty copy lacks;
				// they do not change the schema.
				c.log.Debug("pre-flight: data statement skipped on the dev copy", "file", st.File, "statement", st.Index, "err", err)
				steps = append(steps, step{st: st})
				continue
			}
			return nil, nil, fmt.Errorf("pre-flight check: statement %d of %s (line %d) fails on a copy of the target's schema: %s: fix the statement before upgrading", st.Index, st.File, st.Line, errtext.OneLine(err))
		}
		cur, err := liveschema.InspectWith(ctx, c.drv)
		if err != nil {
			return nil, nil, fmt.Errorf("pre-flight check: %w", err)
		}
		changes, err := c.drv.SchemaDiff(prev, cur)
		if err != nil {
			return nil, nil, fmt.Errorf("pre-flight check: diffing after statement %d of %s: %w", st.Index, st.File, err)
		}
		steps = append(steps, step{st: st, changes: changes})
		prev = cur
	}
	return steps, prev, nil
}

type step struct {
	st      Statement
	changes []schema.Change
}

func openDev(ctx context.Context, d string, opts Options) (*sql.DB, func(), error) {
	switch {
	case opts.Dev != nil:
		return opts.Dev, func() {}, nil
	case d != dialect.SQLite && opts.DevURL != "":
		return openScratch(ctx, opts)
	case d != dialect.SQLite:
		return nil, nil, fmt.Errorf("pre-flight check on %s: %w: pass --dev-url or set WEBER_DEV_%s_URL", d, ErrNoDev, strings.ToUpper(d))
	}
	u, err := dbconn.Parse("sqlite://:memory:")
	if err != nil {
		return nil, nil, fmt.Errorf("pre-flight check: preparing the dev database: %w", err)
	}
	db, err := dbconn.Open(ctx, u)
	if err != nil {
		return nil, nil, fmt.Errorf("pre-flight check: %w", err)
	}
	return db, func() { db.Close() }, nil
}

// mirror creates the tables (and enum types) of live in the empty dev database.
func mirror(ctx context.Context, dev *sql.DB, drv migrate.Driver, live *schema.Schema) error {
	changes, err := drv.SchemaDiff(&schema.Schema{Name: live.Name}, live)
	if err != nil {
		return fmt.Errorf("pre-flight check: copying the target's schema: %w", err)
	}
	kept := changes[:0]
	for _, ch := range changes {
		switch ch.(type) {
		case *schema.AddTable, *schema.AddObject:
			kept = append(kept, ch)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	plan, err := drv.PlanChanges(ctx, "mirror", kept, func(o *migrate.PlanOptions) {
		q := ""
		o.SchemaQualifier = &q
	})
	if err != nil {
		return fmt.Errorf("pre-flight check: copying the target's schema: %w", err)
	}
	for _, ch := range plan.Changes {
		if _, err := dev.ExecContext(ctx, ch.Cmd, ch.Args...); err != nil {
			return fmt.Errorf("pre-flight check: copying the target's schema to the dev database: %s: %w", ch.Comment, err)
		}
	}
	return nil
}

var dmlRe = regexp.MustCompile(`(?is)^\s*(insert|update|delete|replace|merge|with|select)\b`)

func isDML(s string) bool { return dmlRe.MatchString(s) }

var insertIntoRe = regexp.MustCompile("(?is)^\\s*insert\\s+into\\s+[`\"]?([A-Za-z0-9_]+)")

// rebuildCopy reports whether the statement is the copy step of a table
// rebuild (INSERT INTO new_t ... SELECT ... FROM t, as Atlas writes it on
// SQLite): it neither writes t nor saves its data elsewhere.
func rebuildCopy(s, table string) bool {
	m := insertIntoRe.FindStringSubmatch(s)
	return m != nil && strings.EqualFold(m[1], "new_"+table)
}

type checker struct {
	d      string
	target *sql.DB
	live   *schema.Schema
	drv    migrate.Driver
	log    *slog.Logger
}

func (c *checker) q(name string) string { return liveschema.Quote(c.d, name) }

// liveColumn returns the target's column, or nil when the table or column
// does not exist there yet (created by an earlier pending statement).
func (c *checker) liveColumn(table, column string) *schema.Column {
	return liveschema.Column(liveschema.Table(c.live, table), column)
}

func (c *checker) count(ctx context.Context, query string) (int64, error) {
	var n int64
	if err := c.target.QueryRowContext(ctx, query).Scan(&n); err != nil {
		return 0, fmt.Errorf("pre-flight check: counting rows on the target: %s: %w", query, err)
	}
	return n, nil
}

// classify turns a file's net schema changes into risks with counts.
func (c *checker) classify(ctx context.Context, net []schema.Change, steps []step, earlier []Statement) ([]Risk, error) {
	var out []Risk
	add := func(r Risk) {
		st := c.attribute(r, steps)
		r.File, r.Index, r.Line, r.Statement = st.File, st.Index, st.Line, st.Text
		if covers(st.DataLoss, r) && r.Rows > 0 {
			r.Declared = true
			if i := strings.Index(r.Message, ": copy the data first"); i > 0 {
				r.Message = r.Message[:i]
			}
			r.Message += "; the file declares the loss (" + DataLossDirective + ")"
		}
		for _, e := range append(append([]Statement(nil), earlier...), stepsBefore(steps, st)...) {
			if isDML(e.Text) && mentions(e.Text, r.Table) && !rebuildCopy(e.Text, r.Table) {
				r.Approximate = true
				r.Message += fmt.Sprintf(" (counted before statement %d of %s (line %d), which writes to %s, runs)", e.Index, e.File, e.Line, r.Table)
				break
			}
		}
		r.Message = fmt.Sprintf("statement %d of %s (line %d) %s", r.Index, r.File, r.Line, r.Message)
		out = append(out, r)
	}
	for _, ch := range net {
		switch ch := ch.(type) {
		case *schema.DropTable:
			if liveschema.Table(c.live, ch.T.Name) == nil || renamedTable(ch.T.Name, net, steps) {
				continue
			}
			n, err := c.count(ctx, "SELECT COUNT(*) FROM "+c.q(ch.T.Name))
			if err != nil {
				return nil, err
			}
			add(Risk{Table: ch.T.Name, Kind: DropTable, Rows: n, Message: dataMsg(fmt.Sprintf("drops table %s, which holds %s", ch.T.Name, nRows(n)), ch.T.Name, n)})
		case *schema.ModifyTable:
			rs, err := c.modifyTable(ctx, ch, steps)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				add(r)
			}
		}
	}
	return out, nil
}

func stepsBefore(steps []step, st Statement) []Statement {
	var out []Statement
	for _, s := range steps {
		if s.st.Index >= st.Index {
			break
		}
		out = append(out, s.st)
	}
	return out
}

// dataMsg says what a drop destroys and how to proceed; name is what a
// weber:data-loss directive would name.
func dataMsg(what, name string, n int64) string {
	if n == 0 {
		return what + "; no rows are affected on the target"
	}
	return what + fmt.Sprintf(": copy the data first, declare the loss in the file (-- %s %s), or pass --allow-data-loss", DataLossDirective, name)
}

func (c *checker) modifyTable(ctx context.Context, m *schema.ModifyTable, steps []step) ([]Risk, error) {
	t := m.T.Name
	lt := liveschema.Table(c.live, t)
	if lt == nil {
		return nil, nil // created by an earlier pending statement: empty on the target
	}
	var out []Risk
	// add keeps the risk of a check that found one.
	add := func(r Risk, ok bool, err error) error {
		if ok && err == nil {
			out = append(out, r)
		}
		return err
	}
	for _, ch := range m.Changes {
		var err error
		switch ch := ch.(type) {
		case *schema.DropColumn:
			if c.liveColumn(t, ch.C.Name) == nil || renamedColumn(t, ch.C.Name, m, steps) {
				continue
			}
			err = add(c.dropColumn(ctx, t, ch.C.Name))
		case *schema.AddColumn:
			col := ch.C
			if col.Type == nil || col.Type.Null || col.Default != nil || liveschema.AutoIncrement(m.T, col) || liveschema.Generated(col) {
				continue
			}
			err = add(c.addNotNull(ctx, t, col.Name))
		case *schema.ModifyColumn:
			var rs []Risk
			rs, err = c.modifyColumn(ctx, t, ch)
			out = append(out, rs...)
		case *schema.AddIndex:
			if ch.I.Unique {
				err = add(c.unique(ctx, t, ch.I))
			}
		case *schema.ModifyIndex:
			if ch.Change.Is(schema.ChangeUnique) && ch.To.Unique {
				err = add(c.unique(ctx, t, ch.To))
			}
		case *schema.AddPrimaryKey:
			err = add(c.unique(ctx, t, ch.P))
		case *schema.AddForeignKey:
			err = add(c.foreignKey(ctx, t, ch.F))
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// dropColumn is the risk of dropping column col of table t: the rows
// where it holds data.
func (c *checker) dropColumn(ctx context.Context, t, col string) (Risk, bool, error) {
	n, err := c.count(ctx, fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s IS NOT NULL", c.q(t), c.q(col)))
	if err != nil {
		return Risk{}, false, err
	}
	return Risk{Table: t, Column: col, Kind: DropColumn, Rows: n,
		Message: dataMsg(fmt.Sprintf("drops column %s.%s, which holds data in %s", t, col, nRows(n)), t+"."+col, n)}, true, nil
}

// addNotNull is the risk of adding NOT NULL column col without a default
// to table t: its rows.
func (c *checker) addNotNull(ctx context.Context, t, col string) (Risk, bool, error) {
	n, err := c.count(ctx, "SELECT COUNT(*) FROM "+c.q(t))
	if err != nil {
		return Risk{}, false, err
	}
	msg := fmt.Sprintf("adds NOT NULL column %s.%s without a default to a table of %s", t, col, nRows(n))
	if n > 0 {
		msg += ": the statement fails, or fills them with an implicit value; give the column a default, or add it nullable, backfill, then set NOT NULL"
	} else {
		msg += "; the table is empty on the target"
	}
	return Risk{Table: t, Column: col, Kind: AddNotNullColumn, Rows: n, Message: msg}, true, nil
}

func (c *checker) modifyColumn(ctx context.Context, t string, ch *schema.ModifyColumn) ([]Risk, error) {
	lc := c.liveColumn(t, ch.From.Name)
	if lc == nil {
		return nil, nil
	}
	col := c.q(ch.From.Name)
	var out []Risk
	if ch.Change.Is(schema.ChangeNull) && ch.To.Type != nil && !ch.To.Type.Null {
		n, err := c.count(ctx, fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s IS NULL", c.q(t), col))
		if err != nil {
			return nil, err
		}
		msg := fmt.Sprintf("makes %s.%s NOT NULL", t, ch.From.Name)
		if n > 0 {
			msg += fmt.Sprintf("; %s %s NULL there and would be rejected: fill them first (UPDATE %s SET %s = ... WHERE %s IS NULL) in an earlier file, or pass --allow-data-loss", nRows(n), plural.Noun(n, "holds", "hold"), t, ch.From.Name, ch.From.Name)
		} else {
			msg += "; no row holds NULL on the target"
		}
		out = append(out, Risk{Table: t, Column: ch.From.Name, Kind: SetNotNull, Rows: n, Message: msg})
	}
	if !ch.Change.Is(schema.ChangeType) || ch.From.Type == nil || ch.To.Type == nil {
		return out, nil
	}
	from, to := ch.From.Type.Type, ch.To.Type.Type
	fromS, toS := typeString(ch.From), typeString(ch.To)
	cond, narrowing := c.narrowing(col, from, to)
	if cond == "" {
		return out, nil
	}
	n, err := c.count(ctx, fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s IS NOT NULL AND (%s)", c.q(t), col, cond))
	if err != nil {
		return nil, err
	}
	if narrowing {
		msg := fmt.Sprintf("narrows %s.%s from %s to %s", t, ch.From.Name, fromS, toS)
		if n > 0 {
			msg += fmt.Sprintf("; %s %s values that do not fit and would be rejected or cut: shorten them first, or pass --allow-data-loss", nRows(n), plural.Noun(n, "holds", "hold"))
		} else {
			msg += "; every value on the target fits"
		}
		out = append(out, Risk{Table: t, Column: ch.From.Name, Kind: NarrowType, Rows: n, Message: msg})
		return out, nil
	}
	msg := fmt.Sprintf("changes the type of %s.%s from %s to %s", t, ch.From.Name, fromS, toS)
	if n > 0 {
		msg += fmt.Sprintf("; %s non-NULL values must convert and may be rejected or changed: check them, or pass --allow-data-loss", plural.Thousands(n))
	} else {
		msg += "; the column holds no values on the target"
	}
	out = append(out, Risk{Table: t, Column: ch.From.Name, Kind: ChangeType, Rows: n, Message: msg})
	return out, nil
}

func typeString(c *schema.Column) string {
	if c.Type.Raw != "" {
		return c.Type.Raw
	}
	switch t := c.Type.Type.(type) {
	case *schema.StringType:
		if t.Size > 0 {
			return fmt.Sprintf("%s(%d)", t.T, t.Size)
		}
		return t.T
	case *schema.IntegerType:
		return t.T
	case *schema.DecimalType:
		return fmt.Sprintf("%s(%d,%d)", t.T, t.Precision, t.Scale)
	}
	return fmt.Sprint(c.Type.Type)
}

// notIn is the condition on col that rejects every value but the enum's.
func notIn(col string, values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return fmt.Sprintf("%s NOT IN (%s)", col, strings.Join(quoted, ", "))
}

// narrowing returns the SQL condition selecting the values that would not
// survive the type change, and whether it is a narrowing of the same kind
// of type. An empty condition means the change is safe (a widening).
func (c *checker) narrowing(col string, from, to schema.Type) (string, bool) {
	switch f := from.(type) {
	case *schema.StringType:
		return c.narrowingString(col, f, to)
	case *schema.IntegerType:
		return c.narrowingInteger(col, f, to)
	case *schema.DecimalType:
		return narrowingDecimal(col, f, to)
	case *schema.FloatType:
		switch to.(type) {
		case *schema.FloatType, *schema.StringType:
			return "", false
		}
		return "1 = 1", false
	case *schema.EnumType:
		return c.narrowingEnum(col, to)
	case *schema.TimeType, *schema.BoolType:
		if _, ok := to.(*schema.StringType); ok {
			return "", false
		}
		if fmt.Sprintf("%T", from) == fmt.Sprintf("%T", to) {
			return "", false // e.g. timestamp -> timestamptz, datetime precision
		}
		return "1 = 1", false
	}
	if fmt.Sprintf("%T", from) == fmt.Sprintf("%T", to) {
		return "", false
	}
	return "1 = 1", false
}

// narrowingString is narrowing from a string type.
func (c *checker) narrowingString(col string, f *schema.StringType, to schema.Type) (string, bool) {
	switch t := to.(type) {
	case *schema.StringType:
		if t.Size > 0 && (f.Size == 0 || t.Size < f.Size) {
			return fmt.Sprintf("%s > %d", c.length(col), t.Size), true
		}
		return "", false
	case *schema.EnumType:
		return notIn(col, t.Values), true
	}
	return "1 = 1", false
}

// narrowingInteger is narrowing from an integer type.
func (c *checker) narrowingInteger(col string, f *schema.IntegerType, to schema.Type) (string, bool) {
	switch t := to.(type) {
	case *schema.IntegerType:
		fw, tw := intWidth(c.d, f), intWidth(c.d, t)
		if tw > fw || tw == fw && f.Unsigned == t.Unsigned {
			return "", false
		}
		lo, hi := intRange(c.d, t)
		return fmt.Sprintf("%s < %s OR %s > %s", col, lo, col, hi), true
	case *schema.DecimalType, *schema.FloatType, *schema.StringType:
		return "", false
	}
	return "1 = 1", false
}

// narrowingDecimal is narrowing from a decimal type.
func narrowingDecimal(col string, f *schema.DecimalType, to schema.Type) (string, bool) {
	switch t := to.(type) {
	case *schema.DecimalType:
		if t.Precision-t.Scale >= f.Precision-f.Scale && t.Scale >= f.Scale {
			return "", false
		}
		limit := "1" + strings.Repeat("0", max(t.Precision-t.Scale, 0))
		cond := fmt.Sprintf("ABS(%s) >= %s", col, limit)
		if t.Scale < f.Scale {
			cond += fmt.Sprintf(" OR %s <> ROUND(%s, %d)", col, col, t.Scale)
		}
		return cond, true
	case *schema.FloatType, *schema.StringType:
		return "", false
	}
	return "1 = 1", false
}

// narrowingEnum is narrowing from an enum type.
func (c *checker) narrowingEnum(col string, to schema.Type) (string, bool) {
	switch t := to.(type) {
	case *schema.EnumType:
		return notIn(col, t.Values), true
	case *schema.StringType:
		if t.Size == 0 {
			return "", false
		}
		return fmt.Sprintf("%s > %d", c.length(col), t.Size), true
	}
	return "1 = 1", false
}

func (c *checker) length(col string) string {
	switch c.d {
	case dialect.Postgres:
		return "char_length(" + col + ")"
	case dialect.MySQL:
		return "CHAR_LENGTH(" + col + ")"
	}
	return "length(" + col + ")"
}

// intWidth is the width in bytes of an integer type on the dialect.
func intWidth(d string, t *schema.IntegerType) int {
	switch strings.ToLower(t.T) {
	case "tinyint", "int1":
		return 1
	case "smallint", "int2", "smallserial":
		return 2
	case "mediumint":
		return 3
	case "int", "int4", "serial":
		return 4
	case "integer":
		if d == dialect.SQLite {
			return 8 // SQLite's INTEGER holds 64 bits
		}
		return 4
	}
	return 8
}

func intRange(d string, t *schema.IntegerType) (string, string) {
	w := uint(intWidth(d, t))
	if t.Unsigned {
		return "0", strconv.FormatUint(1<<(8*w)-1, 10)
	}
	return "-" + strconv.FormatUint(1<<(8*w-1), 10), strconv.FormatUint(1<<(8*w-1)-1, 10)
}

// unique counts the duplicate groups that a new unique index or primary
// key over the index's columns would reject.
func (c *checker) unique(ctx context.Context, t string, idx *schema.Index) (Risk, bool, error) {
	var cols, names, notNull []string
	for _, p := range idx.Parts {
		if p.C == nil {
			return Risk{}, false, nil // an expression index: not counted
		}
		if c.liveColumn(t, p.C.Name) == nil {
			return Risk{}, false, nil // a new column: empty on the target
		}
		cols = append(cols, c.q(p.C.Name))
		names = append(names, p.C.Name)
		notNull = append(notNull, c.q(p.C.Name)+" IS NOT NULL")
	}
	if len(cols) == 0 {
		return Risk{}, false, nil
	}
	q := fmt.Sprintf("SELECT COUNT(*), COALESCE(SUM(n), 0) FROM (SELECT COUNT(*) AS n FROM %s WHERE %s GROUP BY %s HAVING COUNT(*) > 1) dups",
		c.q(t), strings.Join(notNull, " AND "), strings.Join(cols, ", "))
	var groups, rows int64
	if err := c.target.QueryRowContext(ctx, q).Scan(&groups, &rows); err != nil {
		return Risk{}, false, fmt.Errorf("pre-flight check: counting duplicates on the target: %w", err)
	}
	what := "unique index " + idx.Name
	if idx.Name == "" || idx.Table != nil && idx.Table.PrimaryKey == idx {
		what = "a primary key"
	}
	msg := fmt.Sprintf("adds %s on %s(%s)", what, t, strings.Join(names, ", "))
	if groups > 0 {
		msg += fmt.Sprintf("; %s %s more than once (%s) and would be rejected: remove the duplicates first, or pass --allow-data-loss", plural.Thousands(groups)+" "+plural.Noun(groups, "value", "values"), plural.Noun(groups, "appears", "appear"), nRows(rows))
	} else {
		msg += "; the values on the target are already unique"
	}
	return Risk{Table: t, Column: strings.Join(names, ","), Kind: AddUnique, Rows: rows, Groups: groups, Message: msg}, true, nil
}

// foreignKey counts the rows a new foreign key would reject.
func (c *checker) foreignKey(ctx context.Context, t string, fk *schema.ForeignKey) (Risk, bool, error) {
	if fk.RefTable == nil || len(fk.Columns) != len(fk.RefColumns) || liveschema.Table(c.live, fk.RefTable.Name) == nil {
		return Risk{}, false, nil
	}
	var notNull, match, names []string
	for i, col := range fk.Columns {
		if c.liveColumn(t, col.Name) == nil || c.liveColumn(fk.RefTable.Name, fk.RefColumns[i].Name) == nil {
			return Risk{}, false, nil
		}
		cc := "c." + c.q(col.Name)
		names = append(names, col.Name)
		notNull = append(notNull, cc+" IS NOT NULL")
		match = append(match, "p."+c.q(fk.RefColumns[i].Name)+" = "+cc)
	}
	n, err := c.count(ctx, "SELECT COUNT(*) FROM "+c.q(t)+" c WHERE "+strings.Join(notNull, " AND ")+
		" AND NOT EXISTS (SELECT 1 FROM "+c.q(fk.RefTable.Name)+" p WHERE "+strings.Join(match, " AND ")+")")
	if err != nil {
		return Risk{}, false, err
	}
	msg := fmt.Sprintf("adds foreign key %s.%s -> %s", t, strings.Join(names, ","), fk.RefTable.Name)
	if n > 0 {
		msg += fmt.Sprintf("; %s %s to no row of %s and would be rejected: fix or delete them first, or pass --allow-data-loss", nRows(n), plural.Noun(n, "points", "point"), fk.RefTable.Name)
	} else {
		msg += "; every row on the target has its parent"
	}
	return Risk{Table: t, Column: strings.Join(names, ","), Kind: AddForeignKey, Rows: n, Message: msg}, true, nil
}

// attribute finds the statement a net change comes from: the first whose
// own changes touch the table and column, or that creates, under another
// name later renamed to the table (SQLite's rebuild: CREATE TABLE new_t,
// copy, DROP TABLE t, RENAME new_t TO t), a table defining the column as
// the risk has it; else the first that touches the table, else the first
// that mentions it, else the file's first statement.
func (c *checker) attribute(r Risk, steps []step) Statement {
	aliases := renamedTo(r.Table, steps)
	for _, s := range steps {
		for _, ch := range s.changes {
			if touches(ch, r.Table, r.Column) || c.defines(ch, aliases, r) {
				return s.st
			}
		}
	}
	for _, s := range steps {
		for _, ch := range s.changes {
			if touches(ch, r.Table, "") {
				return s.st
			}
		}
	}
	for _, s := range steps {
		if mentions(s.st.Text, r.Table) {
			return s.st
		}
	}
	return steps[0].st
}

// renamedTo returns the tables of the file that a statement renames to
// table, directly or through other names.
func renamedTo(table string, steps []step) map[string]bool {
	out := map[string]bool{}
	names := []string{table}
	for len(names) > 0 {
		name := names[0]
		names = names[1:]
		for _, s := range steps {
			if !strings.Contains(strings.ToUpper(s.st.Text), "RENAME") {
				continue
			}
			added, dropped := false, ""
			for _, ch := range s.changes {
				switch ch := ch.(type) {
				case *schema.AddTable:
					added = added || ch.T.Name == name
				case *schema.DropTable:
					dropped = ch.T.Name
				}
			}
			if added && dropped != "" && !out[dropped] && dropped != table {
				out[dropped] = true
				names = append(names, dropped)
			}
		}
	}
	return out
}

// defines reports whether ch creates a table in aliases (a table later
// renamed to the risk's table) whose definition makes the risk: the
// column differs from the target's (added, NOT NULL, a new type), or a
// foreign key over it is new. A drop is not made there but by the DROP.
func (c *checker) defines(ch schema.Change, aliases map[string]bool, r Risk) bool {
	at, ok := ch.(*schema.AddTable)
	if !ok || !aliases[at.T.Name] || r.Column == "" {
		return false
	}
	live := liveschema.Table(c.live, r.Table)
	switch r.Kind {
	case AddNotNullColumn, SetNotNull, NarrowType, ChangeType:
		nc := liveschema.Column(at.T, r.Column)
		if nc == nil || nc.Type == nil {
			return false
		}
		lc := liveschema.Column(live, r.Column)
		return lc == nil || lc.Type == nil || lc.Type.Null != nc.Type.Null || typeString(lc) != typeString(nc)
	case AddForeignKey:
		for _, fk := range at.T.ForeignKeys {
			if colList(fk.Columns) == r.Column && !hasForeignKey(live, r.Column) {
				return true
			}
		}
	}
	return false
}

func colList(cols []*schema.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return strings.Join(names, ",")
}

func hasForeignKey(t *schema.Table, cols string) bool {
	if t == nil {
		return false
	}
	for _, fk := range t.ForeignKeys {
		if colList(fk.Columns) == cols {
			return true
		}
	}
	return false
}

func touches(ch schema.Change, table, column string) bool {
	switch ch := ch.(type) {
	case *schema.DropTable:
		return ch.T.Name == table && column == ""
	case *schema.AddTable:
		return ch.T.Name == table && column == ""
	case *schema.ModifyTable:
		if ch.T.Name != table {
			return false
		}
		if column == "" {
			return true
		}
		for _, cc := range ch.Changes {
			switch cc := cc.(type) {
			case *schema.DropColumn:
				if cc.C.Name == column {
					return true
				}
			case *schema.AddColumn:
				if cc.C.Name == column {
					return true
				}
			case *schema.ModifyColumn:
				if cc.From.Name == column || cc.To.Name == column {
					return true
				}
			case *schema.AddIndex:
				if strings.Contains(","+indexCols(cc.I)+",", ","+column+",") {
					return true
				}
			case *schema.ModifyIndex:
				if strings.Contains(","+indexCols(cc.To)+",", ","+column+",") {
					return true
				}
			case *schema.AddForeignKey:
				for _, c := range cc.F.Columns {
					if strings.Contains(","+column+",", ","+c.Name+",") {
						return true
					}
				}
			}
		}
	}
	return false
}

func indexCols(idx *schema.Index) string {
	var names []string
	for _, p := range idx.Parts {
		if p.C != nil {
			names = append(names, p.C.Name)
		}
	}
	return strings.Join(names, ",")
}

// mentions reports whether the SQL names the identifier as a word.
func mentions(sqlText, name string) bool {
	re := regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(name) + `($|[^A-Za-z0-9_])`)
	return re.MatchString(sqlText)
}

// renamedColumn reports whether a dropped column was renamed: the file
// also adds a column, and a statement renames the one to the other
// (RENAME COLUMN, or MySQL's CHANGE).
func renamedColumn(table, column string, m *schema.ModifyTable, steps []step) bool {
	for _, ch := range m.Changes {
		ac, ok := ch.(*schema.AddColumn)
		if !ok {
			continue
		}
		for _, s := range steps {
			up := strings.ToUpper(s.st.Text)
			if (strings.Contains(up, "RENAME") || strings.Contains(up, "CHANGE")) && mentions(s.st.Text, column) && mentions(s.st.Text, ac.C.Name) {
				return true
			}
		}
	}
	return false
}

// renamedTable reports whether a dropped table was renamed to a table the
// file adds.
func renamedTable(table string, net []schema.Change, steps []step) bool {
	for _, ch := range net {
		at, ok := ch.(*schema.AddTable)
		if !ok {
			continue
		}
		for _, s := range steps {
			if strings.Contains(strings.ToUpper(s.st.Text), "RENAME") && mentions(s.st.Text, table) && mentions(s.st.Text, at.T.Name) {
				return true
			}
		}
	}
	return false
}

// nRows words a count of rows: "1 row", "1,200 rows".
func nRows(n int64) string { return plural.Thousands(n) + " " + plural.Noun(n, "row", "rows") }

// addSizeChanges adds the string length changes Atlas's SQLite differ does
// not report (SQLite ignores declared lengths, Weber's models do not): a
// varchar(255) rebuilt as varchar(50) is a narrowing all the same.
func addSizeChanges(from, to *schema.Schema, net []schema.Change) []schema.Change {
	for _, tt := range to.Tables {
		ft := liveschema.Table(from, tt.Name)
		if ft == nil {
			continue
		}
		for _, tc := range tt.Columns {
			fc := liveschema.Column(ft, tc.Name)
			if fc == nil || fc.Type == nil || tc.Type == nil {
				continue
			}
			fs, ok1 := fc.Type.Type.(*schema.StringType)
			ts, ok2 := tc.Type.Type.(*schema.StringType)
			if !ok1 || !ok2 || fs.Size == ts.Size {
				continue
			}
			var mt *schema.ModifyTable
			for _, ch := range net {
				if m, ok := ch.(*schema.ModifyTable); ok && m.T.Name == tt.Name {
					mt = m
				}
			}
			if mt == nil {
				mt = &schema.ModifyTable{T: tt}
				net = append(net, mt)
			}
			has := false
			for _, ch := range mt.Changes {
				if mc, ok := ch.(*schema.ModifyColumn); ok && mc.From.Name == tc.Name {
					if !mc.Change.Is(schema.ChangeType) {
						mc.Change |= schema.ChangeType
					}
					has = true
				}
			}
			if !has {
				mt.Changes = append(mt.Changes, &schema.ModifyColumn{From: fc, To: tc, Change: schema.ChangeType})
			}
		}
	}
	return net
}

// openScratch creates the pre-flight's scratch database on the dev server
// and runs the dev setup file on it.
func openScratch(ctx context.Context, opts Options) (*sql.DB, func(), error) {
	server, err := dbconn.Parse(opts.DevURL)
	if err != nil {
		return nil, nil, fmt.Errorf("pre-flight check: the dev URL: %w", err)
	}
	sd, err := scratchdb.Create(ctx, server, scratchdb.PreflightPrefix)
	if err != nil {
		return nil, nil, fmt.Errorf("pre-flight check: preparing the dev database: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, n := range plan.ReapNotes(server, sd.Removed, sd.Kept) {
		log.Warn("pre-flight check: " + n)
	}
	db, err := dbconn.Open(ctx, sd.URL)
	if err == nil && opts.Root != "" {
		if _, err = plan.RunDevSetup(ctx, db, opts.Dialect, opts.Root); err != nil {
			db.Close()
		}
	}
	if err != nil {
		_ = sd.Drop(ctx)
		return nil, nil, fmt.Errorf("pre-flight check: %w", err)
	}
	return db, func() { db.Close(); _ = sd.Drop(ctx) }, nil
}
