package importhist_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/importhist"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"github.com/weber-framework/weber/internal/upgrade"
)

// writeFiles writes name/content pairs into a new folder.
func writeFiles(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i < len(files); i += 2 {
		must(t, os.WriteFile(filepath.Join(dir, files[i]), []byte(files[i+1]), 0o644))
	}
	return dir
}

// refusal asserts err is an *importhist.Error of kind whose message
// contains every part.
func refusal(t *testing.T, err error, kind importhist.Kind, parts ...string) {
	t.Helper()
	var e *importhist.Error
	if !errors.As(err, &e) || importhist.KindOf(err) != kind {
		t.Fatalf("got %v, want a %q refusal", err, kind)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("refusal %q does not mention %q", err, p)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("refusal is not one line: %q", err)
	}
}

func TestGooseSplitsAsGooseDoes(t *testing.T) {
	src := writeFiles(t, "00001_a.sql", `-- a comment before the annotations
-- +goose Up
-- +goose NO TRANSACTION
CREATE TABLE a (
  id int, -- not the end;
  name text
); -- the end
-- +goose StatementBegin
CREATE FUNCTION f() RETURNS int AS 'SELECT 1; SELECT 2;'
LANGUAGE sql
-- +goose StatementEnd
INSERT INTO a VALUES (1, 'x;y');

-- +goose Down
-- +goose StatementBegin
DROP FUNCTION f;
-- +goose StatementEnd
DROP TABLE a;
`)
	s, err := importhist.Read(importhist.Goose, src, dialect.Postgres)
	must(t, err)
	m := s.Migrations[0]
	want := []string{
		"CREATE TABLE a (\n  id int, -- not the end;\n  name text\n); -- the end",
		"CREATE FUNCTION f() RETURNS int AS 'SELECT 1; SELECT 2;'\nLANGUAGE sql",
		"INSERT INTO a VALUES (1, 'x;y');",
	}
	if strings.Join(m.Stmts, "|") != strings.Join(want, "|") {
		t.Fatalf("statements:\n%q\nwant\n%q", m.Stmts, want)
	}
	if !m.NoTx || !strings.Contains(m.Down, "DROP TABLE a;") || strings.Contains(m.Down, "+goose") {
		t.Fatalf("NoTx %v, down %q: want NO TRANSACTION read and the down section without annotations", m.NoTx, m.Down)
	}
	// The block has no closing semicolon: Weber must keep it apart from
	// the INSERT with a delimiter, and split the file into the same three.
	dir := filepath.Join(t.TempDir(), "postgres")
	res, err := importhist.Import(s, dir, dialect.Postgres)
	must(t, err)
	f := res.Files[0]
	if !f.Delimiter || !f.NoTx || f.Stmts != 3 {
		t.Fatalf("imported %+v, want a delimiter, txmode none and 3 statements", f)
	}
	d, err := migdir.OpenDialect(dir, dialect.Postgres)
	must(t, err)
	if len(d.Files[0].Stmts) != 3 || d.Files[0].TxMode != migdir.TxModeNone {
		t.Fatalf("Weber reads %d statements, txmode %s: want 3, none\n%s", len(d.Files[0].Stmts), d.Files[0].TxMode, d.Files[0].Bytes)
	}
}

func TestGooseRefusals(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"no up", "-- just a comment\n", "no `-- +goose Up`"},
		{"sql before up", "CREATE TABLE a (id int);\n-- +goose Up\nSELECT 1;\n", "before `-- +goose Up`"},
		{"unterminated", "-- +goose Up\nCREATE TABLE a (id int)\n-- +goose Down\n", "no closing semicolon"},
		{"open block", "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n", "has no StatementEnd"},
		{"envsub", "-- +goose Up\n-- +goose ENVSUB ON\nSELECT 1;\n", "ENVSUB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := importhist.Read(importhist.Goose, writeFiles(t, "00001_a.sql", c.body), dialect.SQLite)
			refusal(t, err, importhist.KindSource, "00001_a.sql", c.want)
		})
	}
	_, err := importhist.Read(importhist.Goose, writeFiles(t,
		"00001_a.sql", "-- +goose Up\nSELECT 1;\n",
		"00002_seed.go", "package migrations\n",
		"00002_seed_test.go", "package migrations\n"), dialect.SQLite)
	refusal(t, err, importhist.KindUnsupported, "00002_seed.go", "Go migrations")
	if strings.Contains(err.Error(), "_test.go") {
		t.Fatalf("goose ignores test files, so must the import: %v", err)
	}
}

// TestGolangMigratePairs: up/down pairs share a version, which Weber's own
// folder refuses as duplicates; the import pairs them, pads the versions
// so that 10 stays after 2, and refuses what golang-migrate refuses.
func TestGolangMigratePairs(t *testing.T) {
	src := writeFiles(t,
		"1_a.up.sql", "CREATE TABLE a (id int);\n", "1_a.down.sql", "DROP TABLE a;\n",
		"2_b.up.sql", "BEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\n", "2_b.down.sql", "DROP TABLE b;\n",
		"10_c.up.sql", "CREATE TABLE c (id int);\n",
		"notes.txt", "not a migration\n")
	if _, err := migdir.OpenDialect(src, dialect.SQLite); err == nil {
		t.Fatal("migdir accepts golang-migrate pairs as they are: the import would be pointless")
	}
	s, err := importhist.Read(importhist.GolangMigrate, src, dialect.SQLite)
	must(t, err)
	dir := filepath.Join(t.TempDir(), "sqlite")
	res, err := importhist.Import(s, dir, dialect.SQLite)
	must(t, err)
	var names []string
	for _, f := range res.Files {
		names = append(names, f.Name)
	}
	if strings.Join(names, " ") != "01_a.sql 02_b.sql 10_c.sql" {
		t.Fatalf("files %v, want 01_a.sql 02_b.sql 10_c.sql", names)
	}
	if !res.Files[1].Unwrapped || res.Files[0].Unwrapped {
		t.Fatalf("unwrapped: %v %v, want only 02_b.sql's own BEGIN/COMMIT commented out", res.Files[0].Unwrapped, res.Files[1].Unwrapped)
	}
	if len(res.Ignored) != 1 || res.Ignored[0] != "notes.txt" {
		t.Fatalf("ignored %v, want notes.txt", res.Ignored)
	}
	b, err := os.ReadFile(filepath.Join(dir, "01_a.sql"))
	must(t, err)
	if !strings.Contains(string(b), "--   DROP TABLE a;") {
		t.Fatalf("01_a.sql does not keep its down section:\n%s", b)
	}

	_, err = importhist.Read(importhist.GolangMigrate, writeFiles(t, "1_a.up.sql", "SELECT 1;", "01_b.up.sql", "SELECT 2;"), dialect.SQLite)
	refusal(t, err, importhist.KindSource, "duplicate up migration for version 1")
	s, err = importhist.Read(importhist.GolangMigrate, writeFiles(t, "1_a.up.sql", "CREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);\n"), dialect.SQLite)
	must(t, err)
	_, err = importhist.Import(s, filepath.Join(t.TempDir(), "sqlite"), dialect.SQLite)
	refusal(t, err, importhist.KindUnsupported, "1_a.up.sql", "COMMIT")
}

func TestDbmateOrder(t *testing.T) {
	_, err := importhist.Read(importhist.Dbmate, writeFiles(t,
		"10_b.sql", "-- migrate:up\nSELECT 1;\n-- migrate:down\n",
		"9_a.sql", "-- migrate:up\nSELECT 1;\n-- migrate:down\n"), dialect.SQLite)
	refusal(t, err, importhist.KindOrder, "9_a.sql", "name order")
	_, err = importhist.Read(importhist.Dbmate, writeFiles(t, "1_a.sql", "-- migrate:up\nSELECT 1;\n"), dialect.SQLite)
	refusal(t, err, importhist.KindSource, "1_a.sql", "-- migrate:down")
}

// TestImportTarget: a second import of the same history writes nothing; a
// folder holding other files is refused and left as it was.
func TestImportTarget(t *testing.T) {
	src := writeHistory(t, "dbmate", history("sqlite"))
	s, err := importhist.Read(importhist.Dbmate, src, dialect.SQLite)
	must(t, err)
	dir := filepath.Join(t.TempDir(), "migrations", "sqlite")
	_, err = importhist.Import(s, dir, dialect.SQLite)
	must(t, err)
	again, err := importhist.Import(s, dir, dialect.SQLite)
	must(t, err)
	if !again.Unchanged {
		t.Fatal("importing the same history again rewrote the folder")
	}
	d, err := migdir.OpenDialect(dir, dialect.SQLite)
	must(t, err)
	edited := filepath.Join(dir, d.Files[0].Name)
	must(t, os.WriteFile(edited, append(d.Files[0].Bytes, "-- edited\n"...), 0o644))
	_, err = importhist.Import(s, dir, dialect.SQLite)
	refusal(t, err, importhist.KindTarget, dir, "empty folder")
	if b := readFile(t, edited); !strings.HasSuffix(b, "-- edited\n") {
		t.Fatal("a refused import changed the folder")
	}
}

// TestAtlasFolderAcceptedAsIs: an Atlas folder is Weber's layout: the
// import copies it byte for byte, imports onto itself as a no-op, and the
// take-over finds Atlas's revisions in Weber's own table.
func TestAtlasFolderAcceptedAsIs(t *testing.T) {
	src := filepath.Join("..", "..", "migrations", "sqlite")
	s, err := importhist.Read(importhist.Atlas, src, dialect.SQLite)
	must(t, err)
	dir := filepath.Join(t.TempDir(), "sqlite")
	_, err = importhist.Import(s, dir, dialect.SQLite)
	must(t, err)
	for _, name := range append(fileNames(s.Dir), migdir.SumFile) {
		if readFile(t, filepath.Join(src, name)) != readFile(t, filepath.Join(dir, name)) {
			t.Fatalf("%s differs from the Atlas folder's", name)
		}
	}
	self, err := importhist.Import(s, src, dialect.SQLite)
	must(t, err)
	if !self.Unchanged {
		t.Fatal("importing an Atlas folder onto itself wrote files")
	}
	ctx := context.Background()
	db, u := testserver.NewEmpty(t, testserver.Lookup(t, "sqlite"), nil)
	_, err = upgrade.Upgrade(ctx, db, u, dir, upgrade.Options{To: s.Dir.Files[0].Version})
	must(t, err)
	d, err := migdir.OpenDialect(dir, dialect.SQLite)
	must(t, err)
	res, err := importhist.TakeOver(ctx, db, u, d, importhist.TakeOverOptions{Tool: importhist.Atlas})
	must(t, err)
	if len(res.Recorded) != 0 || len(res.Pending) != len(d.Files)-1 {
		t.Fatalf("Atlas take-over recorded %v, pending %v: want nothing recorded and the files after the first pending", res.Recorded, res.Pending)
	}
}

func fileNames(d *migdir.Dir) []string {
	var out []string
	for _, f := range d.Files {
		out = append(out, f.Name)
	}
	return out
}

// TestGolangMigrateDownOnly: golang-migrate runs nothing for a version
// with only a down file and still moves to it; the Weber file has no
// statement, and upgrading through it works.
func TestGolangMigrateDownOnly(t *testing.T) {
	src := writeFiles(t,
		"1_a.up.sql", "CREATE TABLE a (id int);\n",
		"2_b.down.sql", "DROP TABLE b;\n",
		"3_c.up.sql", "CREATE TABLE c (id int);\n")
	s, err := importhist.Read(importhist.GolangMigrate, src, dialect.SQLite)
	must(t, err)
	dir := filepath.Join(t.TempDir(), "sqlite")
	res, err := importhist.Import(s, dir, dialect.SQLite)
	must(t, err)
	if len(res.Files) != 3 || res.Files[1].Stmts != 0 || res.Files[1].Name != "2_b.sql" {
		t.Fatalf("files %+v, want 2_b.sql with no statement between the others", res.Files)
	}
	db, u := testserver.NewEmpty(t, testserver.Lookup(t, "sqlite"), nil)
	up, err := upgrade.Upgrade(context.Background(), db, u, dir, upgrade.Options{})
	must(t, err)
	if len(up.Files) != 3 {
		t.Fatalf("upgrade ran %d files, want 3", len(up.Files))
	}
}

// TestCompoundStatementCut: a MySQL trigger body without BEGIN ... END,
// which the server reads whole from golang-migrate's multi-statement Exec,
// would be cut by Weber's splitter; the import says so and how to fix it,
// and accepts the same body wrapped in BEGIN ... END.
func TestCompoundStatementCut(t *testing.T) {
	body := "CREATE TRIGGER t BEFORE INSERT ON b FOR EACH ROW\n%sIF NEW.id IS NULL THEN\n  SET NEW.id = 1;\nEND IF;\n%s"
	bare := writeFiles(t, "1_t.up.sql", fmt.Sprintf(body, "", ""))
	s, err := importhist.Read(importhist.GolangMigrate, bare, dialect.MySQL)
	must(t, err)
	_, err = importhist.Import(s, filepath.Join(t.TempDir(), "mysql"), dialect.MySQL)
	refusal(t, err, importhist.KindUnsupported, "1_t.up.sql", "END IF", "BEGIN ... END")
	wrapped := writeFiles(t, "1_t.up.sql", fmt.Sprintf(body, "BEGIN\n", "END;\n"))
	s, err = importhist.Read(importhist.GolangMigrate, wrapped, dialect.MySQL)
	must(t, err)
	res, err := importhist.Import(s, filepath.Join(t.TempDir(), "mysql"), dialect.MySQL)
	must(t, err)
	if res.Files[0].Stmts != 1 {
		t.Fatalf("the wrapped trigger splits into %d statements, want 1", res.Files[0].Stmts)
	}
}
