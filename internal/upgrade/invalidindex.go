package upgrade

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/migdir"
)

// A PostgreSQL CREATE INDEX CONCURRENTLY that fails, is cancelled or whose
// process is killed leaves its index behind, marked INVALID: not used by
// queries, still updated by every write, and in the way of the next build
// ("relation already exists"). Upgrade drops such an index (concurrently)
// before building it again, and settles an interrupted build on its own:
// a valid index means the statement completed.

// concurrentIndexRe captures the index name of a CREATE INDEX CONCURRENTLY.
var concurrentIndexRe = regexp.MustCompile(`(?is)^\s*create\s+(?:unique\s+)?index\s+concurrently\s+(?:if\s+not\s+exists\s+)?("(?:[^"]|"")+"|[\w$]+)\s+on\s`)

// concurrentIndexName returns the name of the index a CREATE INDEX
// CONCURRENTLY statement builds (unquoted), or false for any other
// statement.
func concurrentIndexName(stmt string) (string, bool) {
	m := concurrentIndexRe.FindStringSubmatch(migdir.SkipComments(stmt))
	if m == nil {
		return "", false
	}
	name := m[1]
	if strings.HasPrefix(name, `"`) {
		return strings.ReplaceAll(name[1:len(name)-1], `""`, `"`), true
	}
	return strings.ToLower(name), true
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// indexState says whether the index name exists in the search path's
// schemas and whether it is valid.
func indexState(ctx context.Context, q querier, name string) (exists, valid bool, err error) {
	err = q.QueryRowContext(ctx, `SELECT i.indisvalid FROM pg_index i
	JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.relname = $1 AND n.nspname = ANY(current_schemas(false)) LIMIT 1`, name).Scan(&valid)
	if err == sql.ErrNoRows {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("reading index %s: %w", name, err)
	}
	return true, valid, nil
}

// InvalidIndexes lists the INVALID indexes of a PostgreSQL database (in
// the search path's schemas): what failed concurrent builds left. Other
// dialects have none.
func invalidIndexes(ctx context.Context, q querier, dia string) ([]string, error) {
	if dia != dialect.Postgres {
		return nil, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT c.relname FROM pg_index i
	JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE NOT i.indisvalid AND n.nspname = ANY(current_schemas(false)) ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("listing INVALID indexes: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("listing INVALID indexes: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// dropInvalidIndex drops the index a concurrent build is about to build
// when an earlier build left it INVALID, and reports whether it did.
func (a *applier) dropInvalidIndex(ctx context.Context, stmt string) (string, error) {
	name, ok := concurrentIndexName(stmt)
	if !ok || a.dia != dialect.Postgres {
		return "", nil
	}
	exists, valid, err := indexState(ctx, a.conn, name)
	if err != nil || !exists || valid {
		return "", err
	}
	q := `DROP INDEX CONCURRENTLY IF EXISTS "` + strings.ReplaceAll(name, `"`, `""`) + `"`
	if _, err := a.conn.ExecContext(ctx, q); err != nil {
		return "", fmt.Errorf("dropping the INVALID index %s left by an interrupted build: %w", name, err)
	}
	a.log.Info("dropped an INVALID index left by an interrupted concurrent build; building it again", "index", name)
	return name, nil
}

// leftover says what a failed statement left behind that a rollback does
// not remove: the INVALID index of a failed concurrent build.
func (a *applier) leftover(stmt string) string {
	name, ok := concurrentIndexName(stmt)
	if !ok || a.dia != dialect.Postgres {
		return ""
	}
	exists, valid, err := indexState(context.Background(), a.conn, name)
	if err != nil || !exists || valid {
		return ""
	}
	return fmt.Sprintf("an INVALID index %s persists (PostgreSQL keeps one when a concurrent build fails; the next upgrade drops it and builds it again)", name)
}

// settleConcurrentBuild decides an unconfirmed CREATE INDEX CONCURRENTLY
// from the index itself: valid means it completed (recorded as applied
// without running it again); missing or INVALID means it did not (run
// again, after dropping the INVALID one). It reports whether it settled.
func settleConcurrentBuild(ctx context.Context, q querier, dia string, s *step) (bool, error) {
	if dia != dialect.Postgres || s.from >= len(s.file.Stmts) {
		return false, nil
	}
	name, ok := concurrentIndexName(s.file.Stmts[s.from].Text)
	if !ok {
		return false, nil
	}
	exists, valid, err := indexState(ctx, q, name)
	if err != nil {
		return false, err
	}
	s.unconfirmed = false
	if exists && valid {
		s.from++
	}
	return true, nil
}
