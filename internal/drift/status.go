package drift

import (
	"context"
	"database/sql"
	"log/slog"

	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/upgrade"
)

// OverviewOptions configure Overview.
type OverviewOptions struct {
	// DevURL names the PostgreSQL or MySQL server where scratch databases
	// are created to replay the history (SQLite needs none). Without it,
	// on a server dialect, the two ways that replay (Models and Live) are
	// skipped with their reason.
	DevURL string
	// Tables are the models (ent's migrate.Tables); nil skips the models
	// against history way.
	Tables []*entschema.Table
	// Logger receives debug output; nil discards.
	Logger *slog.Logger
}

// OverviewReport is `db status` three ways, for one database and its
// dialect's migration folder.
type OverviewReport struct {
	// Dialect is ent's dialect name; Dir the migration directory.
	Dialect string
	Dir     string
	// Models is the models against the history: a plan whose Ahead()
	// means a revision is needed (nil when it could not be computed).
	Models *plan.Plan
	// ModelsError says why Models is nil ("" when it is not).
	ModelsError string
	// History is the history against the live database: files pending or
	// partial, and the problems an upgrade would refuse.
	History *upgrade.StatusResult
	// Live is the live database against its applied history (nil when it
	// could not be computed).
	Live *Report
	// LiveError says why Live is nil ("" when it is not).
	LiveError string
}

// Clean reports that all three ways agree: the models need no revision,
// nothing is pending, partial or wrong, and no one changed the database by
// hand. A way that could not be computed is not clean.
func (r *OverviewReport) Clean() bool {
	return r.Models != nil && !r.Models.Ahead() &&
		r.History != nil && r.History.UpToDate() &&
		r.Live != nil && r.Live.Clean
}

// Overview computes the three ways for db (named by u) against the dialect
// folder dirPath. It fails only when the database cannot be read (the
// history against live way); the models and live ways record their own
// failures (no dev server, an invalid or tampered directory, a file that
// no longer replays) in ModelsError and LiveError. It changes nothing on
// db and takes no lock.
func Overview(ctx context.Context, db *sql.DB, u *dbconn.URL, dirPath string, opts OverviewOptions) (*OverviewReport, error) {
	src, err := upgrade.NewSource(db, u, dirPath, opts.Logger, "status")
	if err != nil {
		return nil, err
	}
	return OverviewFrom(ctx, src, opts)
}

// OverviewFrom is Overview on a Source built once (the engine's); opts.Logger
// is not used (the Source's logger is).
func OverviewFrom(ctx context.Context, src *upgrade.Source, opts OverviewOptions) (*OverviewReport, error) {
	u, dirPath := src.URL(), src.Dir()
	hist, err := src.Status(ctx)
	if err != nil {
		return nil, err
	}
	rep := &OverviewReport{Dialect: u.Dialect, Dir: dirPath, History: hist}
	if opts.Tables == nil {
		rep.ModelsError = "no models given"
	} else if p, err := plan.ModelsAhead(ctx, u.Dialect, dirPath, opts.DevURL, opts.Tables); err != nil {
		rep.ModelsError = errtext.OneLine(err)
	} else {
		rep.Models = p
	}
	if live, err := LiveFrom(ctx, src, opts.DevURL); err != nil {
		rep.LiveError = errtext.OneLine(err)
	} else {
		rep.Live = live
	}
	return rep, nil
}
