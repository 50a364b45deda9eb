// Package scaffold writes a new Weber project (`weberctl new`): the models
// with one example entity, the ent generator, the app with /livez and
// /readyz, cmd/weberctl on the public weberctl library, the first migration
// of every dialect, a Taskfile, a README and a CI script. The files are
// templates embedded in the binary; the migrations are exactly what Weber's
// planner writes for the example model (TestTemplateMigrationsAreHonest
// keeps them so).
package scaffold

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"golang.org/x/mod/module"

	"github.com/weber-framework/weber/weberschema"
)

//go:embed all:files
var files embed.FS

// GoVersion is the go directive a new project's go.mod carries: Weber's own.
const GoVersion = "1.26.0"

// Options say what to write.
type Options struct {
	// Module is the new project's module path, e.g. example.com/notes.
	Module string
	// WeberVersion is the version of github.com/weber-framework/weber the
	// project requires, e.g. v0.1.0.
	WeberVersion string
	// WeberReplace, when set, adds to go.mod a replace of Weber by this
	// local directory (a checkout of Weber, for its contributors and tests).
	WeberReplace string
}

// Result lists what Write wrote.
type Result struct {
	// Dir is the project's directory.
	Dir string
	// Files are the paths written, relative to Dir, sorted.
	Files []string
}

// ErrNotEmpty is returned by Write for a directory that holds files.
var ErrNotEmpty = errors.New("the directory is not empty")

// CheckModule reports whether path is a valid module path for go.mod, with
// an error that says how to fix it.
func CheckModule(path string) error {
	if strings.TrimSpace(path) == "" {
		return errors.New("the module path is empty: pass --module, e.g. --module example.com/notes")
	}
	if err := module.CheckPath(path); err != nil {
		return fmt.Errorf("%q is not a valid module path (%v): pass one like example.com/notes or github.com/you/notes", path, err)
	}
	return nil
}

// Write writes a new project into dir, which must not exist or be empty.
func Write(dir string, o Options) (*Result, error) {
	if err := CheckModule(o.Module); err != nil {
		return nil, err
	}
	if o.WeberVersion == "" {
		return nil, errors.New("scaffold: no Weber version to require")
	}
	if err := refuseNonEmpty(dir); err != nil {
		return nil, err
	}
	data := map[string]string{
		"Module":       o.Module,
		"Name":         path.Base(o.Module),
		"GoVersion":    GoVersion,
		"WeberVersion": o.WeberVersion,
		"WeberReplace": o.WeberReplace,
	}
	res := &Result{Dir: dir}
	err := fs.WalkDir(files, "files", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, mode := target(strings.TrimPrefix(name, "files/"))
		content, err := render(name, data)
		if err != nil {
			return err
		}
		return res.write(rel, content, mode)
	})
	if err == nil {
		// The ent template that lists the renames the models declare
		// (migrate.Renames), kept in one place: package weberschema.
		err = res.write("ent/template/renames.tmpl", []byte(weberschema.RenamesTemplate()), 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("writing the project into %s: %w", dir, err)
	}
	sort.Strings(res.Files)
	return res, nil
}

// write writes one file of the project, rel to its directory.
func (res *Result) write(rel string, content []byte, mode fs.FileMode) error {
	out := filepath.Join(res.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, content, mode); err != nil {
		return err
	}
	res.Files = append(res.Files, rel)
	return nil
}

// DataRegistry returns migrations/data/data.go as a new project has it:
// the package that lists the data migrations, with none yet.
func DataRegistry() string {
	b, err := files.ReadFile("files/migrations/data/data.go.tmpl") // no [[ ]]: as rendered
	if err != nil {
		panic("scaffold: the embedded data.go is missing: " + err.Error()) // a build without its files
	}
	return string(b)
}

// refuseNonEmpty fails for a directory that exists and holds anything.
func refuseNonEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("reading %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("%s: %w (it holds %s): pass a new directory's name, e.g. weberctl new notes --module example.com/notes", dir, ErrNotEmpty, entries[0].Name())
	}
	return nil
}

// target maps a template's name to the file it writes and its mode.
func target(name string) (string, fs.FileMode) {
	switch name {
	case "gitignore":
		return ".gitignore", 0o644
	case "ci-run":
		return ".ci/run", 0o755
	}
	return strings.TrimSuffix(name, ".tmpl"), 0o644
}

// render returns a template's content: .tmpl files are Go templates with
// [[ ]] delimiters (the Taskfile keeps its own {{ }}), the rest verbatim.
func render(name string, data map[string]string) ([]byte, error) {
	raw, err := files.ReadFile(name)
	if err != nil || !strings.HasSuffix(name, ".tmpl") {
		return raw, err
	}
	t, err := template.New(name).Delims("[[", "]]").Option("missingkey=error").Parse(string(raw))
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}
