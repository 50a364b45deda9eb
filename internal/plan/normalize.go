package plan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"

	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/liveschema"
)

// ModelsError reports models the dialect's dev server rejects: the tables
// ent describes could not be created there, e.g. a check or default
// expression written for another dialect (backticks on PostgreSQL).
type ModelsError struct {
	Dialect string // folder name
	Err     error  // the server's error
}

// Error names the dialect and the server's complaint and says what to fix.
func (e *ModelsError) Error() string {
	return fmt.Sprintf("planning %s: the models do not apply on the %s dev database: %s: "+
		"fix the model (a check, default or index expression written for another dialect is the usual cause; "+
		"use entsql.DefaultExprs or a per-dialect annotation)", e.Dialect, e.Dialect, errtext.OneLine(e.Err))
}

// Unwrap returns the server's error.
func (e *ModelsError) Unwrap() error { return e.Err }

// PlannedFileError reports a planned migration file that failed on the dev
// database, or that did not bring it to the models. Nothing was written.
type PlannedFileError struct {
	Dialect   string // folder name
	Statement int    // 1-based statement of the planned file that failed; 0 when it applied
	SQL       string // that statement
	// Remaining names what still differed after the file applied.
	Remaining []string
	Err       error // the database's error, when a statement failed
}

// Error says what failed and that nothing was written.
func (e *PlannedFileError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("planning %s: the planned file fails on the %s dev database at statement %d (%s): %s: nothing was written; "+
			"fix the model that produces it (an expression written for another dialect is the usual cause)",
			e.Dialect, e.Dialect, e.Statement, errtext.Flatten(e.SQL), errtext.OneLine(e.Err))
	}
	return fmt.Sprintf("planning %s: the planned file applies on the dev database but does not reach the models (still different: %s): "+
		"nothing was written; the server stores this model differently from how ent writes it: change the model",
		e.Dialect, strings.Join(e.Remaining, "; "))
}

// Unwrap returns the database's error.
func (e *PlannedFileError) Unwrap() error { return e.Err }

// normalizeDesired returns desired the way the dev server stores it, as
// Atlas does with its dev database (schema.Normalizer): it creates the
// models' tables on db, which must hold no table, inspects them back and
// drops them again. Comparing a replayed history with this form, rather
// than with ent's, is what lets MariaDB's hashed unique indexes, its
// CONSTRAINT_n check names and every server's rewritten expressions
// compare equal. desired is consumed. Atlas restores the dev database
// afterwards as it models it, which drops what the dev setup file under
// root made (an extension): the setup runs again then.
func normalizeDesired(ctx context.Context, db *sql.DB, folder, root string, desired *schema.Schema) (*schema.Schema, error) {
	if folder == SQLite {
		// Atlas's SQLite driver has no Normalizer: a private in-memory
		// database is the dev server, created and thrown away here.
		mem, cleanup, err := OpenScratch(ctx, SQLite, "")
		if err != nil {
			return nil, err
		}
		defer cleanup()
		return normalizeSQLite(ctx, mem, desired)
	}
	drv, err := openAtlas(folder, db)
	if err != nil {
		return nil, err
	}
	n, ok := drv.(schema.Normalizer)
	if !ok {
		return nil, fmt.Errorf("planning %s: Atlas's driver cannot normalise the models", folder)
	}
	ns, err := n.NormalizeSchema(ctx, desired)
	if err != nil {
		var nc *migrate.NotCleanError
		if errors.As(err, &nc) {
			return nil, wrapf("planning "+folder+": normalising the models needs an empty dev database", err)
		}
		return nil, &ModelsError{Dialect: folder, Err: err}
	}
	ns.Tables = withoutOwnTables(ns.Tables)
	if root != "" {
		if _, err := RunDevSetup(ctx, db, folder, root); err != nil {
			return nil, err
		}
	}
	return ns, nil
}

// normalizeSQLite creates desired's tables on mem, an empty in-memory
// database, and inspects them back, in one transaction that is rolled
// back.
func normalizeSQLite(ctx context.Context, mem *sql.DB, desired *schema.Schema) (*schema.Schema, error) {
	tx, err := mem.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrapf("planning sqlite: normalising the models", err)
	}
	defer tx.Rollback()
	drv, err := openAtlas(SQLite, tx)
	if err != nil {
		return nil, err
	}
	changes := make([]schema.Change, 0, len(desired.Tables))
	for _, t := range desired.Tables {
		changes = append(changes, &schema.AddTable{T: t})
	}
	if err := drv.ApplyChanges(ctx, changes, func(o *migrate.PlanOptions) {
		noQualifier := ""
		o.SchemaQualifier = &noQualifier
	}); err != nil {
		return nil, &ModelsError{Dialect: SQLite, Err: err}
	}
	ns, err := InspectTables(ctx, drv)
	if err != nil {
		return nil, wrapf("planning sqlite: inspecting the normalised models", err)
	}
	return ns, nil
}

// withoutOwnTables drops Weber's bookkeeping tables from an inspection.
func withoutOwnTables(ts []*schema.Table) []*schema.Table {
	out := ts[:0]
	for _, t := range ts {
		if !slices.Contains(liveschema.OwnTables, t.Name) {
			out = append(out, t)
		}
	}
	return out
}

// rehearse applies the planned file on db, the dev database that holds the
// replayed history the plan was made against, exactly as the executor
// would (split by the dialect's scanner, directives honoured), and checks
// that db then matches desired. It is what makes a revision write only
// files that were applied on that dialect's server.
func rehearse(ctx context.Context, db *sql.DB, p *Plan, desired *schema.Schema) error {
	if p.Dialect == MySQL {
		// Each ALTER runs in the least-locking form the server accepts.
		if err := mysqlOnline(ctx, db, p); err != nil {
			return err
		}
		return compareRehearsed(ctx, db, p, desired)
	}
	f := migrate.NewLocalFile("planned.sql", p.Content)
	if _, err := Replay(ctx, db, p.Dialect, []migrate.File{f}, ""); err != nil {
		var re *ReplayError
		if errors.As(err, &re) {
			return &PlannedFileError{Dialect: p.Dialect, Statement: re.Statement, SQL: re.SQL, Err: re.Err}
		}
		return wrapf("planning "+p.Dialect+": rehearsing the planned file on the dev database", err)
	}
	return compareRehearsed(ctx, db, p, desired)
}

// compareRehearsed checks that db, after the planned file, matches desired.
func compareRehearsed(ctx context.Context, db *sql.DB, p *Plan, desired *schema.Schema) error {
	drv, err := openAtlas(p.Dialect, db)
	if err != nil {
		return err
	}
	after, err := InspectTables(ctx, drv)
	if err != nil {
		return wrapf("planning "+p.Dialect+": inspecting the dev database after the planned file", err)
	}
	changes, err := TableChanges(drv, after, desired)
	if err != nil {
		return wrapf("planning "+p.Dialect+": comparing the rehearsed file with the models", err)
	}
	if len(changes) > 0 {
		return &PlannedFileError{Dialect: p.Dialect, Remaining: describeChanges(changes)}
	}
	return nil
}
