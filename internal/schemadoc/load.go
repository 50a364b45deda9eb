// Package schemadoc renders a schema as a picture: the models, a live
// database or the history at a version, as SQL for a dialect or as an
// entity-relationship diagram in Mermaid, and the Markdown page
// (docs/schema.md) that `db check` keeps current. It never prints.
package schemadoc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/mysql"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlite"
	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/weber-framework/weber/internal/dialect"
	"github.com/weber-framework/weber/internal/liveschema"
	"github.com/weber-framework/weber/internal/plan"
)

// Options says which schema Load reads and for which dialect.
type Options struct {
	// Dialect is the SQL dialect (sqlite, postgres, mysql); default sqlite.
	// With Live it must be the live database's.
	Dialect string
	// DevURL names the server for a scratch database (postgres, mysql);
	// SQLite needs none.
	DevURL string
	// Tables are the models: ent's migrate.Tables. Used unless Live or At.
	Tables []*entschema.Table
	// Live, when set, is inspected instead of the models (read-only).
	Live *sql.DB
	// Dir is the dialect's migration folder, for At.
	Dir string
	// At, when set, is a version of the history in Dir: the schema after
	// replaying the files up to it on a scratch database.
	At string
}

// Schema is a loaded schema with the statements that create it.
type Schema struct {
	// Dialect is the dialect's folder name.
	Dialect string
	// Source says where the schema comes from: "models", "live database" or
	// "history at VERSION".
	Source string
	// Schema is the schema; every column's Type.Raw is filled.
	Schema *schema.Schema
	// Statements create the schema on an empty database, in order.
	Statements []string
}

// UnknownVersionError is At naming a version that is not in the folder.
type UnknownVersionError struct {
	Version, Dir string
}

func (e *UnknownVersionError) Error() string {
	return fmt.Sprintf("version %s is not in %s: run `weberctl db history` to list the versions", e.Version, e.Dir)
}

// Load reads the schema opts names and plans the statements that create it.
func Load(ctx context.Context, opts Options) (*Schema, error) {
	if opts.Dialect == "" {
		opts.Dialect = plan.SQLite
	}
	if opts.Live != nil {
		return fromLive(ctx, opts)
	}
	// The project's dev setup file (plan.DevSetupFile) runs before a replay.
	root := ""
	if opts.At != "" {
		root = filepath.Dir(filepath.Clean(opts.Dir))
	}
	dev, err := plan.OpenDev(ctx, plan.DevOptions{Dialect: opts.Dialect, URL: opts.DevURL, Root: root})
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	out, err := fromDev(ctx, dev.DB, opts)
	return out, errors.Join(err, dev.Close())
}

func fromLive(ctx context.Context, opts Options) (*Schema, error) {
	drv, err := liveschema.Driver(opts.Live, opts.Dialect)
	if err != nil {
		return nil, err
	}
	s, err := liveschema.InspectWith(ctx, drv)
	if err != nil {
		return nil, err
	}
	return finish(ctx, drv, opts.Dialect, "live database", s)
}

// fromDev reads the models, or the history up to At, on an empty dev db.
func fromDev(ctx context.Context, db *sql.DB, opts Options) (*Schema, error) {
	drv, err := liveschema.Driver(db, opts.Dialect)
	if err != nil {
		return nil, err
	}
	if opts.At == "" {
		s, err := plan.Desired(ctx, db, opts.Dialect, opts.Tables)
		if err != nil {
			return nil, err
		}
		return finish(ctx, drv, opts.Dialect, "models", s)
	}
	files, err := plan.ReadHistory(opts.Dir)
	if err != nil {
		return nil, err
	}
	found := false
	for _, f := range files {
		found = found || f.Version() == opts.At
	}
	if !found {
		return nil, &UnknownVersionError{Version: opts.At, Dir: opts.Dir}
	}
	if _, err := plan.Replay(ctx, db, opts.Dialect, files, opts.At); err != nil {
		return nil, fmt.Errorf("schema: replaying %s up to %s: %w", filepath.Clean(opts.Dir), opts.At, err)
	}
	s, err := liveschema.InspectWith(ctx, drv)
	if err != nil {
		return nil, err
	}
	return finish(ctx, drv, opts.Dialect, "history at "+opts.At, s)
}

// finish fills the raw types and plans the CREATE statements.
func finish(ctx context.Context, drv atlasmigrate.Driver, dia, source string, s *schema.Schema) (*Schema, error) {
	folder, err := folder(dia)
	if err != nil {
		return nil, err
	}
	for _, t := range s.Tables {
		for _, c := range t.Columns {
			if c.Type != nil && c.Type.Raw == "" && c.Type.Type != nil {
				if raw, err := formatType(folder, c.Type.Type); err == nil {
					c.Type.Raw = raw
				}
			}
		}
	}
	out := &Schema{Dialect: folder, Source: source, Schema: s}
	changes := make([]schema.Change, 0, len(s.Tables))
	for _, t := range createOrder(s.Tables) {
		changes = append(changes, &schema.AddTable{T: t})
	}
	if len(changes) == 0 {
		return out, nil
	}
	mp, err := drv.PlanChanges(ctx, "schema", changes, func(o *atlasmigrate.PlanOptions) {
		none := ""
		o.SchemaQualifier = &none
	})
	if err != nil {
		return nil, fmt.Errorf("schema: writing the %s statements: %w", folder, err)
	}
	for _, c := range mp.Changes {
		out.Statements = append(out.Statements, c.Cmd)
	}
	return out, nil
}

func folder(dia string) (string, error) {
	d, err := dialect.Parse(dia)
	if err != nil {
		return "", err
	}
	return d.Folder(), nil
}

func formatType(folder string, t schema.Type) (string, error) {
	switch folder {
	case plan.Postgres:
		return postgres.FormatType(t)
	case plan.MySQL:
		return mysql.FormatType(t)
	}
	return sqlite.FormatType(t)
}

// createOrder puts every table after the tables its foreign keys
// reference (a cycle keeps the given order), so servers that check
// references at CREATE TABLE accept the script.
func createOrder(tables []*schema.Table) []*schema.Table {
	var out []*schema.Table
	done := map[*schema.Table]bool{}
	visiting := map[*schema.Table]bool{}
	var visit func(t *schema.Table)
	visit = func(t *schema.Table) {
		if done[t] || visiting[t] {
			return
		}
		visiting[t] = true
		for _, fk := range t.ForeignKeys {
			if fk.RefTable != nil && fk.RefTable != t {
				for _, o := range tables {
					if o == fk.RefTable || o.Name == fk.RefTable.Name {
						visit(o)
					}
				}
			}
		}
		done[t] = true
		out = append(out, t)
	}
	for _, t := range tables {
		visit(t)
	}
	return out
}
