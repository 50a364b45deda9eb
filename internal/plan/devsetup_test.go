package plan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// ISSUE 9 item 7: a history that needs an extension (citext) works in
// revision, lint and check once the project's dev setup file
// (migrations/dev/postgres.sql) creates it on every scratch database, and
// fails in each of them, naming the missing type, without it. The setup
// file does not disturb the folder's validation.
func TestDevSetupFilePreparesEveryDevDatabase(t *testing.T) {
	t.Parallel()
	devURL := testserver.Lookup(t, Postgres).URL
	ctx := context.Background()
	root := checkRoot(t, []string{Postgres})
	setup := DevSetupFile(root, Postgres)
	if want := filepath.Join(root, "dev", "postgres.sql"); setup != want {
		t.Fatalf("DevSetupFile = %s, want %s", setup, want)
	}
	if err := os.MkdirAll(filepath.Dir(setup), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(setup, []byte("-- The extensions the history assumes.\nCREATE EXTENSION IF NOT EXISTS citext;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tables := models(t)
	id := &entschema.Column{Name: "id", Type: field.TypeInt, Increment: true}
	tables = append(tables, &entschema.Table{Name: "handles", PrimaryKey: []*entschema.Column{id}, Columns: []*entschema.Column{id,
		{Name: "name", Type: field.TypeString, SchemaType: map[string]string{"postgres": "citext"}}}})
	dialects, urls := []string{Postgres}, map[string]string{Postgres: devURL}

	res := revise(t, root, dialects, urls, tables, "handles", false, clock(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)))
	if !res.Written || !strings.Contains(allSQL(res.Dialects[0]), "citext") {
		t.Fatalf("revision wrote %v:\n%s", res.Written, allSQL(res.Dialects[0]))
	}
	dir := filepath.Join(root, Postgres)
	validate(t, dir)
	if res := revise(t, root, dialects, urls, tables, "again", false, nil); res.Written {
		t.Errorf("a second revision wrote\n%s", allSQL(res.Dialects[0]))
	}
	if _, err := LintFiles(ctx, LintOptions{Dir: dir, DevURL: devURL}); err != nil {
		t.Errorf("lint: %v", err)
	}
	if rep := runCheck(t, CheckOptions{Root: root, Dialects: dialects, DevURLs: urls, Tables: tables}); !rep.OK {
		t.Errorf("check: %q", rep.Problems())
	}

	// Without the setup file, each of them fails on the missing type.
	if err := os.Remove(setup); err != nil {
		t.Fatal(err)
	}
	const missing = `type "citext" does not exist`
	if _, err := LintFiles(ctx, LintOptions{Dir: dir, DevURL: devURL}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("lint without the setup file: %v, want %q", err, missing)
	}
	if _, err := Revise(ctx, ReviseOptions{Root: root, Dialects: dialects, DevURLs: urls, Tables: tables}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("revision without the setup file: %v, want %q", err, missing)
	}
	if rep := runCheck(t, CheckOptions{Root: root, Dialects: dialects, DevURLs: urls, Tables: tables}); rep.OK || !strings.Contains(strings.Join(rep.Problems(), "\n"), missing) {
		t.Errorf("check without the setup file: %q, want %q", rep.Problems(), missing)
	}
	if _, err := migdir.Open(dir); err != nil {
		t.Errorf("the folder beside dev/ no longer validates: %v", err)
	}
}

// A statement of the setup file that fails names the file, the statement
// and its line.
func TestDevSetupFileErrorNamesTheStatement(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	setup := DevSetupFile(root, SQLite)
	if err := os.MkdirAll(filepath.Dir(setup), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(setup, []byte("CREATE TABLE ok (id integer);\n\nINSERT INTO missing VALUES (1);\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenDev(context.Background(), DevOptions{Dialect: SQLite, Root: root})
	if err == nil || !strings.Contains(err.Error(), setup+", statement 2 (line 3)") {
		t.Fatalf("OpenDev with a broken setup file: %v, want it to name %s, statement 2 (line 3)", err, setup)
	}
}
