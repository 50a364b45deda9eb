package devdb_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/devdb"
)

// familyTables is a small schema: parents, and children deleted with their
// parent (ON DELETE CASCADE). withOwner adds owners and a nullable
// parents.owner_id referencing them, which SQLite can add only by
// rebuilding the parents table.
func familyTables(withOwner bool) []*entschema.Table {
	parentCols := []*entschema.Column{
		{Name: "id", Type: field.TypeInt, Increment: true},
		{Name: "name", Type: field.TypeString, Size: 50},
	}
	parents := &entschema.Table{Name: "parents", Columns: parentCols, PrimaryKey: parentCols[:1]}
	childCols := []*entschema.Column{
		{Name: "id", Type: field.TypeInt, Increment: true},
		{Name: "parent_id", Type: field.TypeInt},
	}
	children := &entschema.Table{Name: "children", Columns: childCols, PrimaryKey: childCols[:1],
		ForeignKeys: []*entschema.ForeignKey{{Symbol: "children_parents_kids", Columns: childCols[1:],
			RefColumns: parentCols[:1], RefTable: parents, OnDelete: entschema.Cascade}}}
	if !withOwner {
		return []*entschema.Table{parents, children}
	}
	ownerCols := []*entschema.Column{{Name: "id", Type: field.TypeInt, Increment: true}}
	owners := &entschema.Table{Name: "owners", Columns: ownerCols, PrimaryKey: ownerCols}
	ownerID := &entschema.Column{Name: "owner_id", Type: field.TypeInt, Nullable: true}
	parents.Columns = append(parents.Columns, ownerID)
	parents.ForeignKeys = []*entschema.ForeignKey{{Symbol: "parents_owners_parents", Columns: []*entschema.Column{ownerID},
		RefColumns: ownerCols, RefTable: owners, OnDelete: entschema.SetNull}}
	return []*entschema.Table{owners, parents, children}
}

// A column with a foreign key makes SQLite rebuild the parent table. With
// foreign keys on, dropping the old table would cascade and silently empty
// the child table: Ensure must keep every child row.
func TestEnsureSQLiteRebuildKeepsCascadeChildren(t *testing.T) {
	t.Parallel()
	u, err := dbconn.Parse("sqlite://" + filepath.Join(t.TempDir(), "family.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := devdb.Ensure(t.Context(), u, devdb.EnsureOptions{Tables: familyTables(false)}); err != nil {
		t.Fatal(err)
	}
	db := open(t, u)
	exec(t, db, "INSERT INTO parents (id, name) VALUES (1, 'a'), (2, 'b')")
	exec(t, db, "INSERT INTO children (parent_id) VALUES (1), (1), (2)")

	res, err := devdb.Ensure(t.Context(), u, devdb.EnsureOptions{Tables: familyTables(true)})
	if err != nil {
		t.Fatalf("ensure with the owner column: %v", err)
	}
	if !slices.Equal(res.Tables, []string{"owners"}) || !slices.Contains(res.Columns, "parents.owner_id") {
		t.Errorf("ensure created tables %v columns %v, want owners and parents.owner_id", res.Tables, res.Columns)
	}
	count := func(q string) int {
		var n int
		if err := db.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("SELECT COUNT(*) FROM children"); n != 3 {
		t.Errorf("children after the parents rebuild: %d, want 3", n)
	}
	if n := count("SELECT COUNT(*) FROM parents WHERE owner_id IS NULL"); n != 2 {
		t.Errorf("parents after the rebuild: %d, want 2", n)
	}
	if n := count("SELECT COUNT(*) FROM pragma_foreign_key_list('parents')"); n != 1 {
		t.Errorf("parents has %d foreign keys after the rebuild, want 1", n)
	}
}

// A rebuild recreates the table from the models; if the table has a column
// the models lack, the rebuild would drop it. Ensure must skip the change
// and say so instead.
func TestEnsureSQLiteSkipsRebuildThatWouldDropAColumn(t *testing.T) {
	t.Parallel()
	u, err := dbconn.Parse("sqlite://" + filepath.Join(t.TempDir(), "family.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := devdb.Ensure(t.Context(), u, devdb.EnsureOptions{Tables: familyTables(false)}); err != nil {
		t.Fatal(err)
	}
	db := open(t, u)
	exec(t, db, "ALTER TABLE parents ADD COLUMN nickname text")
	exec(t, db, "INSERT INTO parents (id, name, nickname) VALUES (1, 'a', 'keep-me')")

	res, err := devdb.Ensure(t.Context(), u, devdb.EnsureOptions{Tables: familyTables(true)})
	if err != nil {
		t.Fatalf("ensure: %v", err)
	}
	if slices.Contains(res.Columns, "parents.owner_id") {
		t.Errorf("ensure rebuilt parents although it has a column the models lack")
	}
	if !strings.Contains(strings.Join(res.Skipped, "\n"), "owner_id") {
		t.Errorf("Skipped = %q, want it to name owner_id", res.Skipped)
	}
	var nick string
	if err := db.QueryRowContext(t.Context(), "SELECT nickname FROM parents WHERE id = 1").Scan(&nick); err != nil || nick != "keep-me" {
		t.Errorf("nickname after ensure = %q, %v; want keep-me", nick, err)
	}
}
