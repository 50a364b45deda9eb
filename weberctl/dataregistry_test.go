package weberctl

import (
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/scaffold"
)

// registerDataMigration adds one line per migration to Migrations' map,
// whether the file is new, empty, or written on one line by hand.
func TestRegisterDataMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.go")
	if created, err := registerDataMigration(path, "first", "First"); err != nil || !created {
		t.Fatalf("new file: created %v, %v", created, err)
	}
	if created, err := registerDataMigration(path, "second", "Second"); err != nil || created {
		t.Fatalf("existing file: created %v, %v", created, err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "\t\t\"first\":  First(),\n\t\t\"second\": Second(),\n\t}") {
		t.Errorf("data.go:\n%s", b)
	}

	oneLine := strings.Replace(scaffold.DataRegistry(), "{}", `{"a": A()}`, 1)
	if err := os.WriteFile(path, []byte(oneLine), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := registerDataMigration(path, "b", "B"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	if !strings.Contains(string(b), `"a": A(),`) || !strings.Contains(string(b), `"b": B(),`) {
		t.Errorf("one-line map:\n%s", b)
	}

	if err := os.WriteFile(path, []byte("package data\n\nfunc Other() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := registerDataMigration(path, "c", "C"); err == nil || !strings.Contains(err.Error(), "register the data migration there by hand") {
		t.Errorf("no Migrations func: %v", err)
	}
}

// Recording a frozen migration twice is refused by its own name only: a
// file whose name merely ends with it is another migration.
func TestRefuseFrozenTwice(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "sqlite"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sqlite", "20261206125757_publish_dated_drafts.sql"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := refuseFrozenTwice(root, []string{"sqlite"}, "drafts"); err != nil {
		t.Errorf("drafts refused for publish_dated_drafts: %v", err)
	}
	if err := refuseFrozenTwice(root, []string{"sqlite"}, "publish_dated_drafts"); err == nil || !strings.Contains(err.Error(), "holds the data migration publish_dated_drafts already") {
		t.Errorf("publish_dated_drafts twice: %v", err)
	}
}

// The scaffolded Go files are gofmt-clean in any module: a project's path
// that sorts before Weber's is put first, as gofmt would.
func TestScaffoldedGoFilesAreFormatted(t *testing.T) {
	for name, src := range map[string]string{
		"frozen": frozenTemplate("clear_bodies", "example.com/notes/ent"),
		"go":     dataTemplate("fill_bodies", "example.com/notes/migrations/data/fill_bodies/ent"),
	} {
		path := filepath.Join(t.TempDir(), name+".go")
		if err := writeGoFile(path, src); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		formatted, err := format.Source(b)
		if err != nil || string(formatted) != string(b) {
			t.Errorf("%s: not gofmt-clean (%v):\n%s", name, err, b)
		}
		if strings.Index(string(b), `"example.com/notes`) > strings.Index(string(b), `"github.com/weber-framework/weber/engine"`) {
			t.Errorf("%s: imports not sorted:\n%s", name, b)
		}
	}
}
