// Package templates is the one contract between internal/testdb and its
// per-backend template builders: internal/testdb/sqlitesnap (SQLite),
// internal/testdb/pgtemplate (PostgreSQL) and internal/testdb/mysqlclone
// (MySQL/MariaDB). Each builds a migrated template once and copies it for
// every test; what it builds is a Migrator, as in pgtestdb: a Hash naming
// the schema and a Migrate function building it in an empty database.
package templates

import (
	"context"
	"database/sql"
	"errors"

	"github.com/weber-framework/weber/internal/dbconn"
)

// MigrateFunc migrates the empty database db, which u names: on SQLite a
// file in a temporary directory opened by dbconn.Open (foreign keys on,
// WAL), on a server a database the builder has just created. The builder
// closes db when MigrateFunc returns; MigrateFunc must close any other
// connection it opened to u (the builder then snapshots, renames or reads
// the database).
type MigrateFunc func(ctx context.Context, db *sql.DB, u *dbconn.URL) error

// Migrator is what a template is built from.
type Migrator struct {
	// Hash names the schema Migrate builds: two Migrators with the same
	// Hash must build the same schema, since a builder that finds a
	// template of that Hash (in its process, or on the server) uses it
	// without calling Migrate. The server builders put its first 16
	// characters in the template's name, so they take only hex (see
	// internal/testdb/schemakey).
	Hash string
	// Migrate builds the schema in an empty database.
	Migrate MigrateFunc
}

// Check returns an error naming pkg when m cannot build a template: no
// Hash or no Migrate.
func (m Migrator) Check(pkg string) error {
	if m.Hash == "" || m.Migrate == nil {
		return errors.New(pkg + ": a Migrator needs a Hash and a Migrate function")
	}
	return nil
}
