package upgrade

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
)

// StatusResult describes a database against its migration directory.
type StatusResult struct {
	// Dialect is ent's dialect name; Dir the migration directory.
	Dialect, Dir string
	// HasHistory reports that the revision table exists.
	HasHistory bool
	// Current is the latest applied version ("" for none) and CurrentName
	// its file name.
	Current, CurrentName string
	// Applied counts the revisions completely applied (baselines included).
	Applied int
	// Files counts the files in the directory (0 when it is invalid).
	Files int
	// Pending lists the files not yet applied, in order; out-of-order ones
	// included.
	Pending []PendingFile
	// OutOfOrder lists the pending files older than Current.
	OutOfOrder []string
	// Partial is the partially applied file, if any.
	Partial *PartialFile
	// UntrackedTables lists the tables of a database without history (the
	// case Upgrade refuses unless baselined).
	UntrackedTables []string
	// Problems are the refusals an upgrade would meet, one line each.
	Problems []Problem
	// InvalidIndexes lists the INVALID indexes that failed concurrent
	// builds left (PostgreSQL): unused by queries, still written; the next
	// upgrade of the file that builds one drops it and builds it again.
	InvalidIndexes []string
}

// UpToDate reports that nothing is pending and nothing is wrong.
func (s *StatusResult) UpToDate() bool {
	return len(s.Pending) == 0 && s.Partial == nil && len(s.Problems) == 0
}

// PartialFile is a file applied in part.
type PartialFile struct {
	// Version and Name identify the file.
	Version, Name string
	// Applied of Total statements ran.
	Applied, Total int
	// Error is the recorded error and ErrorStmt the failing statement.
	Error, ErrorStmt string
	// Unconfirmed reports that statement Applied+1 started and its outcome
	// was never recorded.
	Unconfirmed bool
	// Progress describes a batched statement (`-- weber:batch`) stopped
	// part-way: how far its committed batches got.
	Progress string
}

// Problem is something an upgrade would refuse.
type Problem struct {
	// Kind is a Refusal kind, or KindDirectory for a directory refused
	// by migdir.
	Kind Kind
	// File is the file concerned, if any.
	File string
	// Message is the one-line explanation with the next step.
	Message string
}

// Status reports where the database stands against the directory. It
// reports problems (tampering, deleted or out-of-order files, an invalid
// directory) in the result rather than failing; it fails only when the
// database cannot be read. It takes no lock and changes nothing.
func Status(ctx context.Context, db *sql.DB, u *dbconn.URL, dirPath string) (*StatusResult, error) {
	s, err := NewSource(db, u, dirPath, nil, "status")
	if err != nil {
		return nil, err
	}
	return s.Status(ctx)
}

// Status reports where the database stands against the directory: see
// the function Status.
func (s *Source) Status(ctx context.Context) (*StatusResult, error) {
	res := &StatusResult{Dialect: s.u.Dialect, Dir: s.dirPath}
	exists, revs, err := s.Revisions(ctx, s.db, "status")
	if err != nil {
		return nil, err
	}
	res.HasHistory = exists
	if res.InvalidIndexes, err = invalidIndexes(ctx, s.db, s.u.Dialect); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	if len(revs) == 0 {
		if err := s.reportUntracked(ctx, res); err != nil {
			return nil, err
		}
	}
	dir, err := migdir.OpenDialect(s.dirPath, s.u.Dialect)
	if err != nil {
		res.reportInvalidDir(err, revs)
		return res, nil
	}
	res.Files = len(dir.Files)
	res.compare(dir, revs, analyze(dir, revs))
	return res, nil
}

// reportUntracked lists the tables of a database without history, a
// problem an upgrade refuses unless baselined.
func (s *Source) reportUntracked(ctx context.Context, res *StatusResult) error {
	tables, err := userTables(ctx, s.db, s.u.Dialect)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	res.UntrackedTables = tables
	if len(tables) > 0 {
		r := notClean(tables, s.dirPath)
		res.Problems = append(res.Problems, Problem{Kind: r.Kind, Message: r.Msg})
	}
	return nil
}

// reportInvalidDir records the directory's refusal and still reports what
// the history says.
func (res *StatusResult) reportInvalidDir(err error, revs []*revstore.Revision) {
	var de *migdir.Error
	p := Problem{Kind: KindDirectory, Message: err.Error()}
	if errors.As(err, &de) {
		p.File = de.File
	}
	res.Problems = append(res.Problems, p)
	for _, r := range revs {
		if r.Done() {
			res.Applied++
		} else {
			res.Partial = partialOf(r, revName(r), r.Total)
		}
		res.Current, res.CurrentName = r.Version, revName(r)
	}
}

// compare records the history against the directory: the current
// version, the problems an upgrade would refuse, the partial file and
// what is pending.
func (res *StatusResult) compare(dir *migdir.Dir, revs []*revstore.Revision, st *state) {
	res.Applied = st.done
	res.Current = st.current
	if st.current != "" {
		res.CurrentName = currentName(dir, revs, st.current)
	}
	for _, p := range st.problems {
		res.Problems = append(res.Problems, Problem{Kind: p.Kind, File: p.File, Message: p.Msg})
	}
	if len(st.outOfOrder) > 0 {
		r := outOfOrderRefusal(st)
		res.Problems = append(res.Problems, Problem{Kind: r.Kind, File: r.File, Message: r.Msg})
		res.OutOfOrder = r.Files
	}
	res.Partial = partialFile(revs, st)
	for _, f := range st.pending {
		res.Pending = append(res.Pending, PendingFile{Version: f.Version, Name: f.Name, Statements: len(f.Stmts), Go: f.Go})
	}
}

// currentName is the file name of the current version: the file's, or
// the revision's when the file is gone.
func currentName(dir *migdir.Dir, revs []*revstore.Revision, current string) string {
	if f := dir.Find(current); f != nil {
		return f.Name
	}
	name := ""
	for _, r := range revs {
		if r.Version == current {
			name = revName(r)
		}
	}
	return name
}

// partialFile is the partially applied file, if any: the one the analysis
// resumes, or else one whose check failed (still partial).
func partialFile(revs []*revstore.Revision, st *state) *PartialFile {
	if st.partial != nil {
		return partialOf(st.partial.rev, st.partial.file.Name, len(st.partial.file.Stmts))
	}
	stale := map[*revstore.Revision]bool{}
	for _, r := range st.stale {
		stale[r] = true
	}
	for _, r := range revs {
		if !r.Done() && !stale[r] {
			return partialOf(r, revName(r), r.Total)
		}
	}
	return nil
}

func partialOf(r *revstore.Revision, name string, total int) *PartialFile {
	p := &PartialFile{Version: r.Version, Name: name, Applied: r.Applied, Total: total,
		Error: r.Error, ErrorStmt: r.ErrorStmt, Unconfirmed: r.Error == startedMarker}
	if p.Unconfirmed {
		p.Error = fmt.Sprintf("statement %d started; its completion was not recorded", r.Applied+1)
	}
	if done, ok := batchProgress(r); ok {
		p.Error, p.ErrorStmt = "", ""
		p.Progress = fmt.Sprintf("batched statement %d is done through key %d; the next upgrade resumes after it", r.Applied+1, done)
		if name, ok := strings.CutPrefix(r.ErrorStmt, goStmt("")); ok {
			p.Progress = fmt.Sprintf("data migration %s is done through key %d; the next upgrade resumes after it", name, done)
		}
	}
	return p
}

// History returns the revisions applied to the database, oldest first (nil
// when it has no revision table).
func History(ctx context.Context, db *sql.DB, u *dbconn.URL) ([]*revstore.Revision, error) {
	s, err := NewSource(db, u, "", nil, "history")
	if err != nil {
		return nil, err
	}
	return s.History(ctx)
}

// History returns the revisions applied to the database, oldest first
// (nil when it has no revision table). A statement whose completion was
// never recorded reads as such in its Error.
func (s *Source) History(ctx context.Context) ([]*revstore.Revision, error) {
	_, revs, err := s.Revisions(ctx, s.db, "history")
	if err != nil {
		return nil, err
	}
	for _, r := range revs {
		if r.Error == startedMarker {
			r.Error = fmt.Sprintf("statement %d started; its completion was not recorded", r.Applied+1)
		}
	}
	return revs, nil
}
