package testdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	entsql "entgo.io/ent/dialect/sql"
	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/testdb/schemakey"
	"github.com/weber-framework/weber/internal/upgrade"
)

// recipe says how a test database's schema is built and names the result:
// every database built from the same recipe is the same, so one template
// serves them all.
type recipe struct {
	dialect string // ent's dialect name
	// dir is the migration history replayed, "" for the models (or empty).
	dir   string
	empty bool
	// tables are the models (the Tables option), for a recipe without dir.
	tables []*entschema.Table
	// key is the hash of what builds the schema (the history's files, or
	// the models), with the dialect: the template's name.
	key string
	// scope names, on a server, the group of templates a new key replaces:
	// the folder of a history inside the module (an edited history makes
	// its older template stale), "models", or, for a history outside the
	// module (a test's temporary folder), the key itself, so that
	// concurrent tests with different temporary histories never drop each
	// other's templates.
	scope string
}

// planSchema decides how the schema of a new database for dia is built.
//
// When the dialect has a migration history (<root>/<folder>/atlas.sum, the
// root being the Migrations option or else the migrations folder at the
// module root, found by walking up from the working directory to go.mod),
// the history is replayed through internal/upgrade, exactly as production
// runs it. Otherwise (no history for the dialect yet, or FromModels) the
// schema comes from the models through ent's Schema.Create.
func planSchema(o *options, dia string) (recipe, error) {
	r := recipe{dialect: dia}
	switch {
	case o.noSchema:
		r.empty, r.scope = true, "empty"
		r.key = schemakey.Of("testdb-empty", dia)
		return r, nil
	case !o.fromModels:
		dir, err := historyDir(o.migrations, dia)
		if err != nil {
			return r, err
		}
		if dir != "" {
			key, err := historyKey(dir, dia)
			if err != nil {
				return r, err
			}
			r.dir, r.key = dir, key
			if o.backend.URL != "" {
				r.scope = historyScope(dir, key)
			}
			return r, nil
		}
	}
	if len(o.tables) == 0 {
		return r, fmt.Errorf("no migration history for %s (%s) and no models: pass testdb.Tables(migrate.Tables), or testdb.Migrations(dir) naming the history", dia, historyHint(o.migrations))
	}
	r.tables = o.tables
	r.key = schemakey.Of("testdb-models", dia, modelsDescription(o.tables))
	r.scope = "models"
	return r, nil
}

// historyKey returns the key of the history in dir: the hash of its
// files' names and contents (schemakey.Dir) with the dialect. Hashing a
// long history costs more than copying its template, so the key is
// remembered per process for a listing of the folder (each file's name,
// size and modification time): any edit, even one atlas.sum does not
// reflect, changes the listing and the key is computed again.
func historyKey(dir, dia string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("reading the migration history %s: %w", dir, err)
	}
	var b strings.Builder
	b.WriteString(dia + "\x00" + dir)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return "", fmt.Errorf("reading the migration history %s: %w", dir, err)
		}
		fmt.Fprintf(&b, "\x00%s\x00%d\x00%d", e.Name(), info.Size(), info.ModTime().UnixNano())
	}
	listing := b.String()
	if key, ok := historyKeys.Load(listing); ok {
		return key.(string), nil
	}
	key, err := schemakey.Dir(dir, "testdb-history", dia)
	if err != nil {
		return "", err
	}
	historyKeys.Store(listing, key)
	return key, nil
}

// historyScope is "history:" and the folder relative to the module root
// when dir is inside the module, else "adhoc:" and the key.
func historyScope(dir, key string) string {
	if mod, err := moduleRoot(); err == nil {
		if abs, err := filepath.Abs(dir); err == nil {
			if rel, err := filepath.Rel(mod, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return "history:" + filepath.ToSlash(rel)
			}
		}
	}
	return "adhoc:" + key
}

// migrateSchema puts the recipe's schema into the empty database db, which
// u names. It is the one place the schema is built: each template is made
// by it, once per process (SQLite) or per server (PostgreSQL, MySQL), and
// every test database is a copy of a template.
func migrateSchema(ctx context.Context, db *sql.DB, u *dbconn.URL, r recipe) error {
	switch {
	case r.empty:
		return nil
	case r.dir != "":
		// The database is empty: its Go data migrations have no rows to
		// change (and the project's are not linked into this package).
		if _, err := upgrade.Upgrade(ctx, db, u, r.dir, upgrade.Options{SkipDataMigrations: true}); err != nil {
			return fmt.Errorf("replaying the migration files in %s: %w", r.dir, err)
		}
		return nil
	default:
		// ent writes into the tables it creates, and the models' tables are
		// shared by every parallel test: work on a copy. Not closed: db
		// belongs to the caller.
		tables, err := entschema.CopyTables(r.tables)
		if err != nil {
			return fmt.Errorf("copying the models' tables: %w", err)
		}
		m, err := entschema.NewMigrate(entsql.OpenDB(u.Dialect, db))
		if err != nil {
			return fmt.Errorf("creating the models' tables: %w", err)
		}
		if err := m.Create(ctx, tables...); err != nil {
			return fmt.Errorf("creating the models' tables: %w", err)
		}
		return nil
	}
}

// modelsDescription renders the models' tables as text, so that a change
// to a model changes the key of the schema built from them.
func modelsDescription(tables []*entschema.Table) string {
	var b strings.Builder
	names := func(cols []*entschema.Column) string {
		out := make([]string, len(cols))
		for i, c := range cols {
			out[i] = c.Name
		}
		return strings.Join(out, ",")
	}
	for _, t := range tables {
		fmt.Fprintf(&b, "table %q view=%v pk=%s\n", t.Name, t.View, names(t.PrimaryKey))
		for _, c := range t.Columns {
			types := make([]string, 0, len(c.SchemaType))
			for k, v := range c.SchemaType {
				types = append(types, k+"="+v)
			}
			slices.Sort(types)
			fmt.Fprintf(&b, " col %q %v size=%d null=%v uniq=%v inc=%v def=%#v enums=%q attr=%q coll=%q types=%q\n",
				c.Name, c.Type, c.Size, c.Nullable, c.Unique, c.Increment, c.Default, c.Enums, c.Attr, c.Collation, types)
		}
		for _, i := range t.Indexes {
			fmt.Fprintf(&b, " index %q uniq=%v cols=%s\n", i.Name, i.Unique, names(i.Columns))
		}
		for _, fk := range t.ForeignKeys {
			fmt.Fprintf(&b, " fk %q cols=%s ref=%q(%s) del=%q upd=%q\n", fk.Symbol, names(fk.Columns), fk.RefTable.Name, names(fk.RefColumns), fk.OnDelete, fk.OnUpdate)
		}
	}
	return b.String()
}

// historyDir returns the dialect's migration folder under root (the module
// root's migrations folder when root is ""), or "" when it has no atlas.sum.
func historyDir(root, dialect string) (string, error) {
	if root == "" {
		mod, err := moduleRoot()
		if err != nil {
			return "", err
		}
		root = filepath.Join(mod, "migrations")
	}
	dir, err := migdir.DialectDir(root, dialect)
	if err != nil {
		return "", err
	}
	switch _, err := os.Stat(filepath.Join(dir, migdir.SumFile)); {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("looking for the migration history: %w", err)
	}
	return dir, nil
}

// moduleRoot walks up from the working directory (a test's package folder)
// to the folder holding go.mod.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("finding the module root: no go.mod in %s or above: pass testdb.Migrations(dir) or testdb.FromModels()", wd)
		}
	}
}

// historyHint says where testdb looked for the history.
func historyHint(root string) string {
	if root == "" {
		return "looked in the module's migrations folder"
	}
	return "looked in " + root
}
