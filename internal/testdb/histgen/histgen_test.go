package histgen_test

import (
	"context"
	"testing"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/histgen"
)

func TestWriteAndApply(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := histgen.Write(dir, dialect.SQLite, 5); err != nil {
		t.Fatal(err)
	}
	ld, err := migrate.NewLocalDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.Validate(ld); err != nil {
		t.Fatalf("atlas.sum does not match the files: %v", err)
	}
	files, _ := ld.Files()
	if len(files) != 5 {
		t.Fatalf("%d files, want 5", len(files))
	}
	u, _ := dbconn.Parse("sqlite://histgen?mode=memory&_name=histgen-test")
	db, err := dbconn.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := histgen.Apply(context.Background(), db, dialect.SQLite, dir); err != nil {
		t.Fatal(err)
	}
	var n int
	db.QueryRow("SELECT COUNT(*) FROM " + histgen.RevisionTable).Scan(&n)
	if n != 5 {
		t.Fatalf("%d revisions recorded, want 5", n)
	}
	if _, err := db.Exec("INSERT INTO t005 (id, name, ref_id, c004) VALUES (1, 'x', NULL, NULL)"); err == nil {
		t.Fatal("c004 belongs to t003, not t005")
	}
	if _, err := db.Exec("UPDATE t003 SET c004 = 'y'"); err != nil {
		t.Fatalf("file 4 should add c004 to t003: %v", err)
	}
	if err := histgen.Write(t.TempDir(), dialect.SQLite, 0); err == nil {
		t.Fatal("a history of 0 files was accepted")
	}
}
