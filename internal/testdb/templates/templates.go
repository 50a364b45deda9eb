// Package templates is the one contract between internal/testdb and its
// per-backend template builders: internal/testdb/sqlitesnap (SQLite),
// internal/testdb/pgtemplate (PostgreSQL) and internal/testdb/mysqlclone
// (MySQL/MariaDB). Each builds a migrated template once and copies it for
// every test; what it builds is a Migrator, as in pgtestdb: a Hash naming
// the schema and a Migrate function building it in an empty database.
//
// DropStale is the clean-up the two server builders share: when a new
// template is built, the templates of older hashes in the same namespace
// go.
package templates

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/scratchdb"
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

// DropStale drops, through conn (on a server of dialect dia, under the
// caller's template lock), the databases whose names start with one of
// prefixes, except keep and own (the database the server URL names), when
// nobody uses them (scratchdb.DropUnused), and logs each one dropped or
// kept. A listing error is logged: clean-up never fails a build.
func DropStale(ctx context.Context, conn scratchdb.Querier, dia, keep, own string, log *slog.Logger, prefixes ...string) {
	var stale []string
	for _, p := range prefixes {
		names, err := scratchdb.List(ctx, conn, dia, p)
		if err != nil {
			log.Warn("listing stale test templates", "err", err)
			return
		}
		for _, n := range names {
			if n != keep && n != own {
				stale = append(stale, n)
			}
		}
	}
	dropped, kept := scratchdb.DropUnused(ctx, conn, dia, stale, false)
	for _, k := range kept {
		log.Warn("keeping a stale test template", "database", k)
	}
	for _, n := range dropped {
		log.Info("dropped stale test template", "database", n)
	}
}
