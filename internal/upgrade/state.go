package upgrade

import (
	"context"
	"fmt"
	"strings"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plural"
	"github.com/weber-framework/weber/internal/revstore"
)

// startedMarker is the revision's error while a statement runs outside a
// transaction. It is replaced as soon as the statement's outcome is known,
// so finding it on a later run means the process stopped between the
// statement and its record: the statement may or may not have run.
const startedMarker = "weber: statement started; its completion was not recorded"

// step is one file to run: pending, or partially applied and resumed.
type step struct {
	file *migdir.File
	rev  *revstore.Revision // the existing partial revision; nil for a new file
	from int                // index of the first statement to run
	// unconfirmed reports that statement from+1 started without its outcome
	// being recorded.
	unconfirmed bool
	// rebuilt lists the INVALID indexes (left by interrupted concurrent
	// builds) that were dropped before being built again.
	rebuilt []string
}

// state is what the directory and the revision table say together.
type state struct {
	revs       []*revstore.Revision
	done       int    // revisions complete
	current    string // highest applied (or partial) version
	partial    *step
	pending    []*migdir.File // not applied at all, in version order (out-of-order ones included)
	outOfOrder []*migdir.File
	problems   []*Refusal
	// stale are records of files that failed before any statement ran and
	// are no longer in the directory; Upgrade deletes them.
	stale []*revstore.Revision
}

// analyze compares the directory with the revisions, in linear time. It
// collects every problem instead of stopping at the first, so that status
// can report them all; Upgrade refuses on the first.
func analyze(dir *migdir.Dir, revs []*revstore.Revision) *state {
	st := &state{revs: revs}
	seen := make(map[*migdir.File]bool, len(revs))
	var maxVersion string
	squashed, covers := squashesOf(dir), map[*migdir.File]*squashCover{}
	for _, r := range revs {
		if sq := squashed.covering(r); sq != nil {
			st.coverSquashed(covers, sq, r)
			if maxVersion == "" || migdir.CompareVersions(r.Version, maxVersion) > 0 {
				maxVersion = r.Version
			}
			continue
		}
		f := dir.Find(r.Version)
		if f == nil && r.Applied == 0 && !r.Done() && r.Error != startedMarker {
			// A file that failed on its first statement and was then
			// removed or renamed: nothing of it ran, so its record is
			// stale, not a deleted applied file.
			st.stale = append(st.stale, r)
			continue
		}
		if maxVersion == "" || migdir.CompareVersions(r.Version, maxVersion) > 0 {
			maxVersion = r.Version
		}
		if f == nil {
			st.problems = append(st.problems, refuse(KindDeleted, revName(r),
				"version %s (%s) is recorded as applied but its file is missing from %s: restore the file from version control (an applied migration must never be deleted)",
				r.Version, revName(r), dir.Path))
			continue
		}
		seen[f] = true
		if r.Done() {
			st.done++
			if !hashMatches(r, f) {
				st.problems = append(st.problems, refuse(KindEdited, f.Name,
					"%s was edited after it was applied (its content no longer matches the hash recorded in %s, even if atlas.sum was re-hashed): revert the edit and put the change in a new revision with `weberctl db revision`",
					f.Name, revstore.Table))
			}
			continue
		}
		s, p := resumePoint(f, r)
		if p != nil {
			st.problems = append(st.problems, p)
			continue
		}
		if st.partial != nil {
			st.problems = append(st.problems, refuse(KindRevisions, f.Name,
				"%s and %s are both recorded as partially applied; finish or repair %s by hand first (see docs/migrations.md)",
				st.partial.file.Name, f.Name, st.partial.file.Name))
			continue
		}
		st.partial = s
	}
	st.settleSquashed(covers, seen)
	st.current = maxVersion
	for _, f := range dir.Files {
		if seen[f] {
			continue
		}
		if maxVersion != "" && migdir.CompareVersions(f.Version, maxVersion) < 0 {
			st.outOfOrder = append(st.outOfOrder, f)
		}
		st.pending = append(st.pending, f)
	}
	return st
}

// upTo is the choice of what an upgrade runs, in order: the partially
// applied file first (resumed where it stopped), then the pending files in
// version order (older out-of-order ones among them), stopping after the
// version to ("" = every file). The files after to are left. It reads
// nothing but st: refusals (edited files, out-of-order files not allowed)
// were decided before.
func upTo(st *state, to string) (steps []*step, left []PendingFile) {
	if st.partial != nil {
		steps = append(steps, st.partial)
	}
	for _, f := range st.pending {
		steps = append(steps, &step{file: f})
	}
	for i, s := range steps {
		if to != "" && migdir.CompareVersions(s.file.Version, to) > 0 {
			for _, f := range steps[i:] {
				left = append(left, PendingFile{Version: f.file.Version, Name: f.file.Name, Statements: len(f.file.Stmts), Go: f.file.Go})
			}
			return steps[:i], left
		}
	}
	return steps, nil
}

// revName names a revision's file as the directory would.
func revName(r *revstore.Revision) string {
	if r.Description == "" {
		return r.Version + ".sql"
	}
	return r.Version + "_" + r.Description + ".sql"
}

// hashMatches compares an applied file with the hash stored in its
// revision. Weber stores the hash of the file's own content; the Atlas CLI
// stores the file's atlas.sum entry, and its baseline rows store none.
func hashMatches(r *revstore.Revision, f *migdir.File) bool {
	switch {
	case r.Hash == f.Hash:
		return true
	case f.Sum != "" && strings.TrimPrefix(r.Hash, "h1:") == strings.TrimPrefix(f.Sum, "h1:"):
		return true
	case r.Hash == "" && r.Type == revstore.TypeBaseline:
		return true
	}
	return false
}

// resumePoint checks that the applied part of a partially applied file is
// unchanged and returns where to resume.
func resumePoint(f *migdir.File, r *revstore.Revision) (*step, *Refusal) {
	s := &step{file: f, rev: r, from: r.Applied, unconfirmed: r.Error == startedMarker}
	if r.Applied == 0 || r.Hash == f.Hash {
		if r.Applied > len(f.Stmts) { // same hash cannot shrink, but be safe
			return nil, shrunk(f, r)
		}
		return s, nil
	}
	if r.Applied > len(f.Stmts) {
		return nil, shrunk(f, r)
	}
	if len(r.PartialHashes) < r.Applied {
		return nil, refuse(KindPartialChanged, f.Name,
			"%s is partially applied (%d of %s) and was edited, but its revision holds no statement hashes to check the applied part against: restore the file as it was, or repair the revision by hand (see docs/migrations.md)",
			f.Name, r.Applied, plural.Count(r.Total, "statement", "statements"))
	}
	ph := f.PartialHashes()
	for i := 0; i < r.Applied; i++ {
		if strings.TrimPrefix(r.PartialHashes[i], "h1:") != strings.TrimPrefix(ph[i], "h1:") {
			return nil, refuse(KindPartialChanged, f.Name,
				"%s is partially applied (statements 1-%d of %d ran) but statement %d (line %d) was changed, moved or removed since: restore statements 1-%d exactly as they ran; only statements after %d may be edited",
				f.Name, r.Applied, r.Total, i+1, f.Stmts[i].Line, r.Applied, r.Applied)
		}
	}
	return s, nil
}

func shrunk(f *migdir.File, r *revstore.Revision) *Refusal {
	return refuse(KindPartialChanged, f.Name,
		"%s is partially applied (%s ran) but now has only %s: restore the statements that ran; only statements after %d may be edited",
		f.Name, plural.Count(r.Applied, "statement", "statements"), plural.Count(len(f.Stmts), "statement", "statements"), r.Applied)
}

// outOfOrderRefusal lists the files added behind the applied history.
func outOfOrderRefusal(st *state) *Refusal {
	names := make([]string, len(st.outOfOrder))
	for i, f := range st.outOfOrder {
		names[i] = f.Name
	}
	r := refuse(KindOutOfOrder, names[0],
		"%s %s older than the latest applied version %s (added out of order, e.g. by a merge): apply %s anyway with --allow-out-of-order after checking it does not conflict with later files, or give it a new version (rename it and run `weberctl db hash`)",
		strings.Join(names, ", "), pluralIs(len(names)), st.current, pluralIt(len(names)))
	r.Files = names
	return r
}

func pluralIs(n int) string { return plural.Noun(n, "is", "are") }

func pluralIt(n int) string { return plural.Noun(n, "it", "them") }

// userTables lists the tables in the database's current schema other than
// Weber's own.
func userTables(ctx context.Context, q revstore.Execer, dia string) ([]string, error) {
	var query string
	switch dia {
	case dialect.Postgres:
		query = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
	case dialect.MySQL:
		query = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name"
	default:
		query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("listing the database's tables: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("listing the database's tables: %w", err)
		}
		if !revstore.IsOwnTable(n) {
			out = append(out, n)
		}
	}
	return out, rows.Err()
}

func notClean(tables []string, dirPath string) *Refusal {
	list := tables
	more := ""
	if len(list) > 5 {
		list, more = list[:5], fmt.Sprintf(" and %d more", len(tables)-5)
	}
	return refuse(KindNotClean, "",
		"the database has tables (%s%s) but no migration history in %s: if its schema matches the files in %s up to some version, record them as applied without running them with --baseline VERSION; otherwise upgrade an empty database",
		strings.Join(list, ", "), more, revstore.Table, dirPath)
}
