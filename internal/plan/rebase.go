package plan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/migdir"
)

// RebaseOptions configures Rebase. Tables and Versions are required.
type RebaseOptions struct {
	// Root holds one folder per dialect (default "migrations"); Dialects
	// are the kept dialects, by folder name (default all three).
	Root     string
	Dialects []string
	// DevURLs gives, per dialect, the server for its scratch database.
	DevURLs map[string]string
	// Tables are the merged models: ent's migrate.Tables.
	Tables []*entschema.Table
	// Versions are this branch's revisions: the ones to move after every
	// other file. A version listed but in no folder is an error.
	Versions []string
	// Applied are the versions a shared database has applied: moving one
	// of them is refused, since that database would then see its file as
	// deleted and the moved one as new.
	Applied []string
	// Now gives the moved revisions' first version (default time.Now);
	// they always land after the newest file.
	Now func() time.Time
	// Logger receives progress at debug level; nil discards.
	Logger *slog.Logger
}

// Moved is one revision Rebase moved.
type Moved struct {
	// From is the revision's old file name; To its new one ("" when
	// Action is RebaseDropped).
	From, To string
	// Action is RebaseRenamed, RebaseReplanned or RebaseDropped.
	Action string
}

// What Rebase did with a revision.
const (
	// RebaseRenamed: the file moved to a new version, its content kept.
	RebaseRenamed = "renamed"
	// RebaseReplanned: the file no longer took the merged history to the
	// models; it was planned again against the merged history.
	RebaseReplanned = "replanned"
	// RebaseDropped: re-planned, the merged history already reached the
	// models without it, so it is gone.
	RebaseDropped = "dropped"
)

// RebaseResult is what Rebase did.
type RebaseResult struct {
	// Repaired lists the atlas.sum files that held git conflict markers.
	Repaired []string
	// Moved lists the revisions moved, oldest first; empty when they were
	// already after every other file.
	Moved []Moved
	// Replanned reports that the moved files had to be planned again.
	Replanned bool
	// Reason says why they were re-planned ("" when they were not).
	Reason string
	// Lint is the lint of the moved files, per dialect.
	Lint []LintReport
	// Warnings did not stop the rebase (a scratch database left behind).
	Warnings []string
}

// LintErrors counts the lint findings of the moved files that fail lint.
func (r *RebaseResult) LintErrors() int {
	n := 0
	for _, l := range r.Lint {
		n += len(l.Errors())
	}
	return n
}

// Rebase puts this branch's revisions (opts.Versions) after every other
// file, in every kept dialect's folder at once, after a merge of two
// branches that each added revisions. Each moved revision gets a new
// version, the same in every folder, after the newest file, in the order
// they had. Then, on a dev database per dialect, the merged history is
// replayed and compared with the models: when it fails to replay or does
// not reach them (both branches changed the same thing), the moved files
// written by `db revision` are planned again as one revision named after
// the newest of them, and the hand-written ones (`db new`) follow it
// unchanged. Every atlas.sum is rewritten, conflict markers or not, and
// the moved files are linted. On any failure every folder is restored as
// it was.
func Rebase(ctx context.Context, opts RebaseOptions) (*RebaseResult, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	rb, err := newRebaser(opts)
	if err != nil {
		return nil, err
	}
	res, err := rb.run(ctx)
	if err != nil {
		rb.restore()
		return nil, err
	}
	return res, nil
}

// defaults fills the options' defaults and checks the required ones.
func (o *RebaseOptions) defaults() error {
	if len(o.Tables) == 0 {
		return errors.New("rebasing: no model tables given: pass ent's migrate.Tables")
	}
	if len(o.Versions) == 0 {
		return errors.New("rebasing: no revision to move: name this branch's versions, e.g. `weberctl db rebase 20261201093000`, or let git find them with --onto BRANCH")
	}
	if o.Root == "" {
		o.Root = "migrations"
	}
	if len(o.Dialects) == 0 {
		o.Dialects = []string{SQLite, Postgres, MySQL}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// rebaser is one run of Rebase: the folders and what they held before.
type rebaser struct {
	opts    RebaseOptions
	folders []string // folder names
	dirs    []string // their paths
	saved   map[string]map[string][]byte
	res     *RebaseResult
}

func newRebaser(opts RebaseOptions) (*rebaser, error) {
	folders, err := reviseFolders("rebasing", opts.Dialects, opts.DevURLs)
	if err != nil {
		return nil, err
	}
	rb := &rebaser{opts: opts, saved: map[string]map[string][]byte{}, res: &RebaseResult{}}
	for _, f := range folders {
		dir := filepath.Join(opts.Root, f)
		if _, err := os.Stat(dir); err != nil {
			continue // a kept dialect never revised
		}
		rb.folders = append(rb.folders, f)
		rb.dirs = append(rb.dirs, dir)
	}
	if len(rb.dirs) == 0 {
		return nil, fmt.Errorf("rebasing: no migration folder under %s: check --dir", opts.Root)
	}
	return rb, nil
}

// run is Rebase after the options are checked; the caller restores the
// folders when it fails.
func (rb *rebaser) run(ctx context.Context) (*RebaseResult, error) {
	if err := rb.save(); err != nil {
		return nil, err
	}
	if err := rb.rehash(true); err != nil {
		return nil, err
	}
	movers, newest, err := rb.movers()
	if err != nil {
		return nil, err
	}
	if err := rb.refuseApplied(movers); err != nil {
		return nil, err
	}
	var moved []string
	if len(movers) > 0 && migdir.CompareVersions(movers[0].Version, newest) < 0 {
		if moved, err = rb.rename(movers, rb.firstVersion(), RebaseRenamed); err != nil {
			return nil, err
		}
	} else {
		for _, m := range movers {
			moved = append(moved, m.Version)
		}
	}
	reason, err := rb.verify(ctx)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		rb.opts.Logger.Debug("re-planning the moved revisions", "reason", reason)
		if moved, err = rb.replan(ctx, moved, reason); err != nil {
			return nil, err
		}
	}
	if err := rb.lint(ctx, moved); err != nil {
		return nil, err
	}
	return rb.res, nil
}

// save keeps every folder's migration files and atlas.sum, to restore.
func (rb *rebaser) save() error {
	for _, dir := range rb.dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return wrapf("rebasing: reading "+dir, err)
		}
		files := map[string][]byte{}
		for _, e := range entries {
			if e.Name() != migdir.SumFile && !strings.HasSuffix(e.Name(), ".sql") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return wrapf("rebasing: reading "+dir, err)
			}
			files[e.Name()] = b
		}
		rb.saved[dir] = files
	}
	return nil
}

// restore puts every folder back as save found it.
func (rb *rebaser) restore() {
	for dir, files := range rb.saved {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if _, kept := files[e.Name()]; !kept && (e.Name() == migdir.SumFile || strings.HasSuffix(e.Name(), ".sql")) {
				_ = os.Remove(filepath.Join(dir, e.Name()))
			}
		}
		for name, b := range files {
			_ = os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
	}
}

// rehash rewrites every atlas.sum from its files; with note it records
// the ones that held conflict markers.
func (rb *rebaser) rehash(note bool) error {
	for _, dir := range rb.dirs {
		if note && migdir.SumConflicted(dir) {
			rb.res.Repaired = append(rb.res.Repaired, filepath.Join(dir, migdir.SumFile))
		}
		if err := migdir.Rehash(dir); err != nil {
			return err
		}
	}
	return nil
}

// mover is one revision to move: its version and its file in each folder.
type mover struct {
	Version string
	files   map[string]*migdir.File // by folder path
}

// handWritten reports whether the revision was written by `db new`: its
// files start with the header NewFile writes.
func (m *mover) handWritten() bool {
	for _, f := range m.files {
		first, _, _ := strings.Cut(string(f.Bytes), "\n")
		if !strings.Contains(first, ": a hand-written change") {
			return false
		}
	}
	return true
}

// name is the revision's name (the part of its file name after the version).
func (m *mover) name() string {
	for _, f := range m.files {
		return f.Description
	}
	return ""
}

// movers reads the folders and returns the revisions to move, oldest
// first, and the newest version among the other files.
func (rb *rebaser) movers() ([]*mover, string, error) {
	byVersion := map[string]*mover{}
	newest := ""
	for _, dir := range rb.dirs {
		md, err := migdir.Open(dir)
		if err != nil {
			return nil, "", err
		}
		for _, f := range md.Files {
			if !slices.ContainsFunc(rb.opts.Versions, func(v string) bool { return migdir.CompareVersions(v, f.Version) == 0 }) {
				if newest == "" || migdir.CompareVersions(f.Version, newest) > 0 {
					newest = f.Version
				}
				continue
			}
			m := byVersion[f.Version]
			if m == nil {
				m = &mover{Version: f.Version, files: map[string]*migdir.File{}}
				byVersion[f.Version] = m
			}
			m.files[dir] = f
		}
	}
	var out []*mover
	for _, v := range rb.opts.Versions {
		found := false
		for mv, m := range byVersion {
			if migdir.CompareVersions(mv, v) == 0 {
				found = true
				if !slices.Contains(out, m) {
					out = append(out, m)
				}
			}
		}
		if !found {
			return nil, "", fmt.Errorf("rebasing: version %s is in no migration folder under %s: name a version of this branch's files (see `ls %s`)", v, rb.opts.Root, rb.dirs[0])
		}
	}
	slices.SortFunc(out, func(a, b *mover) int { return migdir.CompareVersions(a.Version, b.Version) })
	return out, newest, nil
}

// refuseApplied refuses to move a revision a shared database applied.
func (rb *rebaser) refuseApplied(movers []*mover) error {
	for _, m := range movers {
		for _, a := range rb.opts.Applied {
			if migdir.CompareVersions(a, m.Version) == 0 {
				return &RebaseAppliedError{Version: m.Version}
			}
		}
	}
	return nil
}

// RebaseAppliedError refuses to move a revision that a shared database
// has applied.
type RebaseAppliedError struct {
	Version string
}

func (e *RebaseAppliedError) Error() string {
	return fmt.Sprintf("rebasing: version %s is applied on the database: it is part of the shared history and must keep its version; leave it out of the versions to move (if that database is only your own development database, bring it back with `weberctl db downgrade` to before %s or drop it, then rebase)", e.Version, e.Version)
}

// firstVersion is the first version after every file of every folder.
func (rb *rebaser) firstVersion() string {
	var plans []*dirPlan
	for _, dir := range rb.dirs {
		if md, err := migdir.Open(dir); err == nil {
			plans = append(plans, &dirPlan{last: md.Latest()})
		}
	}
	return nextVersion(rb.opts.Now().UTC(), plans)
}

// rename gives the movers consecutive versions from first on, in every
// folder, rehashes, and returns the new versions.
func (rb *rebaser) rename(movers []*mover, first, action string) ([]string, error) {
	v := first
	var out []string
	for _, m := range movers {
		var to string
		for dir, f := range m.files {
			to = v + "_" + f.Description + ".sql"
			if f.Description == "" {
				to = v + ".sql"
			}
			if err := os.Rename(filepath.Join(dir, f.Name), filepath.Join(dir, to)); err != nil {
				return nil, wrapf("rebasing: renaming "+filepath.Join(dir, f.Name), err)
			}
		}
		rb.res.Moved = append(rb.res.Moved, Moved{From: m.files[rb.anyDir(m)].Name, To: to, Action: action})
		out = append(out, v)
		v = versionAfter(v)
	}
	return out, rb.rehash(false)
}

// anyDir returns the first folder (in kept order) holding the mover.
func (rb *rebaser) anyDir(m *mover) string {
	for _, dir := range rb.dirs {
		if _, ok := m.files[dir]; ok {
			return dir
		}
	}
	return ""
}

// versionAfter is the version one second after v.
func versionAfter(v string) string {
	if t, err := time.Parse(versionFormat, v); err == nil {
		return t.Add(time.Second).Format(versionFormat)
	}
	return v + "1"
}

// verify replays each folder on a dev database and compares it with the
// models: "" when every folder reaches them, else why one does not.
func (rb *rebaser) verify(ctx context.Context) (string, error) {
	reasons := make([]string, len(rb.dirs))
	warnings := make([][]string, len(rb.dirs))
	errs := make([]error, len(rb.dirs))
	var wg sync.WaitGroup
	for i, dir := range rb.dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := planDir(ctx, rb.folders[i], dir, rb.opts.DevURLs[rb.folders[i]], rb.opts.Tables, Options{Logger: rb.opts.Logger})
			var re *ReplayError
			switch {
			case errors.As(err, &re):
				reasons[i] = fmt.Sprintf("%s: %s", rb.folders[i], errtext.OneLine(err))
			case err != nil:
				errs[i] = err
			case p.plan.Ahead():
				reasons[i] = fmt.Sprintf("%s: the merged history does not reach the models (%d statements left)", rb.folders[i], len(p.plan.Statements)+len(p.plan.LeftOut))
			default:
				warnings[i] = p.result.Warnings
			}
		}()
	}
	wg.Wait()
	if err := join(errs...); err != nil {
		return "", err
	}
	for _, w := range warnings {
		rb.res.Warnings = append(rb.res.Warnings, w...)
	}
	for _, r := range reasons {
		if r != "" {
			return r, nil
		}
	}
	return "", nil
}

// replan plans the moved revisions again against the merged history: the
// generated ones are removed and planned as one revision, named after the
// newest of them; the hand-written ones follow it with their content kept.
// It returns the versions of the files now standing for the moved ones.
func (rb *rebaser) replan(ctx context.Context, moved []string, reason string) ([]string, error) {
	rb.res.Replanned, rb.res.Reason = true, reason
	rb.opts.Versions = moved
	movers, _, err := rb.movers()
	if err != nil {
		return nil, err
	}
	var generated, hand []*mover
	at := map[*mover]int{}
	for _, m := range movers {
		at[m] = rb.movedIndex(m)
		if m.handWritten() {
			hand = append(hand, m)
		} else {
			generated = append(generated, m)
		}
	}
	if len(generated) == 0 {
		return nil, fmt.Errorf("rebasing: after the move, %s; the moved files are hand-written: edit them to fit the merged history, run `weberctl db hash` and `weberctl db check`", reason)
	}
	for _, m := range movers {
		for dir, f := range m.files {
			if err := os.Remove(filepath.Join(dir, f.Name)); err != nil {
				return nil, wrapf("rebasing: removing "+f.Name, err)
			}
		}
	}
	if err := rb.rehash(false); err != nil {
		return nil, err
	}
	rev, err := Revise(ctx, ReviseOptions{Root: rb.opts.Root, Dialects: rb.folders, DevURLs: rb.opts.DevURLs,
		Name: generated[len(generated)-1].name(), Tables: rb.opts.Tables, Now: rb.opts.Now, Logger: rb.opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("rebasing: re-planning %s: %w", generated[len(generated)-1].name(), err)
	}
	rb.res.Warnings = append(rb.res.Warnings, reviseWarnings(rev)...)
	var out []string
	for _, m := range generated {
		rb.setMoved(at[m], "", RebaseDropped)
	}
	if rev.Written {
		rb.setMoved(at[generated[len(generated)-1]], rev.Version+"_"+rev.Name+".sql", RebaseReplanned)
		out = append(out, rev.Version)
	}
	if len(hand) > 0 {
		vs, err := rb.rewrite(hand, at, rb.firstVersion())
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	if again, err := rb.verify(ctx); err != nil || again != "" {
		if err == nil {
			err = fmt.Errorf("rebasing: even re-planned, %s: fix the moved files by hand (the folders are restored as they were)", again)
		}
		return nil, err
	}
	return out, nil
}

// movedIndex returns the index in res.Moved of the mover (found by its
// current name), adding an entry when it was not moved yet.
func (rb *rebaser) movedIndex(m *mover) int {
	cur := m.files[rb.anyDir(m)].Name
	for i := range rb.res.Moved {
		if rb.res.Moved[i].To == cur {
			return i
		}
	}
	rb.res.Moved = append(rb.res.Moved, Moved{From: cur, To: cur})
	return len(rb.res.Moved) - 1
}

// setMoved records what became of the mover at index i of res.Moved.
func (rb *rebaser) setMoved(i int, to, action string) {
	rb.res.Moved[i].To, rb.res.Moved[i].Action = to, action
}

// rewrite writes removed hand-written movers back under versions from
// first on, content unchanged, and rehashes.
func (rb *rebaser) rewrite(hand []*mover, at map[*mover]int, first string) ([]string, error) {
	v := first
	var out []string
	for _, m := range hand {
		to := v + "_" + m.name() + ".sql"
		for dir, f := range m.files {
			if err := os.WriteFile(filepath.Join(dir, to), f.Bytes, 0o644); err != nil {
				return nil, wrapf("rebasing: writing "+to, err)
			}
		}
		rb.setMoved(at[m], to, RebaseRenamed)
		out = append(out, v)
		v = versionAfter(v)
	}
	return out, rb.rehash(false)
}

// reviseWarnings collects the warnings of every dialect of a revision.
func reviseWarnings(r *ReviseResult) []string {
	var out []string
	for _, d := range r.Dialects {
		out = append(out, d.Warnings...)
	}
	return out
}

// lint lints the moved files of every folder.
func (rb *rebaser) lint(ctx context.Context, versions []string) error {
	if len(versions) == 0 {
		return nil
	}
	for i, dir := range rb.dirs {
		rep, err := LintFiles(ctx, LintOptions{Dir: dir, Dialect: rb.folders[i], DevURL: rb.opts.DevURLs[rb.folders[i]],
			Versions: versions, Logger: rb.opts.Logger})
		if err != nil {
			return fmt.Errorf("rebasing: linting the moved files of %s: %w", dir, err)
		}
		rb.res.Warnings = append(rb.res.Warnings, rep.Warnings...)
		rb.res.Lint = append(rb.res.Lint, *rep)
	}
	return nil
}
