package plan

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect/entsql"
	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/entc/gen"
	"entgo.io/ent/entc/load"
	"entgo.io/ent/schema/field"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/flavor"
	"github.com/weber-framework/weber/internal/migdir"
)

// shapeTables loads testdata/shapes, the test schema with every field
// type, default, index form, check and edge shape ent offers, into ent's
// migrate tables exactly as `go generate` would (entc/load, then
// gen.Graph.Tables), without generating a client.
func shapeTables(t *testing.T) []*entschema.Table {
	t.Helper()
	spec, err := (&load.Config{Path: "./testdata/shapes"}).Load()
	if err != nil {
		t.Fatalf("loading testdata/shapes: %v", err)
	}
	g, err := gen.NewGraph(&gen.Config{Package: spec.PkgPath, Target: filepath.Join(t.TempDir(), "ent")}, spec.Schemas...)
	if err != nil {
		t.Fatalf("building the graph of testdata/shapes: %v", err)
	}
	tables, err := g.Tables()
	if err != nil {
		t.Fatalf("tables of testdata/shapes: %v", err)
	}
	return tables
}

// devURLFor returns the dev server URL for a dialect ("" for SQLite). A
// server dialect that is not configured skips the test by name, and fails
// it under CI=true, where every server is promised.
func devURLFor(t *testing.T, d string) string {
	t.Helper()
	if d == SQLite {
		return ""
	}
	v := os.Getenv(DevURLVariable(d))
	if v == "" {
		v = os.Getenv(strings.Replace(DevURLVariable(d), "_DEV_", "_TEST_", 1))
	}
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set under CI: the %s server is required", DevURLVariable(d), d)
		}
		t.Skipf("%s not set: skipping %s", DevURLVariable(d), d)
	}
	return v
}

// TestShapesConverge is scenario "Convergence": every shape ent can express, revised
// twice on each dialect; the second revision writes nothing, `db check`
// passes, and Models on a database built from the history plans nothing.
// Without normalising the models on the dev server, MariaDB's hashed
// unique indexes on text/blob, its CONSTRAINT_n check names and its
// rewritten default expressions (and SQLite's unnamed check) are planned
// again by every revision. The schema is loaded once, here: entc/load
// works in a .entc folder of the package, which concurrent loads would
// share and remove under each other.
func TestShapesConverge(t *testing.T) {
	t.Parallel()
	tables := shapeTables(t)
	for _, d := range []string{SQLite, Postgres, MySQL} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			urls := map[string]string{d: devURLFor(t, d)}
			root := t.TempDir()
			now := clock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
			first := revise(t, root, []string{d}, urls, tables, "first", false, now)
			if !first.Written {
				t.Fatal("the first revision wrote nothing")
			}
			second := revise(t, root, []string{d}, urls, tables, "second", false, now)
			if second.Written {
				t.Fatalf("the second revision wrote %s:\n%s", second.Dialects[0].File, allSQL(second.Dialects[0]))
			}
			rep, err := Check(t.Context(), CheckOptions{Root: root, Dialects: []string{d}, DevURLs: urls, Tables: tables})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK {
				t.Fatalf("db check failed after the revision:\n%s", strings.Join(rep.Problems(), "\n"))
			}
			modelsOffTheTarget(t, d, urls[d], root, tables)
		})
	}
}

// TestReviseRejectsModelsTheDialectRefuses is issue 9 item 5: a check
// written with MySQL's backticks used to be written into the PostgreSQL
// file, which `db check` then failed to replay. The models are applied on
// each dialect's dev server before anything is written.
func TestReviseRejectsModelsTheDialectRefuses(t *testing.T) {
	t.Parallel()
	urls := map[string]string{Postgres: devURLFor(t, Postgres)}
	tables := models(t)
	table(t, tables, "users").SetAnnotation(&entsql.Annotation{Checks: map[string]string{"users_name_set": "`name` <> ''"}})
	root := t.TempDir()
	_, err := Revise(t.Context(), ReviseOptions{Root: root, Dialects: []string{SQLite, Postgres}, DevURLs: urls, Tables: tables})
	var me *ModelsError
	if !errors.As(err, &me) || me.Dialect != Postgres {
		t.Fatalf("Revise = %v, want a *ModelsError for postgres", err)
	}
	if !strings.Contains(err.Error(), "fix the model") {
		t.Errorf("the error does not say what to fix: %v", err)
	}
	for _, d := range []string{SQLite, Postgres} {
		if files := sqlFiles(t, filepath.Join(root, d)); len(files) > 0 {
			t.Errorf("%s: files written although postgres failed: %v", d, files)
		}
	}
}

// TestRehearseRefusesWhatFailsOrFallsShort: Revise applies each planned
// file on the dev database holding the replayed history before writing
// it; a statement the server rejects, or a file that leaves the database
// short of the models, is refused with the statement or the difference.
func TestRehearseRefusesWhatFailsOrFallsShort(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, cleanup, err := OpenScratch(ctx, SQLite, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cleanup() })
	if _, err := db.ExecContext(ctx, "CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	drv, err := openAtlas(SQLite, db)
	if err != nil {
		t.Fatal(err)
	}
	desired, err := InspectTables(ctx, drv)
	if err != nil {
		t.Fatal(err)
	}
	bad := &Plan{Dialect: SQLite, Content: []byte("ALTER TABLE users ADD COLUMN bio text;\nALTER TABLE nope ADD COLUMN x int;\n")}
	err = rehearse(ctx, db, bad, desired)
	var pe *PlannedFileError
	if !errors.As(err, &pe) {
		t.Fatalf("rehearse(failing file) = %v, want a *PlannedFileError", err)
	}
	type failed struct {
		Statement int
		SQLLacks  []string
		Cause     bool
	}
	if diff := cmp.Diff(failed{Statement: 2, Cause: true}, failed{pe.Statement, missing(pe.SQL, "nope"), pe.Err != nil}); diff != "" {
		t.Fatalf("rehearse(failing file) = %v (-want +got):\n%s", err, diff)
	}
	short := &Plan{Dialect: SQLite, Content: []byte("CREATE TABLE extra (id integer);\n")}
	err = rehearse(ctx, db, short, desired)
	if !errors.As(err, &pe) || pe.Err != nil || !slices.Contains(pe.Remaining, "DROP TABLE extra") {
		t.Fatalf("rehearse(file that overshoots) = %v, want a *PlannedFileError naming DROP TABLE extra", err)
	}
}

// TestReviseDeclaresAndKeepsTheFlavour is scenario "Server flavour" for revisions: the
// MySQL-dialect file declares the dev server's flavour, and once it does,
// revising or checking that history on a dev server of the other flavour
// is refused with the setting to change, instead of ten false changes.
func TestReviseDeclaresAndKeepsTheFlavour(t *testing.T) {
	t.Parallel()
	urls := map[string]string{MySQL: devURLFor(t, MySQL)}
	root := t.TempDir()
	now := clock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	res := revise(t, root, []string{MySQL}, urls, models(t), "initial", false, now)
	body, err := os.ReadFile(res.Dialects[0].File)
	if err != nil {
		t.Fatal(err)
	}
	db, cleanup, err := OpenScratch(t.Context(), MySQL, urls[MySQL])
	if err != nil {
		t.Fatal(err)
	}
	server, _, err := flavor.Of(t.Context(), db)
	if err1 := cleanup(); err == nil {
		err = err1
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(body), flavor.Header(server)+"\n") {
		t.Fatalf("the mysql file does not start with %q:\n%s", flavor.Header(server), body)
	}
	// The same history, declared for the other flavour.
	otherFlavor := flavor.MySQL
	if server == flavor.MySQL {
		otherFlavor = flavor.MariaDB
	}
	edited := strings.Replace(string(body), flavor.Header(server), flavor.Header(otherFlavor), 1)
	if err := os.WriteFile(res.Dialects[0].File, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := migdir.Rehash(filepath.Join(root, MySQL)); err != nil {
		t.Fatal(err)
	}
	_, err = Revise(t.Context(), ReviseOptions{Root: root, Dialects: []string{MySQL}, DevURLs: urls, Tables: models(t), Now: now})
	var me *flavor.MismatchError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "point WEBER_DEV_MYSQL_URL at a "+otherFlavor.Name()+" server") {
		t.Fatalf("Revise on the other flavour = %v, want a *flavor.MismatchError naming WEBER_DEV_MYSQL_URL", err)
	}
	rep, err := Check(t.Context(), CheckOptions{Root: root, Dialects: []string{MySQL}, DevURLs: urls, Tables: models(t)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Problems()) != 1 || !strings.Contains(rep.Problems()[0], "was written for "+otherFlavor.Name()) {
		t.Fatalf("Check on the other flavour: ok=%v problems=%q, want the flavour refusal", rep.OK, rep.Problems())
	}
}

// modelsOffTheTarget checks Models (db verify's final check), which runs
// on a database that holds the history, where the models cannot be
// created: it normalises them in memory (SQLite) or on a scratch database
// on the dev server, so every shape compares equal there too.
func modelsOffTheTarget(t *testing.T, d, url, root string, tables []*entschema.Table) {
	t.Helper()
	files, err := ReadHistory(filepath.Join(root, d))
	if err != nil {
		t.Fatal(err)
	}
	target, cleanup, err := OpenScratch(t.Context(), d, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cleanup() })
	if _, err := Replay(t.Context(), target, d, files, ""); err != nil {
		t.Fatal(err)
	}
	p, err := Models(t.Context(), target, d, tables, Options{DevURL: url})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() {
		t.Fatalf("Models on the upgraded database plans %d statements:\n%s", len(p.Statements), p.Content)
	}
}

// TestReviseWarnsWhenItFirstDeclaresTheFlavour: a MySQL history written
// before flavours were declared gets its flavour from the next revision;
// the revision says so, with what to do if production runs the other.
func TestReviseWarnsWhenItFirstDeclaresTheFlavour(t *testing.T) {
	t.Parallel()
	urls := map[string]string{MySQL: devURLFor(t, MySQL)}
	root := t.TempDir()
	dir := filepath.Join(root, MySQL)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old := "CREATE TABLE legacy (id bigint NOT NULL PRIMARY KEY) CHARSET utf8mb4 COLLATE utf8mb4_bin;\n"
	if err := os.WriteFile(filepath.Join(dir, "20200101000000_legacy.sql"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := migdir.Rehash(dir); err != nil {
		t.Fatal(err)
	}
	now := clock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	res := revise(t, root, []string{MySQL}, urls, models(t), "models", true, now)
	if w := ownWarnings(res.Dialects[0].Warnings); len(w) != 1 || !strings.Contains(w[0], "declared no server flavour") || !strings.Contains(w[0], "revise against a") {
		t.Fatalf("warnings = %q, want the first-declaration warning", w)
	}
	more := models(t)
	tags := table(t, more, "tags")
	tags.Columns = append(tags.Columns, &entschema.Column{Name: "slug", Type: field.TypeString, Nullable: true, Size: 100})
	res = revise(t, root, []string{MySQL}, urls, more, "more", true, now)
	if !res.Written {
		t.Fatal("the second revision wrote nothing")
	}
	if w := res.Dialects[0].Warnings; len(w) != 0 {
		t.Errorf("a declared history warns again: %q", w)
	}
}

// ownWarnings drops from a revision's warnings the notes about scratch
// databases of other, dead weberctl processes that it removed from the
// shared dev server: another test's leftovers, not this revision's.
func ownWarnings(ws []string) []string {
	var out []string
	for _, w := range ws {
		if !strings.HasPrefix(w, "removed the scratch database ") {
			out = append(out, w)
		}
	}
	return out
}
