// Package envmark records in a database which environment it serves
// ("production", "staging", ...), so that a destructive command run against
// the wrong URL at 3 a.m. can recognise a production database and refuse.
//
// The mark lives in a one-row-per-key table, weber_metadata, that schema
// diffs must ignore (see Table).
package envmark

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
)

// Table is the name of the table holding the mark. Schema inspection and
// diffs exclude it, like the revision table.
const Table = "weber_metadata"

// Production is the environment name that protects a database from drops.
const Production = "production"

// IsProduction reports whether env names a production environment.
func IsProduction(env string) bool {
	e := strings.ToLower(strings.TrimSpace(env))
	return e == Production || e == "prod"
}

// Record stores env as the database's environment. An empty env leaves any
// earlier mark alone (a developer's ensure must not unmark production).
func Record(ctx context.Context, db *sql.DB, dia, env string) error {
	env = strings.TrimSpace(env)
	if env == "" {
		return nil
	}
	if err := create(ctx, db, dia); err != nil {
		return err
	}
	now := time.Now().UTC().Format(time.RFC3339)
	var stmt string
	switch dia {
	case dialect.MySQL:
		stmt = "INSERT INTO " + Table + " (`key`, `value`, `updated_at`) VALUES (?, ?, ?) " +
			"ON DUPLICATE KEY UPDATE `value` = VALUES(`value`), `updated_at` = VALUES(`updated_at`)"
	case dialect.Postgres:
		stmt = "INSERT INTO " + Table + ` ("key", "value", "updated_at") VALUES ($1, $2, $3) ` +
			`ON CONFLICT ("key") DO UPDATE SET "value" = EXCLUDED."value", "updated_at" = EXCLUDED."updated_at"`
	default:
		stmt = "INSERT INTO " + Table + ` ("key", "value", "updated_at") VALUES (?, ?, ?) ` +
			`ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value", "updated_at" = excluded."updated_at"`
	}
	if _, err := db.ExecContext(ctx, stmt, "environment", env, now); err != nil {
		return fmt.Errorf("recording the environment %q in %s: %w", env, Table, err)
	}
	return nil
}

// Read returns the environment recorded in the database, or "" when none is.
func Read(ctx context.Context, db *sql.DB, dia string) (string, error) {
	exists, err := tableExists(ctx, db, dia)
	if err != nil || !exists {
		return "", err
	}
	q := `SELECT "value" FROM ` + Table + ` WHERE "key" = ?`
	switch dia {
	case dialect.MySQL:
		q = "SELECT `value` FROM " + Table + " WHERE `key` = ?"
	case dialect.Postgres:
		q = `SELECT "value" FROM ` + Table + ` WHERE "key" = $1`
	}
	var env string
	err = db.QueryRowContext(ctx, q, "environment").Scan(&env)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the environment from %s: %w", Table, err)
	}
	return env, nil
}

func create(ctx context.Context, db *sql.DB, dia string) error {
	stmt := "CREATE TABLE IF NOT EXISTS " + Table + ` ("key" varchar(64) NOT NULL PRIMARY KEY, "value" text NOT NULL, "updated_at" varchar(32) NOT NULL)`
	if dia == dialect.MySQL {
		stmt = "CREATE TABLE IF NOT EXISTS " + Table + " (`key` varchar(64) NOT NULL PRIMARY KEY, `value` text NOT NULL, `updated_at` varchar(32) NOT NULL)"
	}
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("creating %s: %w", Table, err)
	}
	return nil
}

func tableExists(ctx context.Context, db *sql.DB, dia string) (bool, error) {
	ok, err := dbconn.TableExists(ctx, db, dia, Table)
	if err != nil {
		return false, fmt.Errorf("looking for %s: %w", Table, err)
	}
	return ok, nil
}
