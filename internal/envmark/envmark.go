// Package envmark records in a database which environment it serves
// ("production", "staging", ...), so that a destructive command run against
// the wrong URL at 3 a.m. can recognise a production database and refuse.
//
// The mark lives in a one-row-per-key table, weber_metadata, that schema
// diffs must ignore (see Table). A mark only ever moves toward more
// protection (development < staging and other names < production): Record,
// which `db ensure` and `db upgrade` call, keeps a higher mark and says so
// in its Outcome; only Set with force, `weberctl db mark --force`, lowers
// one.
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

// Level is how much protection an environment's mark gives a database. A
// mark only moves up (Record); lowering it is Set with force, the explicit
// `weberctl db mark --env NAME --force`.
type Level int

// The levels, lowest first.
const (
	// LevelDevelopment: no mark, or development, dev, test, testing, local.
	LevelDevelopment Level = iota
	// LevelShared: staging, and any other named environment.
	LevelShared
	// LevelProduction: production (or prod). `db drop` refuses it.
	LevelProduction
)

// LevelOf returns the protection env asks for.
func LevelOf(env string) Level {
	switch Canonical(env) {
	case "", "development", "test", "testing", "local":
		return LevelDevelopment
	case Production:
		return LevelProduction
	}
	return LevelShared
}

// Canonical returns env trimmed and lower-cased, with the short forms
// "prod" and "dev" spelled out: two names with the same Canonical form
// are the same environment.
func Canonical(env string) string {
	e := strings.ToLower(strings.TrimSpace(env))
	switch e {
	case "prod":
		return Production
	case "dev":
		return "development"
	}
	return e
}

// Same reports whether a and b name the same environment.
func Same(a, b string) bool { return Canonical(a) == Canonical(b) }

// IsProduction reports whether env names a production environment.
func IsProduction(env string) bool { return LevelOf(env) == LevelProduction }

// Outcome says what Record or Set found and left.
type Outcome struct {
	// Previous is the mark found ("" when the database had none).
	Previous string
	// Requested is the environment the caller asked to record.
	Requested string
	// Mark is the mark the database holds afterwards.
	Mark string
}

// Changed reports that the mark was written (a new or a different one).
func (o Outcome) Changed() bool { return o.Mark != o.Previous }

// Kept reports that the database kept a different mark than the one
// requested, because recording it would have lowered the protection (or
// moved it sideways, from one environment to another of the same level).
func (o Outcome) Kept() bool { return o.Requested != "" && !Same(o.Mark, o.Requested) }

// LowerError is Set's refusal to lower a mark (or move it to another
// environment of the same level) without force. Nothing was written.
type LowerError struct {
	// Database is the URL, password redacted.
	Database string
	// Mark is the mark found; Requested the environment asked for.
	Mark, Requested string
}

func (e *LowerError) Error() string {
	return fmt.Sprintf("refusing to change the mark of %s from %q to %q: it would protect the database less (or differently); if this database really is %q now, pass --force: weberctl db mark --env %s --force",
		e.Database, e.Mark, e.Requested, e.Requested, e.Requested)
}

// Record stores env as the database's environment when that raises its
// protection or the database has none, and otherwise keeps the mark it has
// (Outcome.Kept): a `db ensure` run with WEBER_ENV=staging never unmarks a
// production database. An empty env reads the mark and changes nothing.
// Callers hold the database's migration lock, so that two writers do not
// interleave their read and write.
func Record(ctx context.Context, db *sql.DB, dia, env string) (Outcome, error) {
	env = strings.TrimSpace(env)
	prev, err := Read(ctx, db, dia)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Previous: prev, Requested: env, Mark: prev}
	if env == "" || Same(prev, env) || (prev != "" && LevelOf(env) <= LevelOf(prev)) {
		return out, nil
	}
	if err := write(ctx, db, dia, env); err != nil {
		return out, err
	}
	out.Mark = env
	return out, nil
}

// Set stores env as the database's environment, like Record, and with
// force also when that lowers the mark (or changes it to another
// environment of the same level); without force such a change is a
// *LowerError. It is the explicit way down: `weberctl db mark --force`.
// database names the database in the error (a redacted URL).
func Set(ctx context.Context, db *sql.DB, dia, database, env string, force bool) (Outcome, error) {
	env = strings.TrimSpace(env)
	if env == "" {
		return Outcome{}, errors.New("setting the environment mark: no environment given")
	}
	out, err := Record(ctx, db, dia, env)
	if err != nil || !out.Kept() {
		return out, err
	}
	if !force {
		return out, &LowerError{Database: database, Mark: out.Previous, Requested: env}
	}
	if err := write(ctx, db, dia, env); err != nil {
		return out, err
	}
	out.Mark = env
	return out, nil
}

// write upserts the mark.
func write(ctx context.Context, db *sql.DB, dia, env string) error {
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
