package weberctl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/migrations/data"
)

// runProject runs weberctl in-process for p, as runCLI does for Weber's
// own project.
func runProject(t *testing.T, p Project, vars map[string]string, args ...string) result {
	t.Helper()
	cliMu.Lock()
	defer cliMu.Unlock()
	var out, errb bytes.Buffer
	code := Run(t.Context(), p, append([]string{p.name()}, args...), strings.NewReader(""), &out, &errb, func(k string) string { return vars[k] })
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// A project that gives no App or Seed gets every other command, and a
// clear refusal from serve and db seed.
func TestProjectWithoutAppOrSeed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, filepath.Join("..", "migrations"), filepath.Join(dir, "history"))
	p := Project{Name: "shopctl", Tables: migrate.Tables, DataMigrations: data.Migrations(), Migrations: filepath.Join(dir, "history"), Dialects: []string{"sqlite"}}
	url := "sqlite://" + filepath.Join(dir, "app.db")
	vars := map[string]string{"WEBER_DATABASE_URL": url}

	if r := runProject(t, p, vars, "db", "upgrade"); r.code != 0 || !strings.Contains(r.stdout, "20261127014341") {
		t.Fatalf("db upgrade from Project.Migrations: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runProject(t, p, vars, "db", "check"); r.code != 0 || strings.Contains(r.stdout, "postgres") {
		t.Errorf("db check with Project.Dialects sqlite: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := runProject(t, p, vars, "serve", "--addr", "127.0.0.1:0")
	if r.code != exitFailure || !strings.Contains(r.stderr, "no app to serve: set App") {
		t.Errorf("serve without App: exit %d, stderr %q; want 1 and a refusal naming Project.App", r.code, r.stderr)
	}
	r = runProject(t, p, vars, "db", "seed")
	if r.code != exitFailure || !strings.Contains(r.stderr, "no seed function: set Seed") {
		t.Errorf("db seed without Seed: exit %d, stderr %q; want 1 and a refusal naming Project.Seed", r.code, r.stderr)
	}
	if r := runProject(t, p, nil, "--help"); !strings.HasPrefix(r.stdout, "NAME:\n   shopctl") {
		t.Errorf("--help does not carry Project.Name:\n%s", r.stdout)
	}
}

// A project without models is told so before any command that needs them.
func TestProjectWithoutTables(t *testing.T) {
	t.Parallel()
	r := runProject(t, Project{}, nil, "db", "revision")
	if r.code != exitFailure || !strings.Contains(r.stderr, "no models: set Tables: migrate.Tables") {
		t.Errorf("db revision without Tables: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runProject(t, Project{}, nil, "version"); r.code != 0 {
		t.Errorf("version without Tables: exit %d, stderr %q", r.code, r.stderr)
	}
}

// weberctl new refuses, as a usage mistake, what it cannot write.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "notes")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"new", "--module", "example.com/notes"}, "new takes one DIR"},
		{[]string{"new", fresh}, "the module path is empty: pass --module"},
		{[]string{"new", fresh, "--module", "not a path"}, "is not a valid module path"},
		{[]string{"new", full, "--module", "example.com/notes"}, "is not empty"},
		{[]string{"new", fresh, "--module", "example.com/notes", "extra"}, `got also "extra"`},
		{[]string{"new", fresh, "--module", "example.com/notes", "--weber-replace", t.TempDir()}, "is not a checkout of Weber"},
	} {
		r := runCLI(t, nil, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("weberctl %s: exit %d, stderr %q; want 2 and one line with %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Errorf("a refused weberctl new wrote %s", fresh)
	}
}

// weberctl new --skip-go writes the files and says what to run.
func TestNewSkipGo(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "notes")
	r := runCLI(t, nil, "new", dir, "--module", "example.com/notes", "--skip-go")
	if r.code != 0 || !strings.Contains(r.stdout, "go generate ./ent") {
		t.Fatalf("new --skip-go: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !strings.Contains(string(b), "require github.com/weber-framework/weber "+releaseVersion) {
		t.Errorf("go.mod = %q (%v), want a requirement of Weber %s", b, err, releaseVersion)
	}
}
