package plan

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/weber-framework/weber/internal/migdir"
)

// versionProblems checks that the kept dialects' folders under root hold
// the same revisions: every version in every folder, under the same name.
// `db revision` writes them so; revising the dialects one at a time (with
// --dialect) gives each its own version, and a deployment on one dialect
// would then run a different history than on another. A kept dialect
// without a folder has no versions; a folder that fails its integrity
// check (reported elsewhere) is left out. Each problem is one line naming the file, the folders that
// have it and those that lack it, and the fix.
func versionProblems(root string, kept []string) []string {
	type entry struct {
		folder, name string
	}
	byVersion := map[string][]entry{}
	var folders []string
	for _, d := range kept {
		folder, err := folderName(d)
		if err != nil {
			continue
		}
		path := filepath.Join(root, folder)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			folders = append(folders, folder) // kept, and never revised
			continue
		}
		ed, _ := entDialect(folder)
		md, err := migdir.OpenDialect(path, ed)
		if err != nil {
			continue
		}
		folders = append(folders, folder)
		for _, f := range md.Files {
			byVersion[f.Version] = append(byVersion[f.Version], entry{folder, f.Name})
		}
	}
	if len(folders) < 2 {
		return nil
	}
	versions := make([]string, 0, len(byVersion))
	for v := range byVersion {
		versions = append(versions, v)
	}
	slices.SortFunc(versions, migdir.CompareVersions)
	var out []string
	for _, v := range versions {
		es := byVersion[v]
		var has, lacks []string
		names := map[string]bool{}
		for _, e := range es {
			has = append(has, filepath.Join(root, e.folder, e.name))
			names[e.name] = true
		}
		for _, f := range folders {
			if !slices.ContainsFunc(es, func(e entry) bool { return e.folder == f }) {
				lacks = append(lacks, filepath.Join(root, f))
			}
		}
		switch {
		case len(lacks) > 0:
			out = append(out, fmt.Sprintf("versions: version %s (%s) is missing from %s: every revision needs the same version in every kept dialect (revising dialects one at a time gives each its own); if it is applied nowhere yet, delete it, run `weberctl db hash`, and write it again for every dialect at once with `weberctl db revision` (PostgreSQL and MySQL need WEBER_DEV_POSTGRES_URL / WEBER_DEV_MYSQL_URL, e.g. from `scripts/services.sh up` and `scripts/services.sh env`)",
				v, strings.Join(has, ", "), strings.Join(lacks, ", ")))
		case len(names) > 1:
			out = append(out, fmt.Sprintf("versions: version %s has different names across the kept dialects (%s): a revision has one name; rename the files not yet applied anywhere to match and run `weberctl db hash` for each",
				v, strings.Join(has, ", ")))
		}
	}
	return out
}
