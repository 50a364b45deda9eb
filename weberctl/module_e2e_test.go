package weberctl

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// goModule is a Go module outside this repository that depends on Weber
// through a replace of this checkout: a project made by `weberctl new`, or
// one that adopts Weber. Its commands run with the module cache as the
// environment has it (GOFLAGS=-mod=mod, so go.sum fills itself).
type goModule struct {
	t   *testing.T
	dir string
	// env is added to every command's environment: the dev servers, and
	// WEBER_DIALECTS=sqlite when there is none.
	env []string
}

func newGoModule(t *testing.T, dir string) *goModule {
	env := devEnv()
	if len(env) < 2 {
		env = append(env, "WEBER_DIALECTS=sqlite")
	}
	return &goModule{t: t, dir: dir, env: append(env, "GOFLAGS=-mod=mod")}
}

// exec runs name with args in the module, returning its exit code and
// output; extra is added to the environment.
func (m *goModule) exec(extra []string, name string, args ...string) (int, string) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(m.t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = m.dir
	cmd.Env = cleanEnv(append(append([]string(nil), m.env...), extra...))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		m.t.Fatalf("%s %v: %v", name, args, err)
	}
	return 0, out.String()
}

// must runs name with args and fails the test unless it exits 0.
func (m *goModule) must(name string, args ...string) string {
	m.t.Helper()
	code, out := m.exec(nil, name, args...)
	if code != 0 {
		m.t.Fatalf("%s %s: exit %d\n%s", name, strings.Join(args, " "), code, out)
	}
	return out
}

// weberctl runs the module's own weberctl, built at bin/weberctl.
func (m *goModule) weberctl(args ...string) string {
	m.t.Helper()
	return m.must(filepath.Join(m.dir, "bin", "weberctl"), args...)
}

// testEnv passes the test servers on to the module's own tests.
func testEnv() []string {
	var env []string
	for _, k := range []string{testserver.EnvFor("postgres"), testserver.EnvFor("mysql")} {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// files lists the migration files under root, relative to it.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// editFile replaces old by new in path, failing when old is not there.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not hold %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// serverURLs returns, per server backend, the URL of a new, empty
// database (dropped when the test ends). A server that is not configured
// is left out, named in the log, and fails the test under CI=true, where
// every server is promised.
func serverURLs(t *testing.T) map[string]string {
	t.Helper()
	urls := map[string]string{}
	for _, name := range []string{testserver.Postgres, testserver.MySQL} {
		if strings.TrimSpace(os.Getenv(testserver.EnvFor(name))) == "" {
			if testserver.InCI() {
				t.Fatalf("%s: CI=true promises every server, but %s is not set", name, testserver.EnvFor(name))
			}
			t.Logf("%s: no server (%s is not set): its part of the test is left out", name, testserver.EnvFor(name))
			continue
		}
		_, u := testserver.NewEmpty(t, testserver.Lookup(t, name), nil)
		raw, err := testserver.Lookup(t, name).URLOf(u.Database)
		if err != nil {
			t.Fatal(err)
		}
		urls[name] = raw
	}
	return urls
}

// `weberctl new` makes a project that builds and passes its own tests on
// its own, whose migrations are what Weber's planner writes for its model
// (db check), that serves /readyz, and whose model change is revised and
// upgraded, on SQLite and on every configured server.
func TestNewProjectEndToEnd(t *testing.T) {
	skipShort(t)
	t.Parallel()
	checkout, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	m := newGoModule(t, filepath.Join(t.TempDir(), "notes"))
	m.dir = filepath.Dir(m.dir)
	out := m.must(binary, "new", "notes", "--module", "example.com/notes", "--weber-replace", checkout)
	m.dir = filepath.Join(m.dir, "notes")
	if !strings.Contains(out, "Ready.") {
		t.Fatalf("weberctl new did not finish the Go set-up:\n%s", out)
	}
	readme, err := os.ReadFile(filepath.Join(m.dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"go run ./cmd/weberctl serve", "go test ./..."} {
		if !strings.Contains(string(readme), cmd) {
			t.Errorf("README.md does not give %q", cmd)
		}
	}
	if code, out := m.exec(testEnv(), "go", "test", "-count=1", "./..."); code != 0 {
		t.Fatalf("the new project's go test ./...: exit %d\n%s", code, out)
	}
	if out := m.must("go", "run", "./cmd/weberctl", "version"); !strings.Contains(out, "replaced by "+checkout) {
		t.Errorf("the project's weberctl version = %q, want Weber's version replaced by the checkout", out)
	}
	m.must("go", "build", "-o", "bin/weberctl", "./cmd/weberctl")
	// The template's migrations are what the planner writes for its model.
	m.weberctl("db", "check")
	checkServe(t, m)

	editFile(t, filepath.Join(m.dir, "ent/schema/note.go"), `field.Time("created_at")`, `field.Bool("pinned").Default(false),
		field.Time("created_at")`)
	m.must("go", "generate", "./ent")
	m.must("go", "build", "-o", "bin/weberctl", "./cmd/weberctl")
	before := len(files(t, filepath.Join(m.dir, "migrations")))
	m.weberctl("db", "revision", "--name", "add_pinned")
	if after := len(files(t, filepath.Join(m.dir, "migrations"))); after <= before {
		t.Fatalf("db revision after a model change wrote nothing (%d files before, %d after)", before, after)
	}
	if out := m.weberctl("db", "upgrade"); !strings.Contains(out, "add_pinned") {
		t.Errorf("db upgrade on var/weber.db did not apply add_pinned:\n%s", out)
	}
	m.weberctl("db", "check")
	for name, url := range serverURLs(t) {
		if out := m.weberctl("db", "upgrade", "--database-url", url); !strings.Contains(out, "add_pinned") {
			t.Errorf("%s: db upgrade did not apply add_pinned:\n%s", name, out)
		}
	}
	if code, out := m.exec(testEnv(), "go", "test", "-count=1", "./..."); code != 0 {
		t.Fatalf("the new project's tests after the model change: exit %d\n%s", code, out)
	}

	// A declared rename works in a new project as in Weber's own: its
	// ent/template lists it in migrate.Renames, which its weberctl reads.
	editFile(t, filepath.Join(m.dir, "ent/schema/note.go"), `field.Bool("pinned").Default(false),`,
		`field.Bool("is_pinned").Default(false).Annotations(weberschema.RenamedFrom("pinned")),`)
	editFile(t, filepath.Join(m.dir, "ent/schema/note.go"), `"entgo.io/ent/schema/index"`, `"entgo.io/ent/schema/index"
	"github.com/weber-framework/weber/weberschema"`)
	m.must("go", "generate", "./ent")
	m.must("go", "build", "-o", "bin/weberctl", "./cmd/weberctl")
	m.weberctl("db", "revision", "--name", "rename_pinned")
	renamed, _ := filepath.Glob(filepath.Join(m.dir, "migrations", "sqlite", "*_rename_pinned.sql"))
	if len(renamed) != 1 {
		t.Fatalf("db revision wrote %d SQLite files for the rename", len(renamed))
	}
	if body, _ := os.ReadFile(renamed[0]); !strings.Contains(strings.ToUpper(string(body)), "RENAME COLUMN") || strings.Contains(strings.ToUpper(string(body)), "ADD COLUMN") {
		t.Errorf("%s does not rename pinned:\n%s", renamed[0], body)
	}
	if out := m.weberctl("db", "upgrade"); !strings.Contains(out, "rename_pinned") {
		t.Errorf("db upgrade did not apply rename_pinned:\n%s", out)
	}
}

// checkServe serves the new project on its embedded SQLite database and
// checks /readyz and the notes API.
func checkServe(t *testing.T, m *goModule) {
	t.Helper()
	s := m.serve()
	if s.base == "" {
		t.Fatalf("serve exited: %s", s.stderr)
	}
	if code, body := httpDo(t, "GET", s.base+"/readyz", ""); code != 200 {
		t.Errorf("/readyz: %d %s", code, body)
	}
	if code, body := httpDo(t, "POST", s.base+"/notes", `{"title":"first"}`); code != 201 {
		t.Errorf("POST /notes: %d %s", code, body)
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("serve exited %d after SIGTERM: %s", code, s.stderr)
	}
}

// A module shaped like an existing ent application (ent under
// backend/internal/data/ent, a mixin, an edge, an index, an Atlas history
// of three files in backend/db/migrations) adopts Weber with a small main:
// its history checks against its models, a revision writes nothing, the
// history upgrades a database and verifies; then a model change is
// revised and upgraded.
func TestAdoptingExistingEntProject(t *testing.T) {
	skipShort(t)
	t.Parallel()
	checkout, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	m := newGoModule(t, t.TempDir())
	copyDir(t, filepath.Join("testdata", "adopting"), m.dir)
	gomod := filepath.Join(m.dir, "go.mod")
	b, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gomod, append(b, []byte("\nreplace github.com/weber-framework/weber => "+checkout+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	m.must("go", "generate", "./backend/internal/data/ent")
	m.must("go", "mod", "tidy")
	m.must("go", "build", "-o", "bin/weberctl", "./backend/cmd/weberctl")
	if err := os.MkdirAll(filepath.Join(m.dir, "var"), 0o755); err != nil {
		t.Fatal(err)
	}
	history := filepath.Join(m.dir, "backend", "db", "migrations")
	before := files(t, history)

	m.weberctl("db", "check")
	m.weberctl("db", "revision", "--name", "nothing")
	if after := files(t, history); len(after) != len(before) {
		t.Fatalf("db revision on a history in sync with the models wrote files: %q", after)
	}
	sqlite := "sqlite://var/shop.db"
	if out := m.weberctl("db", "upgrade", "--database-url", sqlite); !strings.Contains(out, "add_orders_status_index") {
		t.Errorf("db upgrade did not apply the history:\n%s", out)
	}
	m.weberctl("db", "status", "--database-url", sqlite)
	m.weberctl("db", "verify")

	editFile(t, filepath.Join(m.dir, "backend/internal/data/ent/schema/order.go"), `field.Int64("total_cents").NonNegative(),`,
		`field.Int64("total_cents").NonNegative(),
		field.String("note").Optional(),`)
	m.must("go", "generate", "./backend/internal/data/ent")
	m.must("go", "build", "-o", "bin/weberctl", "./backend/cmd/weberctl")
	m.weberctl("db", "revision", "--name", "add_order_note")
	if after := files(t, history); len(after) <= len(before) {
		t.Fatalf("db revision after a model change wrote nothing")
	}
	if out := m.weberctl("db", "upgrade", "--database-url", sqlite); !strings.Contains(out, "add_order_note") {
		t.Errorf("db upgrade did not apply add_order_note:\n%s", out)
	}
	m.weberctl("db", "check")
	for name, url := range serverURLs(t) {
		if out := m.weberctl("db", "upgrade", "--database-url", url); !strings.Contains(out, "add_order_note") {
			t.Errorf("%s: db upgrade did not apply the history and add_order_note:\n%s", name, out)
		}
		m.weberctl("db", "status", "--database-url", url)
	}
	adoptRenames(t, m)
}

// adoptRenames follows adopting.md's "Declared renames" in the adopted
// module: Weber's template copied from the module cache (here the
// checkout that replaces it), --template, Project.Renames; then a field
// declared renamed is revised as a RENAME and upgraded.
func adoptRenames(t *testing.T, m *goModule) {
	t.Helper()
	m.must("sh", "-c", `mkdir -p backend/internal/data/ent/template &&
cp "$(go list -m -f '{{.Dir}}' github.com/weber-framework/weber)/weberschema/renames.tmpl" backend/internal/data/ent/template/ &&
chmod u+w backend/internal/data/ent/template/renames.tmpl`)
	ent := filepath.Join(m.dir, "backend/internal/data/ent")
	editFile(t, filepath.Join(ent, "generate.go"), "--feature sql/versioned-migration ./schema", "--feature sql/versioned-migration --template ./template ./schema")
	editFile(t, filepath.Join(m.dir, "backend/cmd/weberctl/main.go"), "Tables:     migrate.Tables,", "Tables:     migrate.Tables,\n\t\tRenames:    migrate.Renames,")
	editFile(t, filepath.Join(ent, "schema/order.go"), `field.String("note").Optional(),`, `field.String("remark").Optional().Annotations(weberschema.RenamedFrom("note")),`)
	editFile(t, filepath.Join(ent, "schema/order.go"), `"entgo.io/ent/schema/index"`, `"entgo.io/ent/schema/index"
	"github.com/weber-framework/weber/weberschema"`)
	m.must("go", "generate", "./backend/internal/data/ent")
	m.must("go", "build", "-o", "bin/weberctl", "./backend/cmd/weberctl")
	m.weberctl("db", "revision", "--name", "rename_order_note")
	renamed, _ := filepath.Glob(filepath.Join(m.dir, "backend/db/migrations/sqlite/*_rename_order_note.sql"))
	if len(renamed) != 1 {
		t.Fatalf("db revision wrote %d SQLite files for the rename", len(renamed))
	}
	if body, _ := os.ReadFile(renamed[0]); !strings.Contains(strings.ToUpper(string(body)), "RENAME COLUMN") {
		t.Errorf("%s does not rename orders.note:\n%s", renamed[0], body)
	}
	if out := m.weberctl("db", "upgrade", "--database-url", "sqlite://var/shop.db"); !strings.Contains(out, "rename_order_note") {
		t.Errorf("db upgrade did not apply rename_order_note:\n%s", out)
	}
}

// serve starts the module's weberctl serve on a free port, as
// project.serve does for Weber's own binary.
func (m *goModule) serve() *serving {
	m.t.Helper()
	cmd := exec.Command(filepath.Join(m.dir, "bin", "weberctl"), "serve", "--addr", "127.0.0.1:0")
	cmd.Dir = m.dir
	cmd.Env = cleanEnv(m.env)
	s := &serving{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	if err := cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	go func() { s.err = cmd.Wait(); close(s.exited) }()
	m.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.exited
	})
	re := regexp.MustCompile(`Serving on (http://\S+) `)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		if mm := re.FindStringSubmatch(s.stdout.String()); mm != nil {
			s.base = mm[1]
			return s
		}
		select {
		case <-s.exited:
			return s
		case <-time.After(20 * time.Millisecond):
		}
	}
	m.t.Fatalf("serve did not start in time\nstdout: %s\nstderr: %s", s.stdout, s.stderr)
	return nil
}
