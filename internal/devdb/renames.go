package devdb

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/weberschema"
)

// applyRenames renames in the live database what the models declare renamed
// (weberschema.RenamedFrom) and the database still has under its old name:
// tables first, then columns (named by their table's new name), so that
// the data moves with the name instead of staying behind while an empty
// column or table is created beside it. A rename whose new name exists
// already (done before) or whose old name is gone (nothing to keep) is left
// alone. Each rename is recorded in res.Renamed and res.Statements.
func applyRenames(ctx context.Context, db *sql.DB, u *dbconn.URL, renames []weberschema.Rename, res *EnsureResult, log *slog.Logger) error {
	if len(renames) == 0 {
		return nil
	}
	tables, err := userTables(ctx, db, u.Dialect)
	if err != nil {
		return fmt.Errorf("ensuring %s: %w", u.Redacted(), err)
	}
	for _, r := range renames { // tables first: Renames lists them first
		var stmt, done string
		if r.Table == "" {
			if !slices.Contains(tables, r.From) || slices.Contains(tables, r.To) {
				continue
			}
			stmt, done = renameTableStmt(u.Dialect, r.From, r.To), r.From+" -> "+r.To
			tables = append(slices.DeleteFunc(tables, func(t string) bool { return t == r.From }), r.To)
		} else {
			if !slices.Contains(tables, r.Table) {
				continue
			}
			cols, err := tableColumns(ctx, db, u.Dialect, r.Table)
			if err != nil {
				return fmt.Errorf("ensuring %s: %w", u.Redacted(), err)
			}
			if !slices.Contains(cols, r.From) || slices.Contains(cols, r.To) {
				continue
			}
			q := quoter(u.Dialect)
			stmt, done = "ALTER TABLE "+q(r.Table)+" RENAME COLUMN "+q(r.From)+" TO "+q(r.To), r.String()
		}
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("ensuring %s: renaming %s, as the models declare (RenamedFrom): %w; nothing else was changed by this step", u.Redacted(), done, err)
		}
		log.Debug("ensure", "renamed", done, "statement", stmt)
		res.Renamed = append(res.Renamed, done)
		res.Statements = append(res.Statements, stmt)
	}
	return nil
}

// renameTableStmt renames table from to to.
func renameTableStmt(dia, from, to string) string {
	q := quoter(dia)
	if dia == dialect.MySQL {
		return "RENAME TABLE " + q(from) + " TO " + q(to)
	}
	return "ALTER TABLE " + q(from) + " RENAME TO " + q(to)
}

// quoter quotes an identifier for the dialect.
func quoter(dia string) func(string) string {
	if dia == dialect.MySQL {
		return func(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
	}
	return func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
}

// tableColumns lists the columns of table in the database's current schema.
func tableColumns(ctx context.Context, db *sql.DB, dia, table string) ([]string, error) {
	var q string
	switch dia {
	case dialect.Postgres:
		q = "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1"
	case dialect.MySQL:
		q = "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?"
	default:
		q = "SELECT name FROM pragma_table_info(?)"
	}
	rows, err := db.QueryContext(ctx, q, table)
	if err != nil {
		return nil, fmt.Errorf("listing the columns of %s: %w", table, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("listing the columns of %s: %w", table, err)
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}
