// Package revstore keeps the revision table: one row per migration file
// applied to the target database, in the table the Atlas CLI uses
// (atlas_schema_revisions, same columns), so a team can switch tools in
// either direction.
//
// Unlike Atlas's own store, it persists Hash and PartialHashes (which
// Atlas's migrate.Revision marks json:"-"), and it writes through whatever
// it is handed: a *sql.Tx, so that a file and its revision commit together,
// or a *sql.Conn for statement-level progress outside a transaction.
//
// The table lives in the connection's current schema (PostgreSQL) or
// database (MySQL), not in a separate schema as the Atlas CLI does when it
// manages a whole server: with Atlas, point it at the same schema with
// `--revisions-schema` to share the history.
package revstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/envmark"
)

// Table is the name of the revision table (the Atlas CLI's).
const Table = "atlas_schema_revisions"

// Tables returns the tables Weber itself keeps in a target database: the
// revision table and the environment mark. Every schema inspection and diff
// must leave them out.
func Tables() []string { return []string{Table, envmark.Table} }

// IsOwnTable reports whether name is one of Tables().
func IsOwnTable(name string) bool {
	return name == Table || name == envmark.Table
}

// Revision types, as Atlas numbers them.
const (
	TypeBaseline = migrate.RevisionTypeBaseline
	TypeExecute  = migrate.RevisionTypeExecute
	TypeResolved = migrate.RevisionTypeResolved
)

// Revision is one row of the revision table.
type Revision struct {
	// Version of the migration file.
	Version string
	// Description is the file name's part after the version.
	Description string
	// Type is TypeExecute for a file that ran, TypeBaseline for one
	// recorded by a baseline without running.
	Type migrate.RevisionType
	// Applied counts the statements applied; equal to Total when done.
	Applied int
	// Total counts the file's statements.
	Total int
	// ExecutedAt is when the file started.
	ExecutedAt time.Time
	// ExecutionTime is how long it ran (stored in nanoseconds, like Atlas).
	ExecutionTime time.Duration
	// Error is the last error, if the file did not complete.
	Error string
	// ErrorStmt is the statement that raised Error.
	ErrorStmt string
	// Hash identifies the file's content when it was applied.
	Hash string
	// PartialHashes are the running statement hashes of the applied
	// statements of a partially applied file (nil once complete).
	PartialHashes []string
	// OperatorVersion names the tool that wrote the row ("weber v...").
	OperatorVersion string
}

// Done reports whether every statement of the file was applied without error.
func (r *Revision) Done() bool { return r.Applied >= r.Total && r.Error == "" }

// Execer runs statements: *sql.DB, *sql.Tx and *sql.Conn all are.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Store reads and writes the revision table of one dialect.
type Store struct {
	dia string
}

// New returns the store for ent's dialect name dia.
func New(dia string) (*Store, error) {
	switch dia {
	case dialect.SQLite, dialect.Postgres, dialect.MySQL:
		return &Store{dia: dia}, nil
	}
	return nil, fmt.Errorf("revision store: unknown dialect %q: use sqlite3, postgres or mysql", dia)
}

// Dialect returns the store's dialect.
func (s *Store) Dialect() string { return s.dia }

// Exists reports whether the revision table exists.
func (s *Store) Exists(ctx context.Context, q Execer) (bool, error) {
	ok, err := dbconn.TableExists(ctx, q, s.dia, Table)
	if err != nil {
		return false, fmt.Errorf("looking for the revision table %s: %w", Table, err)
	}
	return ok, nil
}

// Ensure creates the revision table if it does not exist.
func (s *Store) Ensure(ctx context.Context, q Execer) error {
	if _, err := q.ExecContext(ctx, s.EnsureSQL()); err != nil {
		return fmt.Errorf("creating the revision table %s: %w", Table, err)
	}
	return nil
}

// EnsureSQL is the statement Ensure runs: CREATE TABLE IF NOT EXISTS.
func (s *Store) EnsureSQL() string {
	switch s.dia {
	case dialect.MySQL:
		return "CREATE TABLE IF NOT EXISTS `" + Table + "` (" +
			"`version` varchar(255) NOT NULL, `description` varchar(255) NOT NULL, " +
			"`type` bigint unsigned NOT NULL DEFAULT 2, `applied` bigint NOT NULL DEFAULT 0, " +
			"`total` bigint NOT NULL DEFAULT 0, `executed_at` timestamp(6) NOT NULL, " +
			"`execution_time` bigint NOT NULL, `error` longtext NULL, `error_stmt` longtext NULL, " +
			"`hash` varchar(255) NOT NULL, `partial_hashes` json NULL, " +
			"`operator_version` varchar(255) NOT NULL, PRIMARY KEY (`version`)) " +
			"CHARSET utf8mb4 COLLATE utf8mb4_bin"
	case dialect.Postgres:
		return `CREATE TABLE IF NOT EXISTS "` + Table + `" (` +
			`"version" character varying NOT NULL, "description" character varying NOT NULL, ` +
			`"type" bigint NOT NULL DEFAULT 2, "applied" bigint NOT NULL DEFAULT 0, ` +
			`"total" bigint NOT NULL DEFAULT 0, "executed_at" timestamptz NOT NULL, ` +
			`"execution_time" bigint NOT NULL, "error" text NULL, "error_stmt" text NULL, ` +
			`"hash" character varying NOT NULL, "partial_hashes" jsonb NULL, ` +
			`"operator_version" character varying NOT NULL, PRIMARY KEY ("version"))`
	default:
		return "CREATE TABLE IF NOT EXISTS `" + Table + "` (" +
			"`version` text NOT NULL, `description` text NOT NULL, " +
			"`type` integer NOT NULL DEFAULT 2, `applied` integer NOT NULL DEFAULT 0, " +
			"`total` integer NOT NULL DEFAULT 0, `executed_at` datetime NOT NULL, " +
			"`execution_time` integer NOT NULL, `error` text NULL, `error_stmt` text NULL, " +
			"`hash` text NOT NULL, `partial_hashes` json NULL, " +
			"`operator_version` text NOT NULL, PRIMARY KEY (`version`))"
	}
}

func (s *Store) q(name string) string {
	if s.dia == dialect.Postgres {
		return `"` + name + `"`
	}
	return "`" + name + "`"
}

func (s *Store) ph(n int) string {
	if s.dia == dialect.Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

var columns = []string{"version", "description", "type", "applied", "total", "executed_at",
	"execution_time", "error", "error_stmt", "hash", "partial_hashes", "operator_version"}

// ReadAll returns every revision, sorted by version (numerically). Rows
// whose version starts with "." are the Atlas CLI's bookkeeping (its
// ".atlas_cleanup" identity row) and are left out.
func (s *Store) ReadAll(ctx context.Context, q Execer) ([]*Revision, error) {
	cols := make([]string, len(columns))
	for i, c := range columns {
		cols[i] = s.q(c)
	}
	rows, err := q.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+s.q(Table))
	if err != nil {
		return nil, fmt.Errorf("reading the revision table %s: %w", Table, err)
	}
	defer rows.Close()
	var out []*Revision
	for rows.Next() {
		var (
			r                    Revision
			typ                  uint64
			execAt               any
			execTime             int64
			errText, errStmt, ph sql.NullString
			desc, hash, operator sql.NullString
		)
		if err := rows.Scan(&r.Version, &desc, &typ, &r.Applied, &r.Total, &execAt, &execTime,
			&errText, &errStmt, &hash, &ph, &operator); err != nil {
			return nil, fmt.Errorf("reading the revision table %s: %w", Table, err)
		}
		r.Description, r.Hash, r.OperatorVersion = desc.String, hash.String, operator.String
		r.Type = migrate.RevisionType(typ)
		r.ExecutionTime = time.Duration(execTime)
		r.Error, r.ErrorStmt = errText.String, errStmt.String
		r.ExecutedAt = parseTime(execAt)
		if ph.Valid && ph.String != "" && ph.String != "null" {
			if err := json.Unmarshal([]byte(ph.String), &r.PartialHashes); err != nil {
				return nil, fmt.Errorf("reading the revision table %s: version %s has corrupt partial_hashes: %v", Table, r.Version, err)
			}
		}
		if strings.HasPrefix(r.Version, ".") {
			continue // the Atlas CLI's bookkeeping row (".atlas_cleanup"), not a migration
		}
		out = append(out, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the revision table %s: %w", Table, err)
	}
	sort.SliceStable(out, func(i, j int) bool { return lessVersion(out[i].Version, out[j].Version) })
	return out, nil
}

func lessVersion(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// parseTime accepts what the three drivers return for a timestamp column.
func parseTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case []byte:
		return parseTimeString(string(t))
	case string:
		return parseTimeString(t)
	}
	return time.Time{}
}

func parseTimeString(s string) time.Time {
	for _, layout := range []string{sqliteTime, time.RFC3339Nano,
		"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Write inserts or replaces the revision r through q (a transaction, to
// commit the revision with the file it records).
func (s *Store) Write(ctx context.Context, q Execer, r *Revision) error {
	ph, errText, errStmt := s.nullables(r)
	at := r.ExecutedAt
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	var execAt any = at
	if s.dia == dialect.SQLite {
		// A sortable text form that every SQLite tool reads.
		execAt = at.Format(sqliteTime)
	}
	args := []any{r.Version, r.Description, uint64(r.Type), r.Applied, r.Total, execAt,
		int64(r.ExecutionTime), errText, errStmt, r.Hash, ph, r.OperatorVersion}
	phs := make([]string, len(columns))
	for i := range columns {
		phs[i] = s.ph(i + 1)
	}
	if _, err := q.ExecContext(ctx, s.upsert(phs), args...); err != nil {
		return fmt.Errorf("writing revision %s to %s: %w", r.Version, Table, err)
	}
	return nil
}

// sqliteTime is how SQLite's executed_at is written: sortable text.
const sqliteTime = "2006-01-02 15:04:05.999999999-07:00"

// WriteSQL is the statement Write runs for r, with its values written as
// SQL literals, for a script run by hand. Its executed_at is the time the
// statement runs (r.ExecutedAt is ignored).
func (s *Store) WriteSQL(r *Revision) string {
	ph, errText, errStmt := s.nullables(r)
	now := "now()"
	switch s.dia {
	case dialect.MySQL:
		now = "CURRENT_TIMESTAMP(6)"
	case dialect.SQLite:
		now = "strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')"
	}
	vals := []string{s.literal(r.Version), s.literal(r.Description), strconv.FormatUint(uint64(r.Type), 10),
		strconv.Itoa(r.Applied), strconv.Itoa(r.Total), now, strconv.FormatInt(int64(r.ExecutionTime), 10),
		s.literal(errText), s.literal(errStmt), s.literal(r.Hash), s.literal(ph), s.literal(r.OperatorVersion)}
	return s.upsert(vals)
}

// nullables returns the columns that are NULL when empty.
func (s *Store) nullables(r *Revision) (ph, errText, errStmt any) {
	if len(r.PartialHashes) > 0 {
		b, _ := json.Marshal(r.PartialHashes) // a []string always encodes
		ph = string(b)
	}
	if r.Error != "" {
		errText = r.Error
	}
	if r.ErrorStmt != "" {
		errStmt = r.ErrorStmt
	}
	return ph, errText, errStmt
}

// literal writes v (a string or nil) as an SQL literal of the dialect.
func (s *Store) literal(v any) string {
	str, ok := v.(string)
	if !ok {
		return "NULL"
	}
	if s.dia == dialect.MySQL {
		// MySQL reads a backslash in a string literal as an escape.
		str = strings.ReplaceAll(str, `\`, `\\`)
	}
	return "'" + strings.ReplaceAll(str, "'", "''") + "'"
}

// upsert is the INSERT ... ON CONFLICT/DUPLICATE KEY UPDATE of one row
// whose column values are vals (placeholders or literals).
func (s *Store) upsert(vals []string) string {
	cols := make([]string, len(columns))
	sets := make([]string, 0, len(columns)-1)
	for i, c := range columns {
		cols[i] = s.q(c)
		if i == 0 {
			continue
		}
		switch s.dia {
		case dialect.MySQL:
			sets = append(sets, s.q(c)+" = VALUES("+s.q(c)+")")
		default:
			sets = append(sets, s.q(c)+" = excluded."+s.q(c))
		}
	}
	stmt := "INSERT INTO " + s.q(Table) + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(vals, ", ") + ") "
	if s.dia == dialect.MySQL {
		return stmt + "ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
	}
	return stmt + "ON CONFLICT (" + s.q("version") + ") DO UPDATE SET " + strings.Join(sets, ", ")
}

// Delete removes the revision of version (a downgrade).
func (s *Store) Delete(ctx context.Context, q Execer, version string) error {
	if _, err := q.ExecContext(ctx, "DELETE FROM "+s.q(Table)+" WHERE "+s.q("version")+" = "+s.ph(1), version); err != nil {
		return fmt.Errorf("deleting revision %s from %s: %w", version, Table, err)
	}
	return nil
}
