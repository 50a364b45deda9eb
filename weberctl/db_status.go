package weberctl

import (
	"context"
	"database/sql"
	entschema "entgo.io/ent/dialect/sql/schema"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/engine"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/weberschema"
)

func dbStatusCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "compare the models, the migration history and the live database, three ways",
		Description: `Shows where the database stands, three ways, each difference named down to
the table and the column:

  1. models against history: the models differ from what the migration
     folder of the database's dialect builds, so a revision is needed (the
     statements ` + "`weberctl db revision`" + ` would write are listed);
  2. history against database: files pending, a partially applied file, and
     anything an upgrade would refuse (an edited or deleted applied file...);
  3. database against its applied history: changes someone made by hand on
     the live database, e.g. "users.x: column added by hand (int NULL)".

It ends with a verdict line. Ways 1 and 3 replay the history on a scratch
database: in memory for SQLite; on PostgreSQL and MySQL on the server that
--dev-url (or WEBER_DEV_POSTGRES_URL / WEBER_DEV_MYSQL_URL) names. Without
one, those two ways are reported as not checked, with the variable to set,
and the second way is still shown. --skip-models and --skip-live leave them
out. When no dev server is set and the server is installed (Debian:
postgresql, mariadb-server), weberctl starts a private one itself (see
` + "`weberctl devserver --help`" + `).

It takes no lock, changes nothing and exits 0 whatever it finds: status
informs. Scripts read --json ("clean" is true when all three ways were
checked and agree); CI gates on ` + "`weberctl db check`" + `.

` + fleetHelp + ` Over many databases it shows the second way only:
each target's version and what is pending; a target with a problem fails.

Example:
   weberctl db status
   weberctl db status --skip-live
   weberctl db status --json --database-url postgres://app@db.internal/app
   weberctl db status --targets tenants.txt --keep-going`,
		Flags: withGlobal(append([]cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("the status")},
			&cli.BoolFlag{Name: "skip-models", Usage: "do not compare the models with the history (way 1)"},
			&cli.BoolFlag{Name: "skip-live", Usage: "do not compare the live database with its applied history (way 3)"},
		}, append(append(devURLFlags(), devURLFlag()), fleetFlags()...)...)...),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			if fleetRequested(c) {
				return e.fleetStatus(c)
			}
			cfg, u, db, dir, err := e.openTarget(c, false)
			if err != nil {
				return err
			}
			defer db.Close()
			folder, err := migdir.Folder(u.Dialect)
			if err != nil {
				return err
			}
			devURL := devURLFor(c, cfg, folder)
			if !c.Bool("skip-models") || !c.Bool("skip-live") {
				dev, err := e.devServerURLs(c, cfg, []string{folder})
				if err != nil {
					return err
				}
				devURL = dev[folder]
			}
			v, err := statusOf(c.Context, db, u, dir, statusFlags{tables: e.project.Tables, renames: e.project.Renames, data: e.dataMigrations(),
				folder:     folder,
				devURL:     devURL,
				devHint:    e.devHint(folder),
				skipModels: c.Bool("skip-models"),
				skipLive:   c.Bool("skip-live"),
				logger:     cfg.Logger,
			})
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(e.stdout, v)
			}
			renderStatus(e.stdout, v)
			return nil
		},
	}
}

// statusFlags are what `db status` was asked.
type statusFlags struct {
	folder               string // the dialect folder's name
	devURL               string
	devHint              string // what to install for a private dev server
	skipModels, skipLive bool
	logger               *slog.Logger
	tables               []*entschema.Table   // the models
	renames              []weberschema.Rename // the models' declared renames
	data                 map[string]engine.DataMigration
}

// modelsWay is the models against the history.
type modelsWay struct {
	// Checked is false when the way was skipped or could not run (Reason
	// says why).
	Checked bool `json:"checked"`
	// Ahead reports that a revision is needed.
	Ahead bool `json:"ahead"`
	// Statements are what `db revision` would write; LeftOut the
	// destructive changes it would leave out without --allow-destructive.
	Statements []string `json:"statements"`
	LeftOut    []string `json:"left_out"`
	Reason     string   `json:"reason,omitempty"`
}

// liveWay is the live database against its applied history.
type liveWay struct {
	Checked bool `json:"checked"`
	// Clean reports that nobody changed the database by hand.
	Clean bool `json:"clean"`
	// Version is the applied version the history was replayed to.
	Version string `json:"version"`
	// Replayed counts the files replayed; Partial names a partially
	// applied file whose PartialApplied statements were replayed.
	Replayed       int              `json:"replayed"`
	Partial        string           `json:"partial,omitempty"`
	PartialApplied int              `json:"partial_applied,omitempty"`
	Differences    []differenceView `json:"differences"`
	Reason         string           `json:"reason,omitempty"`
}

// statusView is `db status --json`.
type statusView struct {
	Database string `json:"database"`
	Dialect  string `json:"dialect"`
	Dir      string `json:"dir"`
	// Clean reports that all three ways were checked and agree.
	Clean bool `json:"clean"`
	// Verdict is the verdict line people read.
	Verdict string      `json:"verdict"`
	Models  modelsWay   `json:"models"`
	History historyView `json:"history"`
	Live    liveWay     `json:"live"`
}

// statusOf computes the three ways with the engine's Overview (with --skip-live,
// the other two without it) and turns them into the view.
func statusOf(ctx context.Context, db *sql.DB, u *dbconn.URL, dir string, f statusFlags) (*statusView, error) {
	noDev := ""
	if f.folder != plan.SQLite && strings.TrimSpace(f.devURL) == "" {
		noDev = fmt.Sprintf("no dev database for %s: set %s or --dev-url to a server where weberctl may create scratch databases%s",
			f.folder, plan.DevURLVariable(f.folder), f.devHint)
	}
	eng, err := newEngine(u, db, dir, f.logger, f.data)
	if err != nil {
		return nil, err
	}
	var rep *engine.Overview
	if f.skipLive || noDev != "" {
		// Overview always compares the live database; here it is skipped
		// (or cannot run), so compute the other ways directly.
		hist, err := eng.Status(ctx)
		if err != nil {
			return nil, err
		}
		rep = &engine.Overview{Dialect: u.Dialect, Dir: dir, History: hist}
		if !f.skipModels && noDev == "" {
			p, err := plan.ModelsAhead(ctx, f.folder, dir, f.devURL, f.tables, f.renames...)
			if err != nil {
				rep.ModelsError = errtext.OneLine(err)
			} else {
				rep.Models = p
			}
		}
	} else {
		opts := engine.OverviewOptions{DevURL: f.devURL}
		if !f.skipModels {
			opts.Tables = f.tables
		}
		if rep, err = eng.Overview(ctx, opts); err != nil {
			return nil, err
		}
	}

	v := &statusView{Database: u.Redacted(), Dialect: f.folder, Dir: dir, History: newHistoryView(rep.History),
		Models: modelsWay{Statements: []string{}, LeftOut: []string{}},
		Live:   liveWay{Differences: []differenceView{}}}
	switch {
	case f.skipModels:
		v.Models.Reason = "skipped (--skip-models)"
	case noDev != "":
		v.Models.Reason = noDev
	case rep.Models == nil:
		v.Models.Reason = rep.ModelsError
	default:
		v.Models.Checked, v.Models.Ahead = true, rep.Models.Ahead()
		for _, s := range rep.Models.Statements {
			v.Models.Statements = append(v.Models.Statements, s.SQL)
		}
		for _, l := range rep.Models.LeftOut {
			v.Models.LeftOut = append(v.Models.LeftOut, l.String())
		}
	}
	switch {
	case f.skipLive:
		v.Live.Reason = "skipped (--skip-live)"
	case noDev != "":
		v.Live.Reason = noDev
	case rep.Live == nil:
		v.Live.Reason = rep.LiveError
	default:
		l := rep.Live
		v.Live = liveWay{Checked: true, Clean: l.Clean, Version: l.Version, Replayed: l.Replayed, Partial: l.Partial,
			PartialApplied: l.PartialApplied, Differences: differenceViews(l.Differences)}
	}
	v.Clean, v.Verdict = verdict(v)
	return v, nil
}

// verdict sums the three ways up in one line.
func verdict(v *statusView) (clean bool, line string) {
	var differ, unchecked []string
	if v.Models.Checked && v.Models.Ahead {
		differ = append(differ, "the models are ahead of the history ("+revisionHint(v.Models)+")")
	} else if !v.Models.Checked {
		unchecked = append(unchecked, "models")
	}
	h := v.History
	advice := upgradeAdvice(h)
	if n := len(h.Pending); n > 0 {
		differ = append(differ, plural(n, "file", "files")+" pending ("+advice+")")
	}
	if h.Partial != nil {
		differ = append(differ, h.Partial.Name+" partially applied")
		if len(h.Pending) == 0 {
			differ[len(differ)-1] += " (" + advice + ")"
		}
	}
	if n := len(h.UntrackedTables); n > 0 {
		differ = append(differ, plural(n, "table", "tables")+" without history (baseline with `weberctl db upgrade --baseline VERSION`)")
	}
	if n := refusals(h); n > 0 {
		differ = append(differ, plural(n, "problem", "problems")+" an upgrade would refuse")
	}
	if n := len(h.InvalidIndexes); n > 0 {
		differ = append(differ, plural(n, "INVALID index", "INVALID indexes")+" left by a failed concurrent build")
	}
	if v.Live.Checked && !v.Live.Clean {
		differ = append(differ, plural(len(v.Live.Differences), "change", "changes")+" made by hand on the database")
	} else if !v.Live.Checked {
		unchecked = append(unchecked, "live database")
	}
	switch {
	case len(differ) > 0:
		line = "NOT in sync: " + strings.Join(differ, "; ")
		if len(unchecked) > 0 {
			line += "; not checked: " + strings.Join(unchecked, ", ")
		}
	case len(unchecked) > 0:
		line = "in sync as far as checked (not checked: " + strings.Join(unchecked, ", ") + ")"
	default:
		return true, "in sync: the models, the history and the database agree"
	}
	return false, line
}

// upgradeAdvice says what it takes to apply the pending files: `weberctl
// db upgrade` alone only when it would not refuse; otherwise the flag it
// needs, or the problems to fix first.
func upgradeAdvice(h historyView) string {
	var outOfOrder, untracked, other bool
	for _, p := range h.Problems {
		switch engine.Kind(p.Kind) {
		case engine.KindOutOfOrder:
			outOfOrder = true
		case engine.KindNotClean:
			untracked = true
		default:
			other = true
		}
	}
	switch {
	case other:
		return "an upgrade would refuse them: fix the problems it names first"
	case untracked:
		return "baseline first: `weberctl db upgrade --baseline VERSION`"
	case h.Partial != nil && h.Partial.Unconfirmed:
		return "check whether the unrecorded statement took effect, then run `weberctl db upgrade --retry` or `--mark-applied`"
	case outOfOrder:
		return "older than the current version: if they were merged from a branch, run `weberctl db upgrade --allow-out-of-order`"
	}
	return "run `weberctl db upgrade`"
}

// refusals counts the problems an upgrade would refuse that the verdict
// does not already name (tables without history are named on their own).
func refusals(h historyView) int {
	n := 0
	for _, p := range h.Problems {
		if engine.Kind(p.Kind) != engine.KindNotClean {
			n++
		}
	}
	return n
}

// revisionHint says how to write the revision: with --allow-destructive
// when the models only remove things.
func revisionHint(m modelsWay) string {
	if len(m.Statements) == 0 && len(m.LeftOut) > 0 {
		return "run `weberctl db revision --allow-destructive` if the removals are intended"
	}
	return "run `weberctl db revision`"
}

// describeDifference says what was changed by hand, e.g.
// "users.x: column added by hand (bigint NULL)".
func describeDifference(d engine.Difference) string {
	subject := d.Table
	switch {
	case d.Column != "":
		subject = d.Table + "." + d.Column
	case d.Index != "" && d.Table != "":
		subject = d.Table + "." + d.Index
	case d.Index != "":
		subject = d.Index
	case subject == "":
		subject = "schema"
	}
	what := d.Kind
	for _, verb := range []string{"added", "dropped", "changed"} {
		if obj, ok := strings.CutSuffix(d.Kind, "-"+verb); ok {
			what = strings.ReplaceAll(obj, "-", " ") + " " + verb
			break
		}
	}
	s := subject + ": " + what + " by hand"
	if d.Detail != "" {
		s += " (" + d.Detail + ")"
	}
	return s
}

// renderStatus prints the three ways and the verdict for people.
func renderStatus(w io.Writer, v *statusView) {
	h := v.History
	fmt.Fprintf(w, "Database:  %s\n", v.Database)
	fmt.Fprintf(w, "History:   %s (%s)\n", v.Dir, plural(h.Files, "file", "files"))
	switch {
	case !h.HasHistory:
		fmt.Fprintf(w, "Current:   none (no revision table yet)\n")
	case h.Current == "":
		fmt.Fprintf(w, "Current:   none\n")
	default:
		fmt.Fprintf(w, "Current:   %s (%s)\n", h.Current, h.CurrentName)
	}
	fmt.Fprintf(w, "Applied:   %d\n", h.Applied)

	fmt.Fprintf(w, "\n1. Models against history: ")
	m := v.Models
	switch {
	case !m.Checked:
		fmt.Fprintf(w, "not checked: %s\n", m.Reason)
	case !m.Ahead:
		fmt.Fprintf(w, "in sync\n")
	default:
		fmt.Fprintf(w, "a revision is needed (%s):\n", revisionHint(m))
		for _, s := range m.Statements {
			fmt.Fprintf(w, "   %s\n", withSemicolon(errtext.Flatten(s)))
		}
		for _, l := range m.LeftOut {
			fmt.Fprintf(w, "   %s (destructive: written only with --allow-destructive)\n", l)
		}
	}

	fmt.Fprintf(w, "\n2. History against database: ")
	if h.UpToDate {
		fmt.Fprintf(w, "up to date\n")
	} else {
		fmt.Fprintf(w, "%s pending", plural(len(h.Pending), "file", "files"))
		if h.Partial != nil {
			fmt.Fprintf(w, ", 1 partially applied")
		}
		fmt.Fprintln(w)
	}
	for _, p := range h.Pending {
		what := plural(p.Statements, "statement", "statements")
		if p.Go != "" {
			what = "Go data migration " + p.Go
		}
		fmt.Fprintf(w, "   pending: %s (%s)\n", p.Name, what)
	}
	if len(h.OutOfOrder) > 0 {
		fmt.Fprintf(w, "   out of order (older than the current version): %s\n", strings.Join(h.OutOfOrder, ", "))
	}
	if p := h.Partial; p != nil {
		if strings.HasPrefix(p.Progress, "data migration ") {
			fmt.Fprintf(w, "   partial: %s", p.Name) // a Go data migration has no statements
		} else {
			fmt.Fprintf(w, "   partial: %s: applied %d of %s", p.Name, p.Applied, plural(p.Total, "statement", "statements"))
		}
		if p.Error != "" {
			fmt.Fprintf(w, "; failed: %s", p.Error)
		}
		if p.Unconfirmed {
			fmt.Fprintf(w, "; statement %d started but its outcome was never recorded", p.Applied+1)
		}
		if strings.HasPrefix(p.Progress, "data migration ") {
			fmt.Fprintf(w, ": %s", p.Progress)
		} else if p.Progress != "" {
			fmt.Fprintf(w, "; %s", p.Progress)
		}
		fmt.Fprintln(w)
	}
	if len(h.UntrackedTables) > 0 {
		fmt.Fprintf(w, "   untracked: %s without history (%s): baseline with `weberctl db upgrade --baseline VERSION`\n",
			plural(len(h.UntrackedTables), "table", "tables"), strings.Join(h.UntrackedTables, ", "))
	}
	for _, p := range h.Problems {
		fmt.Fprintf(w, "   an upgrade would refuse: %s\n", p.Message)
	}
	for _, ix := range h.InvalidIndexes {
		fmt.Fprintf(w, "   INVALID index %s: a concurrent build failed or was interrupted; queries do not use it, writes still maintain it. The next `weberctl db upgrade` drops and rebuilds it if a pending file builds it; otherwise DROP INDEX CONCURRENTLY %s and build it again\n", ix, ix)
	}

	fmt.Fprintf(w, "\n3. Database against its applied history: ")
	l := v.Live
	switch {
	case !l.Checked:
		fmt.Fprintf(w, "not checked: %s\n", l.Reason)
	case l.Clean:
		fmt.Fprintf(w, "no change made by hand\n")
	default:
		fmt.Fprintf(w, "%s made by hand:\n", plural(len(l.Differences), "change", "changes"))
		for _, d := range l.Differences {
			fmt.Fprintf(w, "   %s\n", d.Description)
		}
	}
	fmt.Fprintf(w, "\nVerdict: %s.\n", v.Verdict)
}
