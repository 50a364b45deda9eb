package upgrade

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/liveschema"
	"github.com/weber-framework/weber/internal/plural"
	"github.com/weber-framework/weber/internal/preflight"
)

// The pre-flight check (scenario "Destructive change" of RELIABILITY.md): before anything runs,
// the pending statements that could destroy or reject rows are rehearsed
// on a copy of the target's schema (package preflight), and the rows they
// would affect are counted on the target.
//
// It costs nothing when it cannot find anything: the check runs only when
// some pending statement looks risky (riskyStatement, a textual filter that
// errs on the side of "risky") and the target holds at least one row in one
// of its tables (a risk is always counted in rows of a table that exists on
// the target before the upgrade, so an empty target has none).

// riskyWords are the words without which a statement cannot drop, rename,
// narrow or constrain a column or table that already exists: every such
// change is a DROP, an ALTER (ADD COLUMN, ALTER COLUMN, MODIFY, CHANGE,
// ADD CONSTRAINT ...), a RENAME, or a CREATE UNIQUE INDEX. A SQLite table
// rebuild always contains a DROP TABLE.
var riskyWords = regexp.MustCompile(`(?i)\b(drop|alter|rename)\b`)

// uniqueWords catch a unique index or a key added outside CREATE TABLE.
var uniqueWords = regexp.MustCompile(`(?i)\b(unique|primary|foreign|references)\b`)

// createTable matches the start of a CREATE TABLE statement (after leading
// comments): a new table holds no rows on the target, whatever its keys.
var createTable = regexp.MustCompile(`(?is)^create\s+((global|local|temp|temporary|unlogged)\s+)*table\b`)

// leadingComments strips comments before a statement's first keyword.
var leadingComments = regexp.MustCompile(`(?s)^(\s+|--[^\n]*\n?|#[^\n]*\n?|/\*.*?\*/)*`)

// addColumn matches the start of ALTER TABLE t ADD [COLUMN] ..., the
// statement of every new model field.
var addColumn = regexp.MustCompile("(?is)^alter\\s+table\\s+(if\\s+exists\\s+)?(only\\s+)?[\\w.\"`]+\\s+add\\s+")

// addColumnRisks are the words that make an added column able to reject
// rows (NOT NULL without a default, a key, a check, a generated value) or
// that bring another clause along.
var addColumnRisks = regexp.MustCompile(`(?i)\b(drop|alter|rename|modify|change|unique|primary|foreign|references|check|constraint|not|generated|as|key|index|auto_increment|identity)\b`)

// riskyStatement reports whether a statement may destroy or reject rows of
// an existing table. It may say yes for a harmless statement (the check
// then runs and finds nothing), never no for a risky one. A nullable
// column added without keys or checks (the usual new model field) is not
// risky, so that it needs no dev server.
func riskyStatement(text string) bool {
	text = leadingComments.ReplaceAllString(text, "")
	if m := addColumn.FindStringIndex(text); m != nil && !addColumnRisks.MatchString(text[m[1]:]) {
		return false
	}
	if riskyWords.MatchString(text) {
		return true
	}
	if !uniqueWords.MatchString(text) {
		return false
	}
	return !createTable.MatchString(text)
}

// lastRisky returns the index of the last step holding a risky statement
// among those it will run (-1 for none), and the first risky statement's
// position, for messages.
func lastRisky(steps []*step) (last int, file string, index, line int) {
	last = -1
	for i, s := range steps {
		for k := s.from; k < len(s.file.Stmts); k++ {
			if riskyStatement(s.file.Stmts[k].Text) {
				if last < 0 {
					file, index, line = s.file.Name, k+1, s.file.Stmts[k].Line
				}
				last = i
				break
			}
		}
	}
	return last, file, index, line
}

// holdsRows reports whether any of the target's own tables (not Weber's)
// holds a row.
func holdsRows(ctx context.Context, conn *sql.Conn, dia string) (bool, error) {
	tables, err := userTables(ctx, conn, dia)
	if err != nil {
		return false, err
	}
	for _, t := range tables {
		var one int
		err := conn.QueryRowContext(ctx, "SELECT 1 FROM "+liveschema.Quote(dia, t)+" LIMIT 1").Scan(&one)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, sql.ErrNoRows):
			continue
		default:
			return false, fmt.Errorf("pre-flight check: looking for rows in %s: %w", t, err)
		}
	}
	return false, nil
}

// preflightNeeded decides whether the check must run over steps[:n]; n is
// 0 when it need not.
func preflightNeeded(ctx context.Context, conn *sql.Conn, dia string, steps []*step, opts *Options) (n int, first string, err error) {
	if opts.AllowDataLoss && !opts.DryRun {
		return 0, "", nil // nothing to refuse; dry runs still report the risks
	}
	last, file, index, line := lastRisky(steps)
	if last < 0 {
		return 0, "", nil
	}
	rows, err := holdsRows(ctx, conn, dia)
	if err != nil || !rows {
		return 0, "", err
	}
	return last + 1, fmt.Sprintf("statement %d of %s (line %d)", index, file, line), nil
}

// runPreflight checks steps (already cut to the ones that matter) against
// the target db; root is the migrations root, for the dev setup file. It returns the risks found; a non-nil string says why the
// check could not run in a dry run (elsewhere that is a *Refusal).
func runPreflight(ctx context.Context, db *sql.DB, u *dbconn.URL, root string, steps []*step, first string, opts *Options, log *slog.Logger) ([]preflight.Risk, string, error) {
	if u.Dialect != dialect.SQLite && strings.TrimSpace(opts.DevURL) == "" {
		env := "WEBER_DEV_" + strings.ToUpper(u.Dialect) + "_URL"
		msg := fmt.Sprintf("%s may destroy or reject rows and the database holds data, but the pre-flight check that counts the rows affected needs a dev %s server where it can create a scratch database: set %s or pass --dev-url, or pass --allow-data-loss to upgrade without the check",
			first, u.Dialect, env)
		if opts.DryRun {
			return nil, msg, nil
		}
		return nil, "", &Refusal{Op: "upgrade", Kind: KindPreflight, Msg: msg, Err: preflight.ErrNoDev}
	}
	var stmts []preflight.Statement
	for _, s := range steps {
		stmts = append(stmts, preflight.FileStatements(s.file, s.from)...)
	}
	risks, err := preflight.CountRisks(ctx, db, stmts, preflight.Options{Dialect: u.Dialect, DevURL: opts.DevURL, Root: root, Logger: log})
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", fmt.Errorf("upgrade: %w", err)
		}
		msg := errtext.OneLine(err) + "; nothing was changed: fix the cause, or pass --allow-data-loss to upgrade without the check"
		if opts.DryRun {
			return nil, msg, nil
		}
		return nil, "", &Refusal{Op: "upgrade", Kind: KindPreflight, Msg: msg, Err: err}
	}
	if opts.DryRun {
		return risks, "", nil
	}
	if err := preflight.Gate(risks, opts.AllowDataLoss); err != nil {
		return risks, "", dataLossRefusal(err)
	}
	return risks, "", nil
}

// dataLossRefusal turns preflight's *DataLossError into a KindDataLoss
// Refusal naming the table, the column, the row count and the flag.
func dataLossRefusal(err error) *Refusal {
	var dl *preflight.DataLossError
	if !errors.As(err, &dl) || len(dl.Risks) == 0 {
		return &Refusal{Op: "upgrade", Kind: KindDataLoss, Msg: errtext.OneLine(err), Err: err}
	}
	r := &Refusal{Op: "upgrade", Kind: KindDataLoss, File: dl.Risks[0].File, Err: err}
	seen := map[string]bool{}
	for _, risk := range dl.Risks {
		if !seen[risk.File] {
			seen[risk.File] = true
			r.Files = append(r.Files, risk.File)
		}
	}
	msg := errtext.Flatten(dl.Risks[0].Message)
	if !strings.Contains(msg, "--allow-data-loss") {
		msg += "; or pass --allow-data-loss to proceed anyway"
	}
	if n := len(dl.Risks) - 1; n > 0 {
		var more []string
		for _, risk := range dl.Risks[1:] {
			what := risk.Table
			if risk.Column != "" {
				what += "." + risk.Column
			}
			more = append(more, fmt.Sprintf("%s %s (%s, statement %d of %s)", risk.Kind, what, plural.Count(risk.Rows, "row", "rows"), risk.Index, risk.File))
		}
		msg += fmt.Sprintf(" [and %d more: %s]", n, strings.Join(more, "; "))
	}
	r.Msg = msg + "; nothing was changed"
	return r
}
