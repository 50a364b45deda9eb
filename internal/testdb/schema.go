package testdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/upgrade"
)

// migrateSchema puts Weber's schema into a new test database. It is the one
// place the schema is built.
//
// When the dialect has a migration history (<root>/<folder>/atlas.sum, the
// root being the Migrations option or else the migrations folder at the
// module root, found by walking up from the working directory to go.mod),
// the history is replayed through internal/upgrade, exactly as production
// runs it, and db.MigrationsDir names the folder. Otherwise (no history for
// the dialect yet, or FromModels) the schema comes from the models through
// ent's Schema.Create.
//
// TODO(testdb v2, issue 5): replaying per test gets slower as the history
// grows; build the migrated schema once per process (SQLite snapshot,
// PostgreSQL template database, MySQL clone) keyed by a hash of the files.
func migrateSchema(ctx context.Context, db *DB, o *options) error {
	if !o.fromModels {
		dir, err := historyDir(o.migrations, db.Dialect)
		if err != nil {
			return err
		}
		if dir != "" {
			if _, err := upgrade.Upgrade(ctx, db.SQL, db.URL, dir, upgrade.Options{}); err != nil {
				return fmt.Errorf("replaying the migration files in %s: %w", dir, err)
			}
			db.MigrationsDir = dir
			return nil
		}
	}
	return db.Client.Schema.Create(ctx)
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
