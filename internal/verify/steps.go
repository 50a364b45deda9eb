package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/fingerprint"
	"github.com/weber-framework/weber/internal/liveschema"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/preflight"
	"github.com/weber-framework/weber/internal/scratchdb"
	"github.com/weber-framework/weber/internal/upgrade"
	"github.com/weber-framework/weber/weberschema"
)

var errNoDev = errors.New("no dev server")

// scratch creates the scratch database: an SQLite file in a temporary
// folder, or "weber_verify_o" + random (internal/scratchdb) on the
// dialect's dev server. The returned function closes and removes it, even
// after cancellation.
func (r *rehearsal) scratch(ctx context.Context, d string) (*sql.DB, func(), error) {
	var err error
	if d == dialect.SQLite {
		tmp, err := os.MkdirTemp("", "weber-verify-")
		if err != nil {
			return nil, nil, fmt.Errorf("verify sqlite: creating a scratch folder: %w", err)
		}
		if r.u, err = dbconn.Parse("sqlite://" + filepath.Join(tmp, "verify.db")); err != nil {
			os.RemoveAll(tmp)
			return nil, nil, fmt.Errorf("verify sqlite: %w", err)
		}
		if _, err := dbconn.EnsureDatabase(ctx, r.u); err != nil {
			os.RemoveAll(tmp)
			return nil, nil, fmt.Errorf("verify sqlite: %w", err)
		}
		db, err := dbconn.Open(ctx, r.u)
		if err != nil {
			os.RemoveAll(tmp)
			return nil, nil, fmt.Errorf("verify sqlite: %w", err)
		}
		return db, func() { db.Close(); os.RemoveAll(tmp) }, nil
	}
	raw := strings.TrimSpace(r.opts.DevURLs[r.folder])
	if raw == "" {
		return nil, nil, fmt.Errorf("%w for %s: pass --dev-%s-url or set WEBER_DEV_%s_URL to rehearse on it, or leave %s out with --dialect", errNoDev, r.folder, r.folder, strings.ToUpper(r.folder), r.folder)
	}
	base, err := dbconn.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("verify %s: the dev URL: %w", r.folder, err)
	}
	if base.Dialect != d {
		return nil, nil, fmt.Errorf("verify %s: the dev URL %s is not a %s server: check --dev-%s-url or WEBER_DEV_%s_URL", r.folder, base.Redacted(), r.folder, r.folder, strings.ToUpper(r.folder))
	}
	start := time.Now()
	sd, err := scratchdb.Create(ctx, base, scratchdb.VerifyPrefix)
	if err != nil {
		return nil, nil, fmt.Errorf("verify %s: creating the scratch database: %w", r.folder, err)
	}
	if notes := plan.ReapNotes(base, sd.Removed, sd.Kept); len(notes) > 0 {
		r.step("remove stale scratch databases", start, Pass, strings.Join(notes, "; "))
	}
	r.u = sd.URL
	drop := func() {
		if err := sd.Drop(ctx); err != nil {
			r.log.Warn("verify: dropping the scratch database", "database", r.u.Redacted(), "err", err)
		}
	}
	db, err := dbconn.Open(ctx, r.u)
	if err != nil {
		drop()
		return nil, nil, fmt.Errorf("verify %s: %w", r.folder, err)
	}
	return db, func() { db.Close(); drop() }, nil
}

// apply runs one file through the real upgrade path and notes what it
// touched. It reports whether the rehearsal can go on.
func (r *rehearsal) apply(ctx context.Context, db *sql.DB, d string, f *migdir.File) bool {
	start := time.Now()
	name := "apply " + f.Name
	r.progress(name, "", 0, 0)
	beforeSchema, err := liveschema.Inspect(ctx, db, d)
	if err != nil {
		r.step(name, start, Fail, errtext.OneLine(err))
		return false
	}
	res, err := upgrade.Upgrade(ctx, db, r.u, r.dir, upgrade.Options{To: f.Version, Logger: r.log, AllowDataLoss: true, DataMigrations: r.opts.DataMigrations})
	if err != nil {
		r.step(name, start, Fail, errtext.OneLine(err))
		return false
	}
	if len(res.Files) != 1 {
		r.step(name, start, Fail, fmt.Sprintf("the upgrade applied %d files instead of 1: check the history's order", len(res.Files)))
		return false
	}
	afterSchema, err := liveschema.Inspect(ctx, db, d)
	if err != nil {
		r.step(name, start, Fail, errtext.OneLine(err))
		return false
	}
	drv, err := liveschema.Driver(db, d)
	if err != nil {
		r.step(name, start, Fail, errtext.OneLine(err))
		return false
	}
	// The file's renames, made on the schema before, are no change of
	// data: the renamed columns are compared with their new names.
	renames := fileRenames(f)
	r.renames = append(r.renames, renames...)
	plan.WithRenames(beforeSchema, renames)
	changes, err := drv.SchemaDiff(beforeSchema, afterSchema)
	if err != nil {
		r.step(name, start, Fail, "comparing the schema before and after: "+errtext.OneLine(err))
		return false
	}
	names := r.noteTouched(f, changes)
	detail := plural(len(f.Stmts), "statement")
	if len(names) > 0 {
		detail += "; touches " + strings.Join(dedupe(names), ", ")
	}
	r.step(name, start, Pass, detail)
	return true
}

// noteTouched records what file f touched, by its schema changes and its
// declarations, and returns those names for the step's detail.
func (r *rehearsal) noteTouched(f *migdir.File, changes []schema.Change) []string {
	var names []string
	intended := intendedDrop(f)
	for _, tc := range changedNames(changes) {
		r.touched.Add(tc[0], tc[1])
		names = append(names, tc[0]+"."+tc[1])
		if intended {
			key := tc[0]
			if tc[1] != "*" {
				key += "." + tc[1]
			}
			r.intended[key] = f.Name
		}
	}
	for name := range preflight.ParseDataLoss(f.Bytes) {
		r.declared[name] = f.Name
		names = append(names, name+" (data loss declared)")
	}
	for _, tc := range declaredTouches(f) {
		r.touched.Add(tc[0], tc[1])
		names = append(names, tc[0]+"."+tc[1]+" (declared)")
	}
	return names
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// fileRenames are the renames f's statements make (plan.RenamesIn).
func fileRenames(f *migdir.File) []weberschema.Rename {
	stmts := make([]string, len(f.Stmts))
	for i, s := range f.Stmts {
		stmts[i] = s.Text
	}
	return plan.RenamesIn(stmts)
}

// check fingerprints the data again and proves it against before: rows
// kept, values kept (a renamed table or column, by renames, under its new
// name), foreign keys hold. It returns the new snapshot, which
// the caller closes.
func (r *rehearsal) check(ctx context.Context, db *sql.DB, d string, before *fingerprint.Snapshot, when string, renames ...weberschema.Rename) (*fingerprint.Snapshot, bool) {
	start := time.Now()
	after, err := r.fingerprint(ctx, db, d, "fingerprint the data "+when)
	if err != nil {
		r.step("fingerprint the data "+when, start, Fail, errtext.OneLine(err))
		return nil, false
	}
	fs, err := fingerprint.Compare(ctx, before.Renamed(renames), after, r.touched)
	if err != nil {
		after.Close()
		r.step("fingerprint the data "+when, start, Fail, errtext.OneLine(err))
		return nil, false
	}
	findings := r.accept(fs)
	var rows, values []fingerprint.Finding
	for _, f := range findings {
		switch f.Kind {
		case fingerprint.RowsLost, fingerprint.RowsAdded, fingerprint.TableDropped, fingerprint.TableRenamed:
			rows = append(rows, f)
		default:
			values = append(values, f)
		}
	}
	r.verdict("no row lost "+when, start, rows, describeSnapshot(before)+" before; "+describeSnapshot(after)+" after")
	r.verdict("untouched values unchanged "+when, start, values, "every value of every column the files did not touch is unchanged")

	start = time.Now()
	fks, err := fingerprint.CheckForeignKeys(ctx, db, d)
	if err != nil {
		r.step("foreign keys hold "+when, start, Fail, errtext.OneLine(err))
		return after, true
	}
	r.verdict("foreign keys hold "+when, start, fks, "every reference has its row")
	return after, true
}

// accept turns losses the files declare (weber:data-loss), drops they
// mark as intended (atlas:nolint), or any loss when data loss is allowed,
// into information. A table whose drop is accepted may come back empty
// from the downgrade: its lost rows are accepted too.
func (r *rehearsal) accept(fs []fingerprint.Finding) []fingerprint.Finding {
	for i, f := range fs {
		if f.Severity != fingerprint.Error {
			continue
		}
		key := f.Table
		if f.Column != "" && f.Kind != fingerprint.ForeignKeyBroken {
			key += "." + f.Column
		}
		switch f.Kind {
		case fingerprint.ValueChanged, fingerprint.ColumnDropped, fingerprint.TableDropped, fingerprint.RowsLost:
		default:
			continue
		}
		if why := r.acceptedBy(f, key); why != "" {
			fs[i].Severity = fingerprint.Info
			fs[i].Message += " (" + why + ")"
			continue
		}
		if f.Kind == fingerprint.ValueChanged {
			fs[i].Message += fmt.Sprintf(": if a file rewrites it on purpose, say so with `-- weber:touches %s` in that file", key)
			continue
		}
		fs[i].Message += fmt.Sprintf(": if a file loses it on purpose, say so with `-- %s %s` in that file, or pass --allow-data-loss", preflight.DataLossDirective, key)
	}
	return fs
}

// acceptedBy says why a loss is accepted, or "" when it is not.
func (r *rehearsal) acceptedBy(f fingerprint.Finding, key string) string {
	if file, ok := r.declared[f.Table]; ok {
		return "declared: " + file + " says " + preflight.DataLossDirective + " " + f.Table
	}
	if file, ok := r.declared[key]; ok && f.Column != "" {
		return "declared: " + file + " says " + preflight.DataLossDirective + " " + key
	}
	if f.Kind == fingerprint.ValueChanged {
		return ""
	}
	if file, ok := r.intended[key]; ok && f.Kind != fingerprint.RowsLost {
		return "intended: " + file + " marks the change with atlas:nolint"
	}
	if file, ok := r.intended[f.Table]; ok && f.Kind == fingerprint.RowsLost {
		return "the drop of " + f.Table + " is intended: " + file + " marks it with atlas:nolint"
	}
	if r.opts.AllowDataLoss {
		return "allowed by --allow-data-loss"
	}
	return ""
}

// verdict records a step that fails when any finding is an error.
func (r *rehearsal) verdict(name string, start time.Time, fs []fingerprint.Finding, okDetail string) {
	if !fingerprint.Failed(fs) {
		detail := okDetail
		for _, f := range fs {
			detail += "; " + f.Message
		}
		r.step(name, start, Pass, detail, fs...)
		return
	}
	var msgs []string
	for _, f := range fs {
		if f.Severity == fingerprint.Error {
			msgs = append(msgs, f.Message)
		}
	}
	r.step(name, start, Fail, strings.Join(msgs, "; "), fs...)
}

// models checks that the upgraded schema equals the models.
func (r *rehearsal) models(ctx context.Context, db *sql.DB, d string) {
	start := time.Now()
	const name = "final schema equals the models"
	if len(r.opts.Tables) == 0 {
		r.step(name, start, Skip, "no models given")
		return
	}
	p, err := plan.Models(ctx, db, r.folder, r.opts.Tables, plan.Options{AllowDestructive: true, Logger: r.log, DevURL: r.opts.DevURLs[r.folder]})
	if err != nil {
		r.step(name, start, Fail, errtext.OneLine(err))
		return
	}
	if p.Empty() {
		r.step(name, start, Pass, "no difference")
		return
	}
	var what []string
	for _, tc := range changedNames(p.Changes) {
		what = append(what, tc[0]+"."+tc[1])
	}
	what = dedupe(what)
	if len(what) == 0 {
		for _, s := range p.Statements {
			what = append(what, s.Comment)
		}
	}
	r.step(name, start, Fail, fmt.Sprintf("the schema the files build differs from the models at %s (%d statements would change it): run `weberctl db revision`", strings.Join(what, ", "), len(p.Statements)))
}

// reverse downgrades to the starting version, proves the data, upgrades
// again and proves it once more.
func (r *rehearsal) reverse(ctx context.Context, db *sql.DB, d, from string, before, after *fingerprint.Snapshot, tested []*migdir.File) {
	start := time.Now()
	to := from
	if to == "" {
		to = upgrade.Empty
	}
	name := "downgrade to " + to
	r.progress(name, "", 0, 0)
	res, err := upgrade.Downgrade(ctx, db, r.u, r.dir, upgrade.DowngradeOptions{To: to, AllowDataLoss: true, DevURL: r.opts.DevURLs[r.folder], Logger: r.log})
	if err != nil {
		r.step(name, start, Skip, "the files cannot be reversed automatically: "+errtext.OneLine(err))
		return
	}
	detail := plural(len(res.Reverted), "file") + " reverted"
	if len(res.DataLoss) > 0 {
		detail += "; dropped: " + strings.Join(res.DataLoss, ", ")
	}
	r.step(name, start, Pass, detail)
	if from == "" {
		return // nothing was there before the files: no data to prove
	}
	down, ok := r.check(ctx, db, d, before, "after the downgrade")
	if !ok {
		return
	}
	down.Close()
	start = time.Now()
	if _, err := upgrade.Upgrade(ctx, db, r.u, r.dir, upgrade.Options{Logger: r.log, AllowDataLoss: true, DataMigrations: r.opts.DataMigrations}); err != nil {
		r.step("upgrade again", start, Fail, errtext.OneLine(err))
		return
	}
	r.step("upgrade again", start, Pass, plural(len(tested), "file")+" applied")
	if again, ok := r.check(ctx, db, d, after, "after upgrading again"); ok {
		again.Close()
	}
}
