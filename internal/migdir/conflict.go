package migdir

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
)

// conflictMarkers are the lines git writes into a file it could not merge.
var conflictMarkers = [][]byte{[]byte("<<<<<<<"), []byte("======="), []byte(">>>>>>>")}

// HasConflictMarkers reports whether b holds a line that git writes into a
// file it could not merge (<<<<<<<, =======, >>>>>>>). Two branches that
// each add a migration file conflict in atlas.sum; its content is derived
// from the files, so `weberctl db hash` (or `db rebase`) rewrites it rather
// than asking anyone to merge hashes by hand.
func HasConflictMarkers(b []byte) bool {
	for _, line := range bytes.Split(b, []byte("\n")) {
		for _, m := range conflictMarkers {
			if bytes.HasPrefix(line, m) {
				return true
			}
		}
	}
	return false
}

// SumConflicted reports whether the atlas.sum of the folder path holds git
// conflict markers (false when it is missing or unreadable).
func SumConflicted(path string) bool {
	b, err := os.ReadFile(filepath.Join(path, SumFile))
	return err == nil && HasConflictMarkers(b)
}

// conflictMsg is the refusal of a conflicted atlas.sum.
const conflictMsg = "has git conflict markers (two branches added migration files): run `weberctl db rebase` to order the merged files and rewrite it, or `weberctl db hash` to rewrite it from the files as they are"

// SquashRange returns the versions of the first and last files that the
// squashed file f stands for (its `-- weber:squashes FIRST..LAST`
// directive); ok is false for a file `db squash` did not write.
func (f *File) SquashRange() (first, last string, ok bool) {
	first, last, ok = strings.Cut(f.Squashes, "..")
	return first, last, ok
}

// Covers reports whether the squashed file f stands for the version v:
// v lies in its range. False for a file that is not a squash.
func (f *File) Covers(v string) bool {
	first, last, ok := f.SquashRange()
	return ok && compareVersions(first, v) <= 0 && compareVersions(v, last) <= 0
}

// SquashCovering returns the squashed file of the directory whose range
// holds version v, or nil.
func (d *Dir) SquashCovering(v string) *File {
	for _, f := range d.Files {
		if f.Covers(v) {
			return f
		}
	}
	return nil
}
