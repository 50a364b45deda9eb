package plan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/mysql"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlite"
	entsql "entgo.io/ent/dialect/sql"
	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/weber-framework/weber/internal/liveschema"
	"github.com/weber-framework/weber/weberschema"
)

// Options tunes Models.
type Options struct {
	// AllowDestructive lets the plan drop tables, columns and indexes and
	// narrow column types. Without it those changes are left out of the
	// plan and listed in Plan.LeftOut.
	AllowDestructive bool
	// Logger receives debug messages; nil discards.
	Logger *slog.Logger
	// DevURL names, for PostgreSQL and MySQL, the server where Models may
	// create an empty scratch database to normalise the models on (see
	// normalizeDesired); without it a server's models are compared as ent
	// writes them. SQLite always normalises in memory. Revise, Check and
	// ModelsAhead always normalise on their own dev database.
	DevURL string
	// Renames are the renames the models declare (ent's migrate.Renames):
	// planned as RENAME TABLE / RENAME COLUMN where the history still has
	// the old name.
	Renames []weberschema.Rename
	// NotRenamed are dropped and added columns the user said are not a
	// rename: they are not listed in Plan.RenameCandidates.
	NotRenamed []weberschema.Rename
	// rehearse applies the planned file on the dev database before it is
	// accepted (Revise).
	rehearse bool
}

// Statement is one planned SQL statement.
type Statement struct {
	SQL     string // without the trailing semicolon
	Comment string // what it does, e.g. `add column "bio" to table: "users"`
	// Destructive reports a statement that drops a table, column or index
	// or narrows a column type (or is part of a table rebuild that does).
	Destructive bool
}

// LeftOut is a destructive change that a plan did not include.
type LeftOut struct {
	Kind   string // "DROP TABLE", "DROP COLUMN", "DROP INDEX" or "MODIFY COLUMN"
	Table  string
	Name   string // the column or index; "" for a table
	Detail string // e.g. "varchar(255) -> varchar(100)", or "kept as nullable"
}

// String renders the change as the CLI prints it: "DROP COLUMN users.bio".
func (l LeftOut) String() string {
	s := l.Kind + " " + l.Table
	if l.Name != "" {
		s += "." + l.Name
	}
	if l.Detail != "" {
		s += " (" + l.Detail + ")"
	}
	return s
}

// Plan is the difference from a history's state to the models, for one
// dialect.
type Plan struct {
	// Dialect is the folder name: sqlite, postgres or mysql.
	Dialect string
	// Changes are Atlas's schema changes the statements carry out.
	Changes []schema.Change
	// Statements are the planned statements, in order.
	Statements []Statement
	// LeftOut lists the destructive changes not planned (AllowDestructive
	// was not given).
	LeftOut []LeftOut
	// Findings are the lint findings on the planned file.
	Findings []Finding
	// RenameCandidates are columns a table drops while it adds one of the
	// same kind of type, with no rename declared (Options.Renames) or
	// denied (Options.NotRenamed): each may be a rename.
	RenameCandidates []weberschema.Rename
	// DoneRenames are the declared renames the history already holds (the
	// old name is gone, the new one there): their annotations may go.
	DoneRenames []weberschema.Rename
	// renamed are the tables a declared rename touches (new names).
	renamed []string
	// Content is the migration file's content (empty when there is no
	// change), with a `-- atlas:nolint destructive` directive above each
	// statement that destroys data when AllowDestructive was given.
	Content []byte
}

// Empty reports whether the history already matches the models (apart
// from what was left out).
func (p *Plan) Empty() bool { return len(p.Statements) == 0 }

// Ahead reports whether the models differ from the history at all,
// counting the destructive changes left out.
func (p *Plan) Ahead() bool { return len(p.Statements) > 0 || len(p.LeftOut) > 0 }

// openAtlas opens Atlas's driver for the dialect on db.
func openAtlas(dia string, db schema.ExecQuerier) (migrate.Driver, error) {
	folder, err := folderName(dia)
	if err != nil {
		return nil, err
	}
	var drv migrate.Driver
	switch folder {
	case SQLite:
		drv, err = sqlite.Open(sqliteQuerier{db})
	case Postgres:
		drv, err = postgres.Open(db)
	default:
		drv, err = mysql.Open(db)
	}
	if err != nil {
		return nil, wrapf("opening Atlas's "+folder+" driver on the dev database", err)
	}
	return drv, nil
}

// Models plans the statements that bring db, a dev database holding a
// replayed history, to the models described by tables (ent's
// migrate.Tables). Weber's own tables are ignored. Destructive changes are
// left out unless opts.AllowDestructive; the planned statements are linted.
// tables is not modified.
func Models(ctx context.Context, db *sql.DB, dia string, tables []*entschema.Table, opts Options) (*Plan, error) {
	folder, err := folderName(dia)
	if err != nil {
		return nil, err
	}
	desired, err := normalizedModels(ctx, db, folder, tables, opts.DevURL)
	if err != nil {
		return nil, err
	}
	return planTo(ctx, db, folder, desired, opts)
}

// normalizedModels is the models as the dialect's server stores them, for
// Models, whose db is not empty: SQLite normalises in memory, a server on
// an empty scratch database created where devURL names (and dropped). A
// server without devURL gets ent's own form.
func normalizedModels(ctx context.Context, db *sql.DB, folder string, tables []*entschema.Table, devURL string) (*schema.Schema, error) {
	if folder != SQLite && strings.TrimSpace(devURL) == "" {
		return Desired(ctx, db, folder, tables)
	}
	on := db
	if folder != SQLite {
		dev, cleanup, err := OpenScratch(ctx, folder, devURL)
		if err != nil {
			return nil, fmt.Errorf("planning %s: %w", folder, err)
		}
		defer cleanup()
		on = dev
	}
	desired, err := Desired(ctx, on, folder, tables)
	if err != nil {
		return nil, err
	}
	return normalizeDesired(ctx, on, folder, "", desired)
}

// Desired converts the models to Atlas's schema for the dialect, the way
// ent's own planner does. It asks db for the server's version (and ent
// inspects db's copies of the model tables, so an empty dev database is the
// cheapest place to call it).
func Desired(ctx context.Context, db *sql.DB, dia string, tables []*entschema.Table) (*schema.Schema, error) {
	folder, err := folderName(dia)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, fmt.Errorf("planning %s: no model tables given: pass ent's migrate.Tables", folder)
	}
	desired, err := desiredSchema(ctx, db, folder, tables)
	if err != nil {
		return nil, wrapf("planning "+folder+": reading the models", err)
	}
	return desired, nil
}

// planTo plans db, a replayed dev database, to desired (from Desired, not
// shared with another call: it is edited to leave changes out).
func planTo(ctx context.Context, db *sql.DB, folder string, desired *schema.Schema, opts Options) (*Plan, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	drv, err := openAtlas(folder, db)
	if err != nil {
		return nil, err
	}
	current, err := InspectTables(ctx, drv)
	if err != nil {
		return nil, wrapf("planning "+folder+": inspecting the dev database", err)
	}
	renames, renamed, done := applyRenames(current, opts.Renames)
	desired.Name, desired.Attrs = current.Name, current.Attrs
	changes, err := TableChanges(drv, current, desired)
	if err != nil {
		return nil, wrapf("planning "+folder+": comparing the history with the models", err)
	}
	p := &Plan{Dialect: folder, renamed: renamed, DoneRenames: done}
	changes = renameIndexes(changes, renamed)
	p.RenameCandidates = renameCandidates(changes, opts.NotRenamed)
	if !opts.AllowDestructive {
		if changes, err = p.leaveOutDestructive(drv, current, desired, changes); err != nil {
			return nil, err
		}
	}
	changes = mergeRenames(renames, changes)
	p.Changes = changes
	if len(changes) == 0 {
		return p, nil
	}
	validate, online := safeForms(folder, changes)
	mp, err := drv.PlanChanges(ctx, "weber", changes, func(o *migrate.PlanOptions) {
		noQualifier := ""
		o.SchemaQualifier = &noQualifier
	})
	if err != nil {
		return nil, wrapf("planning "+folder+": writing the statements", err)
	}
	header, err := flavorHeader(ctx, db, folder)
	if err != nil {
		return nil, err
	}
	if header != "" {
		mp.Directives = append([]string{header}, mp.Directives...)
	}
	if online {
		onlineFile(mp, validate)
	}
	for _, c := range mp.Changes {
		p.Statements = append(p.Statements, Statement{
			SQL:         c.Cmd,
			Comment:     c.Comment,
			Destructive: isDestructiveSource(folder, c.Source),
		})
	}
	if err := lintPlan(ctx, folder, drv, changes, mp, opts.AllowDestructive, p); err != nil {
		return nil, err
	}
	log.Debug("planned", "dialect", folder, "statements", len(p.Statements), "left_out", len(p.LeftOut), "findings", len(p.Findings))
	return p, nil
}

// leaveOutDestructive records the destructive changes among changes in
// p.LeftOut and returns the changes planned again without them.
func (p *Plan) leaveOutDestructive(drv migrate.Driver, current, desired *schema.Schema, changes []schema.Change) ([]schema.Change, error) {
	folder := p.Dialect
	left := destructive(folder, changes)
	if len(left) == 0 {
		return changes, nil
	}
	p.LeftOut = left
	keep(desired, changes)
	changes, err := TableChanges(drv, current, desired)
	if err != nil {
		return nil, wrapf("planning "+folder+": comparing the history with the models", err)
	}
	changes = renameIndexes(changes, p.renamed)
	if still := destructive(folder, changes); len(still) > 0 {
		return nil, fmt.Errorf("planning %s: could not leave out %s: pass --allow-destructive to plan it", folder, still[0])
	}
	return changes, nil
}

// InspectTables reads the tables of the database drv is open on (its
// current schema), without Weber's own tables (liveschema.OwnTables).
func InspectTables(ctx context.Context, drv migrate.Driver) (*schema.Schema, error) {
	return drv.InspectSchema(ctx, "", &schema.InspectOptions{
		Mode:    schema.InspectSchemas | schema.InspectTables,
		Exclude: liveschema.OwnTables,
	})
}

// TableChanges compares the schemas and keeps the table changes, as ent
// does: tables added or dropped, and tables modified in some way.
func TableChanges(drv migrate.Driver, current, desired *schema.Schema) ([]schema.Change, error) {
	all, err := drv.SchemaDiff(current, desired)
	if err != nil {
		return nil, err
	}
	changes := make([]schema.Change, 0, len(all))
	for _, c := range all {
		switch c := c.(type) {
		case *schema.AddTable, *schema.DropTable:
			changes = append(changes, c)
		case *schema.ModifyTable:
			if len(c.Changes) > 0 {
				changes = append(changes, c)
			}
		}
	}
	return changes, nil
}

// desiredSchema converts ent's tables to Atlas's schema exactly as ent's
// own planner does (symbol hashing, dialect types, defaults, indexes),
// by running ent's diff with a hook that captures its desired state and
// plans nothing. It works on a deep copy of tables.
func desiredSchema(ctx context.Context, db *sql.DB, folder string, tables []*entschema.Table) (*schema.Schema, error) {
	copies, err := entschema.CopyTables(tables)
	if err != nil {
		return nil, err
	}
	ed, _ := entDialect(folder)
	var desired *schema.Schema
	capture := func(entschema.Differ) entschema.Differ {
		return entschema.DiffFunc(func(_, d *schema.Schema) ([]schema.Change, error) {
			desired = d
			return nil, nil
		})
	}
	m, err := entschema.NewMigrate(entsql.OpenDB(ed, db),
		entschema.WithDir(emptyDir{}),
		entschema.WithFormatter(migrate.DefaultFormatter),
		entschema.WithDiffHook(capture),
		entschema.WithMigrationMode(entschema.ModeInspect),
	)
	if err != nil {
		return nil, err
	}
	if err := m.NamedDiff(ctx, "weber", copies...); err != nil {
		return nil, err
	}
	if desired == nil {
		return nil, errors.New("ent produced no desired schema")
	}
	return desired, nil
}

// emptyDir is an empty migration directory: ent's planner needs one to run.
type emptyDir struct{}

func (emptyDir) Open(string) (fs.File, error)        { return nil, fs.ErrNotExist }
func (emptyDir) WriteFile(string, []byte) error      { return errors.New("emptyDir is read-only") }
func (emptyDir) Files() ([]migrate.File, error)      { return nil, nil }
func (emptyDir) Checksum() (migrate.HashFile, error) { return migrate.HashFile{}, nil }

// sqliteQuerier works around a slow query in the pinned Atlas's SQLite
// inspector: it lists a table's indexes with
//
//	FROM pragma_index_list('t') AS il JOIN sqlite_master AS m ON il.name = m.name
//
// which SQLite runs with sqlite_master outside, calling pragma_index_list
// once per schema object: inspecting N tables costs O(N²) (1-10 ms a table
// at 500 tables). CROSS JOIN keeps the join order as written, with the same
// rows.
type sqliteQuerier struct{ schema.ExecQuerier }

const (
	slowIndexJoin = " AS il JOIN sqlite_master AS m ON il.name = m.name"
	fastIndexJoin = " AS il CROSS JOIN sqlite_master AS m ON il.name = m.name"
)

// QueryContext rewrites the slow query and runs the rest as they are.
func (q sqliteQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.ExecQuerier.QueryContext(ctx, strings.Replace(query, slowIndexJoin, fastIndexJoin, 1), args...)
}
