// Package liveschema reads the application's tables from a live database
// through Atlas's inspectors, for the data-aware checks (datagen,
// fingerprint, preflight, verify). It owns the small facts those packages
// share: which tables are Weber's own bookkeeping and never the
// application's, and how to quote identifiers and write placeholders on
// each dialect. Dialect names are read by internal/dialect.
package liveschema

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/mysql"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlite"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/dialect"
)

// OwnTables are the bookkeeping tables Weber and Atlas keep in an
// application database: the revision table and the environment mark. They
// are never filled, fingerprinted or diffed.
var OwnTables = []string{"atlas_schema_revisions", "weber_metadata"}

// Dialect returns ent's dialect name ("sqlite3", "postgres", "mysql") for
// any spelling dialect.Parse accepts, including the migration folder names
// ("sqlite").
func Dialect(name string) (string, error) {
	d, err := dialect.Parse(name)
	if err != nil {
		return "", err
	}
	return d.Ent(), nil
}

// Driver opens Atlas's driver for the dialect on db (a *sql.DB, *sql.Conn
// or *sql.Tx).
func Driver(db schema.ExecQuerier, dia string) (migrate.Driver, error) {
	d, err := dialect.Parse(dia)
	if err != nil {
		return nil, err
	}
	var drv migrate.Driver
	switch d {
	case dialect.SQLite:
		drv, err = sqlite.Open(db)
	case dialect.Postgres:
		drv, err = postgres.Open(db)
	case dialect.MySQL:
		drv, err = mysql.Open(db)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the schema inspector for %s: %w", d.Ent(), err)
	}
	return drv, nil
}

// Inspect returns the application's tables in the connection's current
// schema, without Weber's own tables (OwnTables) and SQLite's internal ones.
func Inspect(ctx context.Context, db schema.ExecQuerier, dia string) (*schema.Schema, error) {
	drv, err := Driver(db, dia)
	if err != nil {
		return nil, err
	}
	return InspectWith(ctx, drv)
}

// InspectWith is Inspect with an already opened Atlas driver.
func InspectWith(ctx context.Context, drv migrate.Driver) (*schema.Schema, error) {
	s, err := drv.InspectSchema(ctx, "", &schema.InspectOptions{Exclude: OwnTables})
	if err != nil {
		return nil, fmt.Errorf("inspecting the database schema: %w", err)
	}
	kept := s.Tables[:0]
	for _, t := range s.Tables {
		if strings.HasPrefix(t.Name, "sqlite_") || isOwn(t.Name) {
			continue
		}
		kept = append(kept, t)
	}
	s.Tables = kept
	return s, nil
}

func isOwn(name string) bool {
	for _, o := range OwnTables {
		if strings.EqualFold(o, name) {
			return true
		}
	}
	return false
}

// Quote quotes an identifier for the dialect, named either way (its
// folder or ent's name): dbconn.QuoteIdent.
func Quote(dia, name string) string {
	d, _ := dialect.Parse(dia)
	return dbconn.QuoteIdent(d.Ent(), name)
}

// Placeholder returns the n-th (1-based) bind placeholder for the dialect.
func Placeholder(dia string, n int) string {
	if d, _ := dialect.Parse(dia); d == dialect.Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// Table returns the named table of s, or nil.
func Table(s *schema.Schema, name string) *schema.Table {
	if s == nil {
		return nil
	}
	for _, t := range s.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Column returns the named column of t, or nil.
func Column(t *schema.Table, name string) *schema.Column {
	if t == nil {
		return nil
	}
	for _, c := range t.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// AutoIncrement reports whether the database assigns the column's values
// itself: SQLite AUTOINCREMENT or an INTEGER PRIMARY KEY (a rowid alias),
// PostgreSQL identity and serial columns or a nextval() default, MySQL
// AUTO_INCREMENT.
func AutoIncrement(t *schema.Table, c *schema.Column) bool {
	for _, a := range c.Attrs {
		switch a.(type) {
		case *sqlite.AutoIncrement, *postgres.Identity, *mysql.AutoIncrement:
			return true
		}
	}
	if c.Type != nil {
		if _, ok := c.Type.Type.(*postgres.SerialType); ok {
			return true
		}
	}
	if x, ok := c.Default.(*schema.RawExpr); ok && strings.Contains(strings.ToLower(x.X), "nextval(") {
		return true
	}
	// SQLite: a single-column INTEGER PRIMARY KEY is the rowid.
	if t.PrimaryKey != nil && len(t.PrimaryKey.Parts) == 1 && t.PrimaryKey.Parts[0].C == c && c.Type != nil {
		if it, ok := c.Type.Type.(*schema.IntegerType); ok && strings.EqualFold(it.T, "integer") {
			return isSQLite(t)
		}
	}
	return false
}

// isSQLite reports whether t was inspected from SQLite (its schema is
// "main" or it carries SQLite attributes) and is a rowid table.
func isSQLite(t *schema.Table) bool {
	sqliteAttr := false
	for _, a := range t.Attrs {
		switch a.(type) {
		case *sqlite.WithoutRowID:
			return false
		case *sqlite.CreateStmt:
			sqliteAttr = true
		}
	}
	return sqliteAttr || t.Schema != nil && t.Schema.Name == "main"
}

// Generated reports whether the column is computed by the database (a
// generated column), so that no value may be written to it.
func Generated(c *schema.Column) bool {
	for _, a := range c.Attrs {
		if _, ok := a.(*schema.GeneratedExpr); ok {
			return true
		}
	}
	return false
}
