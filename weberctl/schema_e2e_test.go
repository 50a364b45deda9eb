package weberctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// TestE2ESchemaDocKeptCurrentByCheck: `db check` passes a project without
// docs/schema.md, fails on a stale page naming the command that rewrites
// it, and passes once that command ran; the page holds every table and
// relation of the models.
func TestE2ESchemaDocKeptCurrentByCheck(t *testing.T) {
	skipShort(t)
	t.Parallel()
	p := newProject(t, e2eBackendOf(testserver.Lookup(t, testserver.SQLite)))
	check := []string{"db", "check", "--dialect", "sqlite"}
	if r := p.must(check...); strings.Contains(r.stdout, "schema.md") {
		t.Errorf("no page, yet db check reports one:\n%s", r.stdout)
	}
	r := p.must("db", "schema", "--format", "mermaid", "--write", "docs/schema.md")
	if !strings.Contains(r.stdout, "docs/schema.md") {
		t.Errorf("db schema --write does not say where it wrote: %q", r.stdout)
	}
	page := filepath.Join(p.dir, "docs", "schema.md")
	doc, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"```mermaid\nerDiagram\n", "    post_tags {\n", "    posts {\n", "    tags {\n", "    users {\n",
		`    posts }o--o{ tags : "post_tags"`, `    users ||--o{ posts : "user_id"`} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/schema.md lacks %q:\n%s", want, doc)
		}
	}
	if r := p.must(check...); !strings.Contains(r.stdout, "docs/schema.md: current") {
		t.Errorf("db check does not report the page current:\n%s", r.stdout)
	}
	// The page of older models: one column fewer than the models have.
	old := strings.Replace(string(doc), "        text bio \"nullable\"\n", "", 1)
	if old == string(doc) {
		t.Fatalf("the page has no users.bio line to remove:\n%s", doc)
	}
	if err := os.WriteFile(page, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	r = p.run(check...)
	want := "docs/schema.md is stale: the models changed since it was written: run `weberctl db schema --format mermaid --write docs/schema.md` and commit it"
	if r.code != 1 || !strings.Contains(r.stdout, want+"\n") || strings.TrimSpace(r.stderr) != "weberctl: db check found 1 problem" {
		t.Errorf("stale page: exit %d, want 1 with %q\nstdout: %s\nstderr: %s", r.code, want, r.stdout, r.stderr)
	}
	p.must("db", "schema", "--format", "mermaid", "--write", "docs/schema.md")
	p.must(check...)
}

// TestE2ESchemaPrints: SQL by default, Mermaid on request, --live reads the
// project's database, --at an unknown version is one line naming the fix.
func TestE2ESchemaPrints(t *testing.T) {
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		if r := p.must("db", "schema"); !strings.Contains(r.stdout, "CREATE TABLE") {
			t.Errorf("db schema prints no SQL:\n%s", r.stdout)
		}
		p.must("db", "ensure")
		r := p.must("db", "schema", "--live", "--format", "mermaid")
		if !strings.HasPrefix(r.stdout, "erDiagram\n") || !strings.Contains(r.stdout, `users ||--o{ posts : "user_id"`) {
			t.Errorf("db schema --live --format mermaid:\n%s", r.stdout)
		}
		r = p.run("db", "schema", "--at", "19990101000000")
		if r.code == 0 || !strings.Contains(r.stderr, "version 19990101000000 is not in") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("unknown version: exit %d, stderr %q", r.code, r.stderr)
		}
		if r := p.run("db", "schema", "--format", "png"); r.code == 0 || !strings.Contains(r.stderr, "use sql or mermaid") {
			t.Errorf("bad format: exit %d, stderr %q", r.code, r.stderr)
		}
	})
}
