// Package drift compares a live database with what its applied migration
// history says it should be: the third way of `weberctl db status`, which
// catches someone changing production by hand.
//
// Live replays, on an empty dev database of the same dialect, exactly the
// statements the revision table records as applied (every statement of a
// complete file, the applied ones of a partially applied file), inspects
// both databases with Atlas (without Weber's own tables), diffs them and
// names each difference down to the table and the column or index.
//
// Overview combines the three ways for the CLI: the models against the
// history (a revision is needed: plan.ModelsAhead), the history against the
// live database (files pending or partial: upgrade.Status) and the live
// database against its applied history (Live). Each way that cannot be
// computed (no dev server, an invalid directory) is reported in the result
// with its reason; the others are still computed.
package drift

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/mysql"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlite"
	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/flavor"
	"github.com/weber-framework/weber/internal/liveschema"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/upgrade"
)

// Kinds of Difference. "Added" means present on the live database and not
// in what the applied history builds; "dropped" the other way round.
const (
	TableAdded        = "table-added"
	TableDropped      = "table-dropped"
	TableChanged      = "table-changed" // a table attribute: comment, engine, charset...
	ColumnAdded       = "column-added"
	ColumnDropped     = "column-dropped"
	ColumnChanged     = "column-changed" // type, nullability, default...
	IndexAdded        = "index-added"
	IndexDropped      = "index-dropped"
	IndexChanged      = "index-changed"
	PrimaryKeyChanged = "primary-key-changed"
	ForeignKeyAdded   = "foreign-key-added"
	ForeignKeyDropped = "foreign-key-dropped"
	ForeignKeyChanged = "foreign-key-changed"
	CheckAdded        = "check-added"
	CheckDropped      = "check-dropped"
	CheckChanged      = "check-changed"
	ObjectAdded       = "object-added" // e.g. a PostgreSQL enum type
	ObjectDropped     = "object-dropped"
	ObjectChanged     = "object-changed"
	SchemaChanged     = "schema-changed" // the schema's own attributes
)

// Difference is one way the live database differs from its applied
// history.
type Difference struct {
	// Kind is one of the kinds above.
	Kind string
	// Table is the table concerned ("" for schema-level objects).
	Table string
	// Column is the column concerned, for column kinds.
	Column string
	// Index names the index, foreign key, check or object concerned.
	Index string
	// Detail says what differs, history first, e.g. "type varchar(50) ->
	// text; NULL -> NOT NULL" or "bigint NULL".
	Detail string
}

// String renders the difference on one line, e.g.
// "column-added users.x (bigint NULL)".
func (d Difference) String() string {
	s := d.Kind + " "
	switch {
	case d.Column != "":
		s += d.Table + "." + d.Column
	case d.Index != "" && d.Table != "":
		s += d.Table + " " + d.Index
	case d.Index != "":
		s += d.Index
	default:
		s += d.Table
	}
	if d.Detail != "" {
		s += " (" + d.Detail + ")"
	}
	return s
}

// Report is the live database against its applied history.
type Report struct {
	// Dialect is ent's dialect name; Dir the migration directory.
	Dialect string
	Dir     string
	// Version is the latest applied version the history was replayed to
	// ("" when the database has no history: then every table is
	// reported as added).
	Version string
	// Replayed counts the files replayed in full.
	Replayed int
	// Partial names a partially applied file whose Applied statements
	// were replayed.
	Partial string
	// PartialApplied is the number of statements of Partial replayed.
	PartialApplied int
	// Clean reports that there is no difference.
	Clean bool
	// Differences are sorted by table, then kind and name.
	Differences []Difference
}

// Options tune Live (all optional).
type Options struct {
	// Logger receives debug output; nil discards.
	Logger *slog.Logger
}

// Live compares the database db that u names with what the files its
// revision table records as applied build, replayed on a dev database of
// the same dialect: an in-memory SQLite database, or a scratch database on
// the PostgreSQL or MySQL server devURL names (created and dropped here).
// dirPath is the dialect folder, e.g. migrations/postgres. It changes
// nothing on db and takes no lock.
//
// It fails when the directory is invalid, when an applied file is missing
// from it (restore it first: upgrade.Status names it), when a server
// dialect has no devURL (a *plan.MissingDevURLError), or when a file no
// longer replays.
func Live(ctx context.Context, db *sql.DB, u *dbconn.URL, dirPath, devURL string) (*Report, error) {
	return LiveWith(ctx, db, u, dirPath, devURL, Options{})
}

// LiveWith is Live with options.
func LiveWith(ctx context.Context, db *sql.DB, u *dbconn.URL, dirPath, devURL string, opts Options) (*Report, error) {
	src, err := upgrade.NewSource(db, u, dirPath, opts.Logger, "drift")
	if err != nil {
		return nil, err
	}
	return LiveFrom(ctx, src, devURL)
}

// LiveFrom is Live on a Source built once (the engine's): its database,
// folder and logger.
func LiveFrom(ctx context.Context, src *upgrade.Source, devURL string) (*Report, error) {
	u, log := src.URL(), src.Logger()
	dir, err := migdir.OpenDialect(src.Dir(), u.Dialect)
	if err != nil {
		return nil, fmt.Errorf("drift: %w", err)
	}
	rep := &Report{Dialect: u.Dialect, Dir: src.Dir()}
	todo, err := appliedFiles(ctx, src, dir, rep)
	if err != nil {
		return nil, err
	}
	dev, closeDev, err := openDev(ctx, src, devURL)
	if err != nil {
		return nil, err
	}
	defer closeDev()
	if err := readyDev(ctx, dev, src.DB(), u, src.Dir(), dir); err != nil {
		return nil, err
	}
	if err := replayApplied(ctx, dev, u.Dialect, todo, rep); err != nil {
		return nil, err
	}
	log.Debug("drift: history replayed", "files", rep.Replayed, "partial", rep.Partial)
	if err := compareWithHistory(ctx, dev, src.DB(), u, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// openDev opens the empty dev database the history is replayed on, and
// returns the function that removes it.
func openDev(ctx context.Context, src *upgrade.Source, devURL string) (*sql.DB, func(), error) {
	u, log := src.URL(), src.Logger()
	d, err := plan.OpenDev(ctx, plan.DevOptions{Dialect: u.Dialect, URL: devURL, Root: filepath.Dir(filepath.Clean(src.Dir()))})
	if err != nil {
		return nil, nil, fmt.Errorf("drift: comparing %s with its history: %w", u.Redacted(), err)
	}
	for _, n := range d.Notes {
		log.Warn("drift: " + n)
	}
	return d.DB, func() {
		if err := d.Close(); err != nil {
			log.Warn("drift: removing the dev database", "err", err)
		}
	}, nil
}

// applied is a file of the history as far as it was applied.
type applied struct {
	file *migdir.File
	n    int // statements applied; len(Stmts) when complete
}

// appliedFiles lists what the history applied, in version order, and sets
// rep.Version to the newest applied version.
func appliedFiles(ctx context.Context, src *upgrade.Source, dir *migdir.Dir, rep *Report) ([]applied, error) {
	_, revs, err := src.Revisions(ctx, src.DB(), "drift")
	if err != nil {
		return nil, err
	}
	dirPath := src.Dir()
	var todo []applied
	for _, r := range revs {
		f := dir.Find(r.Version)
		if f == nil {
			if dir.SquashCovering(r.Version) != nil {
				continue // a file squashed away: its squash is replayed at its last version
			}
			if r.Applied == 0 && !r.Done() {
				continue // a failed first statement: nothing of it ran
			}
			return nil, fmt.Errorf("drift: version %s is recorded as applied but no file in %s has that version: restore the file from version control before comparing the database with its history", r.Version, dirPath)
		}
		n := len(f.Stmts)
		if !r.Done() {
			if n = min(r.Applied, len(f.Stmts)); n == 0 {
				continue
			}
		}
		todo = append(todo, applied{file: f, n: n})
		rep.Version = r.Version
	}
	return todo, nil
}

// replayApplied replays on dev what the history applied: whole files in
// batches, and only the statements that ran of a partially applied file.
func replayApplied(ctx context.Context, dev *sql.DB, dia string, todo []applied, rep *Report) error {
	var batch []migrate.File
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := plan.Replay(ctx, dev, dia, batch, "")
		rep.Replayed += n
		batch = nil
		if err != nil {
			return fmt.Errorf("drift: %w", err)
		}
		return nil
	}
	for _, a := range todo {
		if a.n == len(a.file.Stmts) {
			batch = append(batch, migrate.NewLocalFile(a.file.Name, a.file.Bytes))
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		for i, st := range a.file.Stmts[:a.n] {
			if _, err := dev.ExecContext(ctx, st.Text); err != nil {
				return fmt.Errorf("drift: replaying %s, statement %d (line %d) on the dev database: %s: fix the file or the dev database",
					a.file.Name, i+1, st.Line, errtext.OneLine(err))
			}
		}
		rep.Partial, rep.PartialApplied = a.file.Name, a.n
	}
	return flush()
}

// compareWithHistory compares the live database with the replayed history
// on dev and records the differences in rep.
func compareWithHistory(ctx context.Context, dev, db *sql.DB, u *dbconn.URL, rep *Report) error {
	want, err := liveschema.Inspect(ctx, dev, u.Dialect)
	if err != nil {
		return fmt.Errorf("drift: reading the replayed history: %w", err)
	}
	got, err := liveschema.Inspect(ctx, db, u.Dialect)
	if err != nil {
		return fmt.Errorf("drift: reading %s: %w", u.Redacted(), err)
	}
	drv, err := liveschema.Driver(dev, u.Dialect)
	if err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	if rep.Differences, err = Compare(u.Dialect, drv, want, got); err != nil {
		return fmt.Errorf("drift: comparing %s with its history: %w", u.Redacted(), err)
	}
	rep.Clean = len(rep.Differences) == 0
	return nil
}

// readyDev refuses a MySQL history declared for another flavour than the
// live database's, and readies dev to replay it (liveschema.PrepareDev).
func readyDev(ctx context.Context, dev, db *sql.DB, u *dbconn.URL, dirPath string, dir *migdir.Dir) error {
	if u.Dialect == dialect.MySQL {
		if err := flavor.CheckDatabase(ctx, db, u.Redacted(), dirPath, flavor.FromDir(dir.Files)); err != nil {
			return fmt.Errorf("drift: %w", err)
		}
	}
	if err := liveschema.PrepareDev(ctx, dev, db, u.Dialect, plan.DevURLVariable(plan.MySQL)); err != nil {
		return fmt.Errorf("drift: comparing %s with its history: %w", u.Redacted(), err)
	}
	return nil
}

// Compare diffs two inspected schemas of the dialect dia with drv (Atlas's
// driver for that dialect) and names each difference: want is what the
// history builds, got the live database. Names of the schemas may differ
// (MySQL's are the databases'); values that are not schema, such as MySQL's
// AUTO_INCREMENT counter, are ignored.
func Compare(dia string, drv migrate.Driver, want, got *schema.Schema) ([]Difference, error) {
	d, err := liveschema.Dialect(dia)
	if err != nil {
		return nil, err
	}
	f := formatters[d]
	want, got = normalize(want), normalize(got)
	got.Name = want.Name
	changes, err := drv.SchemaDiff(want, got)
	if err != nil {
		return nil, err
	}
	var out []Difference
	for _, ch := range changes {
		out = append(out, f.describe(ch)...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Column+a.Index < b.Column+b.Index
	})
	return out, nil
}

// normalize removes MySQL's AUTO_INCREMENT counter from s's tables (in
// place: it is data, not schema, and grows with every insert) and returns
// a copy of s's header.
func normalize(s *schema.Schema) *schema.Schema {
	c := *s
	for _, t := range c.Tables {
		kept := t.Attrs[:0]
		for _, a := range t.Attrs {
			if _, ok := a.(*mysql.AutoIncrement); ok {
				continue
			}
			kept = append(kept, a)
		}
		t.Attrs = kept
	}
	return &c
}

// formatter renders column types the way the dialect writes them.
type formatter func(schema.Type) (string, error)

var formatters = map[string]formatter{
	dialect.SQLite:   sqlite.FormatType,
	dialect.Postgres: postgres.FormatType,
	dialect.MySQL:    mysql.FormatType,
}

// describe names the differences one Atlas change stands for.
func (f formatter) describe(ch schema.Change) []Difference {
	switch ch := ch.(type) {
	case *schema.AddTable:
		return []Difference{{Kind: TableAdded, Table: ch.T.Name, Detail: columnList(ch.T)}}
	case *schema.DropTable:
		return []Difference{{Kind: TableDropped, Table: ch.T.Name, Detail: columnList(ch.T)}}
	case *schema.ModifyTable:
		var out []Difference
		for _, c := range ch.Changes {
			out = append(out, f.describeTable(ch.T, c))
		}
		return out
	case *schema.AddObject:
		return []Difference{{Kind: ObjectAdded, Index: objectName(ch.O), Detail: objectDetail(ch.O)}}
	case *schema.DropObject:
		return []Difference{{Kind: ObjectDropped, Index: objectName(ch.O), Detail: objectDetail(ch.O)}}
	case *schema.ModifyObject:
		return []Difference{{Kind: ObjectChanged, Index: objectName(ch.To), Detail: objectDetail(ch.From) + " -> " + objectDetail(ch.To)}}
	case *schema.ModifySchema:
		return []Difference{{Kind: SchemaChanged, Detail: attrChanges(ch.Changes)}}
	}
	return []Difference{{Kind: SchemaChanged, Detail: fmt.Sprintf("%T", ch)}}
}

func (f formatter) describeTable(t *schema.Table, c schema.Change) Difference {
	d := Difference{Table: t.Name}
	switch c := c.(type) {
	case *schema.AddColumn:
		d.Kind, d.Column, d.Detail = ColumnAdded, c.C.Name, f.columnType(c.C)
	case *schema.DropColumn:
		d.Kind, d.Column, d.Detail = ColumnDropped, c.C.Name, f.columnType(c.C)
	case *schema.ModifyColumn:
		d.Kind, d.Column, d.Detail = ColumnChanged, c.To.Name, f.columnChange(c)
	case *schema.RenameColumn:
		d.Kind, d.Column, d.Detail = ColumnChanged, c.To.Name, "renamed from "+c.From.Name
	case *schema.AddIndex:
		d.Kind, d.Index, d.Detail = IndexAdded, c.I.Name, indexDetail(c.I)
	case *schema.DropIndex:
		d.Kind, d.Index, d.Detail = IndexDropped, c.I.Name, indexDetail(c.I)
	case *schema.ModifyIndex:
		d.Kind, d.Index, d.Detail = IndexChanged, c.To.Name, indexDetail(c.From)+" -> "+indexDetail(c.To)
	case *schema.RenameIndex:
		d.Kind, d.Index, d.Detail = IndexChanged, c.To.Name, "renamed from "+c.From.Name
	case *schema.AddPrimaryKey:
		d.Kind, d.Detail = PrimaryKeyChanged, "none -> "+indexDetail(c.P)
	case *schema.DropPrimaryKey:
		d.Kind, d.Detail = PrimaryKeyChanged, indexDetail(c.P)+" -> none"
	case *schema.ModifyPrimaryKey:
		d.Kind, d.Detail = PrimaryKeyChanged, indexDetail(c.From)+" -> "+indexDetail(c.To)
	case *schema.AddForeignKey:
		d.Kind, d.Index, d.Detail = ForeignKeyAdded, c.F.Symbol, fkDetail(c.F)
	case *schema.DropForeignKey:
		d.Kind, d.Index, d.Detail = ForeignKeyDropped, c.F.Symbol, fkDetail(c.F)
	case *schema.ModifyForeignKey:
		d.Kind, d.Index, d.Detail = ForeignKeyChanged, c.To.Symbol, fkDetail(c.From)+" -> "+fkDetail(c.To)
	case *schema.AddCheck:
		d.Kind, d.Index, d.Detail = CheckAdded, c.C.Name, c.C.Expr
	case *schema.DropCheck:
		d.Kind, d.Index, d.Detail = CheckDropped, c.C.Name, c.C.Expr
	case *schema.ModifyCheck:
		d.Kind, d.Index, d.Detail = CheckChanged, c.To.Name, c.From.Expr+" -> "+c.To.Expr
	case *schema.AddAttr, *schema.DropAttr, *schema.ModifyAttr:
		d.Kind, d.Detail = TableChanged, attrChanges([]schema.Change{c})
	default:
		d.Kind, d.Detail = TableChanged, fmt.Sprintf("%T", c)
	}
	return d
}

// columnType renders a column's type and nullability, e.g. "bigint NULL".
func (f formatter) columnType(c *schema.Column) string {
	if c.Type == nil {
		return ""
	}
	s := f.typeName(c.Type.Type, c.Type.Raw)
	if c.Type.Null {
		return s + " NULL"
	}
	return s + " NOT NULL"
}

// typeName renders a type with its size ("varchar(100)"); the inspected
// raw name, which may lack it, is the fallback.
func (f formatter) typeName(t schema.Type, raw string) string {
	if strings.Contains(raw, "(") {
		return raw
	}
	if f != nil {
		if s, err := f(t); err == nil && s != "" {
			return s
		}
	}
	if raw != "" {
		return raw
	}
	return fmt.Sprintf("%T", t)
}

// columnChange renders what changed in a column, history first.
func (f formatter) columnChange(m *schema.ModifyColumn) string {
	var parts []string
	if m.Change.Is(schema.ChangeType) && m.From.Type != nil && m.To.Type != nil {
		parts = append(parts, "type "+f.typeName(m.From.Type.Type, m.From.Type.Raw)+" -> "+f.typeName(m.To.Type.Type, m.To.Type.Raw))
	}
	if m.Change.Is(schema.ChangeNull) && m.From.Type != nil && m.To.Type != nil {
		parts = append(parts, nullName(m.From.Type.Null)+" -> "+nullName(m.To.Type.Null))
	}
	if m.Change.Is(schema.ChangeDefault) {
		parts = append(parts, "default "+exprString(m.From.Default)+" -> "+exprString(m.To.Default))
	}
	if m.Change.Is(schema.ChangeGenerated) {
		parts = append(parts, "generated expression changed")
	}
	if m.Change.Is(schema.ChangeComment) {
		parts = append(parts, "comment changed")
	}
	if m.Change.Is(schema.ChangeCharset) {
		parts = append(parts, "charset changed")
	}
	if m.Change.Is(schema.ChangeCollate) {
		parts = append(parts, "collation changed")
	}
	if m.Change.Is(schema.ChangeAttr) {
		parts = append(parts, "attributes changed")
	}
	if len(parts) == 0 {
		return "changed"
	}
	return strings.Join(parts, "; ")
}

func nullName(null bool) string {
	if null {
		return "NULL"
	}
	return "NOT NULL"
}

func exprString(e schema.Expr) string {
	switch e := e.(type) {
	case nil:
		return "none"
	case *schema.Literal:
		return e.V
	case *schema.RawExpr:
		return e.X
	}
	return fmt.Sprintf("%v", e)
}

func indexDetail(i *schema.Index) string {
	var cols []string
	for _, p := range i.Parts {
		switch {
		case p.C != nil:
			cols = append(cols, p.C.Name)
		case p.X != nil:
			cols = append(cols, exprString(p.X))
		}
	}
	s := "on (" + strings.Join(cols, ", ") + ")"
	if i.Unique {
		s = "unique " + s
	}
	return s
}

func fkDetail(f *schema.ForeignKey) string {
	var cols, refs []string
	for _, c := range f.Columns {
		cols = append(cols, c.Name)
	}
	for _, c := range f.RefColumns {
		refs = append(refs, c.Name)
	}
	ref := ""
	if f.RefTable != nil {
		ref = f.RefTable.Name
	}
	s := fmt.Sprintf("(%s) -> %s(%s)", strings.Join(cols, ", "), ref, strings.Join(refs, ", "))
	if f.OnDelete != "" {
		s += " ON DELETE " + string(f.OnDelete)
	}
	return s
}

func columnList(t *schema.Table) string {
	var cols []string
	for _, c := range t.Columns {
		cols = append(cols, c.Name)
	}
	return "columns: " + strings.Join(cols, ", ")
}

func objectName(o schema.Object) string {
	if e, ok := o.(*schema.EnumType); ok {
		return e.T
	}
	return fmt.Sprintf("%T", o)
}

func objectDetail(o schema.Object) string {
	if e, ok := o.(*schema.EnumType); ok {
		return "enum (" + strings.Join(e.Values, ", ") + ")"
	}
	return ""
}

func attrChanges(cs []schema.Change) string {
	var parts []string
	for _, c := range cs {
		switch c := c.(type) {
		case *schema.AddAttr:
			parts = append(parts, "added "+attrString(c.A))
		case *schema.DropAttr:
			parts = append(parts, "dropped "+attrString(c.A))
		case *schema.ModifyAttr:
			parts = append(parts, attrString(c.From)+" -> "+attrString(c.To))
		default:
			parts = append(parts, fmt.Sprintf("%T", c))
		}
	}
	return strings.Join(parts, "; ")
}

func attrString(a schema.Attr) string {
	switch a := a.(type) {
	case *schema.Comment:
		return "comment " + fmt.Sprintf("%q", a.Text)
	case *schema.Charset:
		return "charset " + a.V
	case *schema.Collation:
		return "collation " + a.V
	}
	return strings.TrimPrefix(fmt.Sprintf("%T %+v", a, a), "*")
}
