package scaffold

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "notes")
	res, err := Write(dir, Options{Module: "example.com/notes", WeberVersion: "v0.1.0", WeberReplace: "/src/weber"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".ci/run", ".gitignore", "README.md", "Taskfile.yml", "app/app.go", "app/app_test.go",
		"cmd/weberctl/main.go", "ent/generate.go", "ent/schema/note.go", "go.mod",
		"migrations/mysql/atlas.sum", "migrations/postgres/atlas.sum", "migrations/sqlite/atlas.sum"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("%s not written: %v (wrote %q)", want, err, res.Files)
		}
	}
	gomod := read(t, filepath.Join(dir, "go.mod"))
	for _, want := range []string{"module example.com/notes\n", "require github.com/weber-framework/weber v0.1.0\n",
		"replace github.com/weber-framework/weber => /src/weber\n", "tool entgo.io/ent/cmd/ent\n"} {
		if !strings.Contains(gomod, want) {
			t.Errorf("go.mod lacks %q:\n%s", want, gomod)
		}
	}
	if main := read(t, filepath.Join(dir, "cmd/weberctl/main.go")); !strings.Contains(main, `"example.com/notes/ent/migrate"`) {
		t.Errorf("main.go does not import the project's models:\n%s", main)
	}
	if task := read(t, filepath.Join(dir, "Taskfile.yml")); !strings.Contains(task, "{{.CLI_ARGS}}") {
		t.Errorf("Taskfile.yml lost its own template variables:\n%s", task)
	}
	if fi, err := os.Stat(filepath.Join(dir, ".ci/run")); err != nil || fi.Mode()&0o100 == 0 {
		t.Errorf(".ci/run is not executable: %v %v", fi, err)
	}
}

func TestWriteWithoutReplace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Write(dir, Options{Module: "github.com/you/notes", WeberVersion: "v0.2.0"}); err != nil {
		t.Fatal(err)
	}
	if gomod := read(t, filepath.Join(dir, "go.mod")); strings.Contains(gomod, "replace") {
		t.Errorf("go.mod has a replace without --weber-replace:\n%s", gomod)
	}
}

func TestWriteRefuses(t *testing.T) {
	t.Parallel()
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "main.go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(full, Options{Module: "example.com/x", WeberVersion: "v0.1.0"}); !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "main.go") {
		t.Errorf("a non-empty directory: %v, want ErrNotEmpty naming main.go", err)
	}
	for _, bad := range []string{"", "Example.com/../x", "example.com/x y", "-x"} {
		if _, err := Write(filepath.Join(t.TempDir(), "p"), Options{Module: bad, WeberVersion: "v0.1.0"}); err == nil || !strings.Contains(err.Error(), "module") {
			t.Errorf("module %q: %v, want a refusal naming the module path", bad, err)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
