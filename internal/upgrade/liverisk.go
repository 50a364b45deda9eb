package upgrade

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/livelint"
	"github.com/weber-framework/weber/internal/migdir"
)

// DefaultBlockingMaxRows is the most rows a table may hold for Upgrade to
// run, without Options.AllowBlockingDDL, a pending statement that blocks
// its writes or rewrites it (livelint's findings).
const DefaultBlockingMaxRows = 100_000

// KindBlocking: a pending statement would block writes on, or rewrite, a
// table holding more rows than Options.BlockingMaxRows.
const KindBlocking Kind = "blocking-ddl"

// BlockingStatement is a pending statement that would stall the
// application on a populated table.
type BlockingStatement struct {
	// File is the migration file; Stmt the 1-based statement, Line its line.
	File       string
	Stmt, Line int
	// Table is the table it locks; Rows how many rows it holds (counted up
	// to the limit, so at least Rows when Rows > the limit); Bytes its size
	// on disk with its indexes (an estimate from the server's statistics).
	Table       string
	Rows, Bytes int64
	// Finding is the lint rule that flags it, with the safe alternative.
	Finding livelint.Finding
}

// blockingCodes are the rules whose statements hold a lock that blocks
// writes for a time that grows with the table. WL102 fails at once and
// WL107 adds nothing to WL106, so they are lint's alone.
var blockingCodes = []string{"WL101", "WL103", "WL104", "WL105", "WL106", "WL108", "WL109", "WL202", "WL203", "WL204", "WL205"}

// blockingStatements lists the pending statements that livelint flags as
// blocking and that are not marked intended with `-- atlas:nolint`.
func blockingStatements(dia string, steps []*step) []BlockingStatement {
	var out []BlockingStatement
	for _, s := range steps {
		f := s.file
		stmts := make([]string, len(f.Stmts))
		for i, st := range f.Stmts {
			stmts[i] = st.Text
		}
		for _, fd := range livelint.Lint(livelint.File{Dialect: dia, Stmts: stmts, Transactional: transactional(dia, f)}) {
			if fd.Stmt < s.from || !slices.Contains(blockingCodes, fd.Code) || silenced(f, f.Stmts[fd.Stmt], fd.Code) {
				continue
			}
			out = append(out, BlockingStatement{File: f.Name, Stmt: fd.Stmt + 1, Line: f.Stmts[fd.Stmt].Line, Table: fd.Table, Finding: fd})
		}
	}
	return out
}

// silenced reports an `-- atlas:nolint` directive (bare, "live" or the
// rule's code) on the statement or in the file's header.
func silenced(f *migdir.File, st migdir.Stmt, code string) bool {
	for _, args := range [][]string{f.NoLint, st.NoLint} {
		for _, a := range args {
			for _, w := range strings.Fields(a) {
				if w == livelint.Analyzer || w == code {
					return true
				}
			}
			if strings.TrimSpace(a) == "" {
				return true
			}
		}
	}
	return false
}

// checkBlocking measures the tables of the blocking statements on the
// target and refuses (KindBlocking) when one holds more than the limit,
// unless Options.AllowBlockingDDL. It returns the statements it measured.
func checkBlocking(ctx context.Context, q querier, dia string, steps []*step, opts *Options) ([]BlockingStatement, error) {
	if dia == dialect.SQLite {
		return nil, nil
	}
	bs := blockingStatements(dia, steps)
	limit := int64(opts.BlockingMaxRows)
	if limit == 0 {
		limit = DefaultBlockingMaxRows
	}
	var over []BlockingStatement
	for i := range bs {
		b := &bs[i]
		var err error
		if b.Rows, b.Bytes, err = tableSize(ctx, q, dia, b.Table, limit); err != nil {
			return nil, err
		}
		if limit > 0 && b.Rows > limit {
			over = append(over, *b)
		}
	}
	if len(over) == 0 || opts.AllowBlockingDDL {
		return bs, nil
	}
	b := over[0]
	more := ""
	if len(over) > 1 {
		more = fmt.Sprintf(" (and %d more such statements)", len(over)-1)
	}
	return bs, refuseOp("upgrade", KindBlocking, b.File,
		"%s, statement %d (line %d): %s; %s holds more than %d rows (%s on disk), so the application would stall while it runs%s. %s Pass --allow-blocking-ddl to run it anyway, or mark the statement `-- atlas:nolint %s` if a maintenance window covers it",
		b.File, b.Stmt, b.Line, b.Finding.Message, b.Table, limit, bytesPhrase(b.Bytes), more, b.Finding.Alternative, b.Finding.Code)
}

// tableSize counts table's rows up to limit+1 (exact below the limit,
// cheap above it) and reads its size with its indexes from the server's
// statistics. A table that does not exist yet has 0 rows.
func tableSize(ctx context.Context, q querier, dia, table string, limit int64) (rows, bytes int64, err error) {
	var sizeQuery string
	quoted := dbconn.QuoteIdent(dia, table)
	switch dia {
	case dialect.Postgres:
		sizeQuery = `SELECT COALESCE(pg_total_relation_size(to_regclass($1)), -1)`
	case dialect.MySQL:
		sizeQuery = `SELECT COALESCE((SELECT DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?), -1)`
	}
	arg := any(table)
	if dia == dialect.Postgres {
		arg = quoted
	}
	if err := q.QueryRowContext(ctx, sizeQuery, arg).Scan(&bytes); err != nil {
		return 0, 0, fmt.Errorf("upgrade: measuring %s: %w", table, err)
	}
	if bytes < 0 {
		return 0, 0, nil // created by an earlier pending file
	}
	count := fmt.Sprintf("SELECT COUNT(*) FROM (SELECT 1 FROM %s LIMIT %d) AS s", quoted, max(limit, 0)+1)
	if err := q.QueryRowContext(ctx, count).Scan(&rows); err != nil && err != sql.ErrNoRows {
		return 0, 0, fmt.Errorf("upgrade: counting the rows of %s: %w", table, err)
	}
	return rows, bytes, nil
}

func bytesPhrase(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
