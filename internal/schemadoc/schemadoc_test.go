package schemadoc_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/internal/schemadoc"
	"github.com/weber-framework/weber/internal/testdb"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// The example models' relations, as the diagram must draw them.
var exampleRelations = []string{
	`posts }o--o{ tags : "post_tags"`,
	`users ||--o{ posts : "user_id"`,
}

var exampleTables = []string{"post_tags", "posts", "tags", "users"}

// entities returns the tables the diagram declares.
func entities(mermaid string) []string {
	var out []string
	for _, l := range strings.Split(mermaid, "\n") {
		if name, ok := strings.CutSuffix(strings.TrimSpace(l), " {"); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// relations returns the relation lines of the diagram.
func relations(mermaid string) []string {
	var out []string
	for _, l := range strings.Split(mermaid, "\n") {
		if strings.Contains(l, "--") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

// created is where sql creates the table, -1 when it does not.
func created(sql, table string) int {
	for _, q := range []string{`"`, "`"} {
		if i := strings.Index(sql, "CREATE TABLE "+q+table+q); i >= 0 {
			return i
		}
	}
	return -1
}

func TestMermaidListsEveryTableAndRelationOfTheModels(t *testing.T) {
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		s, err := schemadoc.Load(context.Background(), schemadoc.Options{Dialect: b.Name, DevURL: b.URL, Tables: migrate.Tables})
		if err != nil {
			t.Fatal(err)
		}
		m := schemadoc.Mermaid(s.Schema)
		if got := entities(m); !reflect.DeepEqual(got, exampleTables) {
			t.Errorf("tables %v, want %v\n%s", got, exampleTables, m)
		}
		if got := relations(m); !reflect.DeepEqual(got, exampleRelations) {
			t.Errorf("relations %q, want %q\n%s", got, exampleRelations, m)
		}
		for _, want := range []string{" id PK\n", " user_id FK \"references users.id\"\n", " email UK\n",
			" post_id PK, FK \"references posts.id\"\n", " bio \"nullable\"\n"} {
			if !strings.Contains(m, want) {
				t.Errorf("no %q in\n%s", want, m)
			}
		}
		sql := schemadoc.SQL(s)
		if strings.Count(sql, "CREATE TABLE") != len(exampleTables) {
			t.Errorf("want %d CREATE TABLE statements:\n%s", len(exampleTables), sql)
		}
		// A server checks references at CREATE TABLE: users before posts.
		if created(sql, "users") < 0 || created(sql, "users") > created(sql, "posts") {
			t.Errorf("posts is created before users:\n%s", sql)
		}
	})
}

// TestCardinality: a unique foreign key is one-to-one, a nullable one has
// an optional parent, a table that only links two others is many-to-many.
func TestCardinality(t *testing.T) {
	people := []*entschema.Column{{Name: "id", Type: field.TypeInt, Increment: true}}
	peopleT := &entschema.Table{Name: "people", Columns: people, PrimaryKey: people[:1]}
	pass := []*entschema.Column{
		{Name: "id", Type: field.TypeInt, Increment: true},
		{Name: "person_id", Type: field.TypeInt, Unique: true},
		{Name: "mentor_id", Type: field.TypeInt, Nullable: true},
	}
	passT := &entschema.Table{Name: "passports", Columns: pass, PrimaryKey: pass[:1], ForeignKeys: []*entschema.ForeignKey{
		{Symbol: "passports_person", Columns: pass[1:2], RefColumns: people[:1], RefTable: peopleT},
		{Symbol: "passports_mentor", Columns: pass[2:3], RefColumns: people[:1], RefTable: peopleT},
	}}
	s, err := schemadoc.Load(context.Background(), schemadoc.Options{Tables: []*entschema.Table{peopleT, passT}})
	if err != nil {
		t.Fatal(err)
	}
	got := relations(schemadoc.Mermaid(s.Schema))
	sort.Strings(got)
	want := []string{`people |o--o{ passports : "mentor_id"`, `people ||--o| passports : "person_id"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("relations %q, want %q", got, want)
	}
}

// TestLiveDatabase: a database upgraded to the history has the models'
// tables and relations.
func TestLiveDatabase(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		s, err := schemadoc.Load(context.Background(), schemadoc.Options{Dialect: db.Dialect.String(), Live: db.SQL})
		if err != nil {
			t.Fatal(err)
		}
		if s.Source != "live database" {
			t.Errorf("source %q", s.Source)
		}
		m := schemadoc.Mermaid(s.Schema)
		if got := entities(m); !reflect.DeepEqual(got, exampleTables) {
			t.Errorf("tables %v, want %v\n%s", got, exampleTables, m)
		}
		if got := relations(m); !reflect.DeepEqual(got, exampleRelations) {
			t.Errorf("relations %q, want %q\n%s", got, exampleRelations, m)
		}
	})
}

// TestAtVersion: the first version of the repository's history has no
// tags.description (the second adds it); an unknown version is refused.
func TestAtVersion(t *testing.T) {
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		dir := filepath.Join("..", "..", "migrations", b.Name)
		files, err := filepath.Glob(filepath.Join(dir, "*_*.sql"))
		if err != nil || len(files) < 2 {
			t.Fatalf("want two files in %s: %v %v", dir, files, err)
		}
		first, _, _ := strings.Cut(filepath.Base(files[0]), "_")
		opts := schemadoc.Options{Dialect: b.Name, DevURL: b.URL, Dir: dir, At: first}
		s, err := schemadoc.Load(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		m := schemadoc.Mermaid(s.Schema)
		if strings.Contains(m, " description ") || !strings.Contains(m, " name UK") {
			t.Errorf("at %s, tags must have name and no description:\n%s", first, m)
		}
		opts.At = "19990101000000"
		_, err = schemadoc.Load(context.Background(), opts)
		var unknown *schemadoc.UnknownVersionError
		if !errors.As(err, &unknown) {
			t.Errorf("unknown version: got %v, want UnknownVersionError", err)
		}
	})
}

// TestCheckDoc: no page is not checked; the page written from the models
// is current; a page from other models is stale.
func TestCheckDoc(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "schema.md")
	if present, err := schemadoc.CheckDoc(ctx, path, migrate.Tables); present || err != nil {
		t.Fatalf("no page: present %v, err %v", present, err)
	}
	doc, err := schemadoc.ModelsDoc(ctx, migrate.Tables)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc, "```mermaid\nerDiagram\n") {
		t.Fatalf("no mermaid block:\n%s", doc)
	}
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if present, err := schemadoc.CheckDoc(ctx, path, migrate.Tables); !present || err != nil {
		t.Fatalf("current page: present %v, err %v", present, err)
	}
	fewer := migrate.Tables[:len(migrate.Tables)-1] // post_tags gone
	_, err = schemadoc.CheckDoc(ctx, path, fewer)
	var stale *schemadoc.StaleDocError
	fix := "weberctl db schema --format mermaid --write " + path
	if !errors.As(err, &stale) || !strings.Contains(err.Error(), fix) {
		t.Fatalf("other models: got %v, want a StaleDocError naming %q", err, fix)
	}
}
