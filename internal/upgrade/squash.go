package upgrade

import (
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
)

// KindSquashPartial: the database applied some of the files a squashed
// file (`db squash`) stands for, but not through its last one.
const KindSquashPartial = "squash-partial"

// squashCover is what the revision table says of one squashed file: the
// revisions of the files it replaced.
type squashCover struct {
	revs    int  // revisions in its range
	partial bool // one of them is not complete
	last    bool // the last one (its own version) is complete
}

// squashes are the directory's squashed files (`-- weber:squashes`).
type squashes []*migdir.File

func squashesOf(dir *migdir.Dir) squashes {
	var out squashes
	for _, f := range dir.Files {
		if f.Squashes != "" {
			out = append(out, f)
		}
	}
	return out
}

// covering returns the squashed file that stands for the revision r of a
// replaced file, or nil: r lies in its range and is not the record of the
// squashed file itself (which has its version and its hash).
func (sq squashes) covering(r *revstore.Revision) *migdir.File {
	for _, f := range sq {
		if !f.Covers(r.Version) {
			continue
		}
		if migdir.CompareVersions(r.Version, f.Version) == 0 && hashMatches(r, f) {
			return nil
		}
		return f
	}
	return nil
}

// coverSquashed records r, a revision of a file replaced by the squashed
// file f.
func (st *state) coverSquashed(covers map[*migdir.File]*squashCover, f *migdir.File, r *revstore.Revision) {
	c := covers[f]
	if c == nil {
		c = &squashCover{}
		covers[f] = c
	}
	c.revs++
	if !r.Done() {
		c.partial = true
	} else if migdir.CompareVersions(r.Version, f.Version) == 0 {
		c.last = true
	}
}

// settleSquashed counts each squashed file whose replaced files the
// database applied in full as applied, and refuses one it applied only
// part of: those must first be upgraded with the files as they were.
func (st *state) settleSquashed(covers map[*migdir.File]*squashCover, seen map[*migdir.File]bool) {
	for f, c := range covers {
		if c.last && !c.partial {
			seen[f] = true
			st.done++
			continue
		}
		first, last, _ := f.SquashRange()
		st.problems = append(st.problems, refuse(KindSquashPartial, f.Name,
			"%s replaces the files %s to %s, and the database applied only some of them (%d, not through %s): upgrade it to %s with the history as it was before the squash (check out the commit before `weberctl db squash`, run `weberctl db upgrade --to %s`), then upgrade it with this history",
			f.Name, first, last, c.revs, last, last, last))
	}
}
