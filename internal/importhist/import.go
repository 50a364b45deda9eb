package importhist

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/weber-framework/weber/internal/migdir"
)

// ImportResult is what Import wrote.
type ImportResult struct {
	// Tool is the source's tool.
	Tool Tool
	// Source is the directory read.
	Source string
	// Dir is the Weber folder written (migrations/<dialect>).
	Dir string
	// Files are the Weber files, in order.
	Files []*ImportedFile
	// Unchanged reports that Dir already held exactly these files (an
	// import run again, or an Atlas folder imported onto itself): nothing
	// was written.
	Unchanged bool
	// Ignored lists the source files the tool itself ignores.
	Ignored []string
}

// Import writes src into dir, the Weber folder of the dialect dia (ent's
// name), with a fresh atlas.sum. dir must not exist, or hold no migration
// files, or hold exactly what this import writes (then nothing is
// written). The files are staged beside dir, validated by migdir, and only
// then moved in; on any error dir is left as it was.
func Import(src *Source, dir, dia string) (*ImportResult, error) {
	res := &ImportResult{Tool: src.Tool, Source: src.Path, Dir: dir, Ignored: src.Ignored}
	want, err := render(src, dia, res)
	if err != nil {
		return nil, err
	}
	have, err := existing(dir)
	if err != nil {
		return nil, err
	}
	if len(have) > 0 {
		if !sameFiles(have, want) {
			return nil, refuse(KindTarget, "", "%s already holds migration files that differ from this import (%s...): import into an empty folder (another --dir), or move those files away first",
				dir, firstKey(have))
		}
		if _, err := migdir.OpenDialect(dir, dia); err != nil {
			return nil, err
		}
		res.Unchanged = true
		return res, nil
	}
	if err := write(dir, dia, want); err != nil {
		return nil, err
	}
	return res, nil
}

// render returns the Weber files of src by name.
func render(src *Source, dia string, res *ImportResult) (map[string][]byte, error) {
	want := map[string][]byte{}
	if src.Tool == Atlas {
		for _, f := range src.Dir.Files {
			want[f.Name] = f.Bytes
			res.Files = append(res.Files, &ImportedFile{Name: f.Name, Version: f.Version, SourceVersion: f.Version,
				Sources: []string{f.Name}, Stmts: len(f.Stmts), NoTx: f.TxMode == migdir.TxModeNone})
		}
		return want, nil
	}
	width := 0
	for _, m := range src.Migrations {
		width = max(width, len(m.Version))
	}
	for _, m := range src.Migrations {
		version := strings.Repeat("0", width-len(m.Version)) + m.Version
		b, f, err := convert(src.Tool, dia, m, version)
		if err != nil {
			return nil, err
		}
		want[f.Name] = b
		res.Files = append(res.Files, f)
	}
	return want, nil
}

// existing returns the .sql files already in dir (none if it does not
// exist), and counts an atlas.sum without files as content too.
func existing(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, refuse(KindTarget, "", "cannot read %s: %v", dir, err)
	}
	have := map[string][]byte{}
	for _, e := range entries {
		if e.Name() != migdir.SumFile && !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, refuse(KindTarget, e.Name(), "cannot read it: %v", err)
		}
		have[e.Name()] = b
	}
	return have, nil
}

func sameFiles(have, want map[string][]byte) bool {
	n := 0
	for name, b := range have {
		if name == migdir.SumFile {
			continue
		}
		if w, ok := want[name]; !ok || !bytes.Equal(w, b) {
			return false
		}
		n++
	}
	return n == len(want)
}

func firstKey(m map[string][]byte) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[0]
}

// write stages the files in a folder beside dir named as dir is (so that
// migdir splits them for the same dialect), writes atlas.sum, validates
// the whole, then moves it into place.
func write(dir, dia string, files map[string][]byte) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return refuse(KindTarget, "", "cannot create %s: %v", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, ".weber-import-")
	if err != nil {
		return refuse(KindTarget, "", "cannot create a staging folder in %s: %v", parent, err)
	}
	defer os.RemoveAll(tmp)
	stage := filepath.Join(tmp, filepath.Base(dir))
	if err := os.Mkdir(stage, 0o755); err != nil {
		return refuse(KindTarget, "", "cannot create a staging folder: %v", err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(stage, name), b, 0o644); err != nil {
			return refuse(KindTarget, name, "cannot write it: %v", err)
		}
	}
	if err := migdir.Rehash(stage); err != nil {
		return err
	}
	if _, err := migdir.OpenDialect(stage, dia); err != nil {
		return err
	}
	return moveIn(stage, dir, files)
}

// moveIn moves the staged folder to dir, or its files into an existing
// dir that holds no migration files, atlas.sum last.
func moveIn(stage, dir string, files map[string][]byte) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(stage, dir); err != nil {
			return refuse(KindTarget, "", "cannot move the imported files to %s: %v", dir, err)
		}
		return nil
	}
	names := make([]string, 0, len(files)+1)
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	names = append(names, migdir.SumFile)
	for i, name := range names {
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(dir, name)); err != nil {
			for _, done := range names[:i] {
				os.Remove(filepath.Join(dir, done))
			}
			return refuse(KindTarget, name, "cannot move it into %s: %v (nothing was left there)", dir, err)
		}
	}
	return nil
}
