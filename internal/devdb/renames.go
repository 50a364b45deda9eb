package devdb

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/liveschema"
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
	live, err := liveschema.Inspect(ctx, db, u.Dialect)
	if err != nil {
		return fmt.Errorf("ensuring %s: %w", u.Redacted(), err)
	}
	q := func(name string) string { return dbconn.QuoteIdent(u.Dialect, name) }
	for _, r := range renames { // tables first: Renames lists them first
		var stmt string
		if r.Table == "" {
			t := liveschema.Table(live, r.From)
			if t == nil || liveschema.Table(live, r.To) != nil {
				continue
			}
			stmt = "ALTER TABLE " + q(r.From) + " RENAME TO " + q(r.To)
			if u.Dialect == dialect.MySQL {
				stmt = "RENAME TABLE " + q(r.From) + " TO " + q(r.To)
			}
			t.Name = r.To // the columns' renames name the table by its new name
		} else {
			t := liveschema.Table(live, r.Table)
			if liveschema.Column(t, r.From) == nil || liveschema.Column(t, r.To) != nil {
				continue
			}
			stmt = "ALTER TABLE " + q(r.Table) + " RENAME COLUMN " + q(r.From) + " TO " + q(r.To)
		}
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("ensuring %s: renaming %s, as the models declare (RenamedFrom): %w; nothing else was changed by this step", u.Redacted(), r, err)
		}
		log.Debug("ensure", "renamed", r.String(), "statement", stmt)
		res.Renamed = append(res.Renamed, r.String())
		res.Statements = append(res.Statements, stmt)
	}
	return nil
}
