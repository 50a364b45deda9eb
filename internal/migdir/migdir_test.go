package migdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	"github.com/google/go-cmp/cmp"
)

// write creates a sqlite folder with the files and, unless noSum, an
// atlas.sum written by Atlas itself.
func write(t *testing.T, noSum bool, files map[string]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sqlite")
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(path, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !noSum {
		rehashWithAtlas(t, path)
	}
	return path
}

func rehashWithAtlas(t *testing.T, path string) {
	t.Helper()
	ld, err := migrate.NewLocalDir(path)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ld.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.WriteSumFile(ld, sum); err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err error, kind Kind, contains ...string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want a %s error, got %v", kind, err)
	}
	if e.Kind != kind {
		t.Fatalf("want kind %s, got %s: %v", kind, e.Kind, err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("not one line: %q", err)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("%q does not mention %q", err, c)
		}
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	path := write(t, false, map[string]string{
		"20260102000000_second.sql": "-- atlas:txmode none\n-- atlas:nolint destructive\n\nCREATE TABLE b (id int);\n\n-- atlas:nolint DS103\nDROP TABLE a;\n",
		"20260101000000_first.sql":  "CREATE TABLE a (\n  id int\n);\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\nEND;\n",
		"README.md":                 "docs",
		".gitkeep":                  "",
	})
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.Dialect != dialect.SQLite || len(d.Files) != 2 {
		t.Fatalf("dir: %+v", d)
	}
	f1, f2 := d.Files[0], d.Files[1]
	type parsed struct {
		Version, Description, TxMode string
		NoLint                       []string
		Lines                        []int      // of each statement
		StmtNoLint                   [][]string // of each statement
	}
	parsedOf := func(f *File) parsed {
		p := parsed{Version: f.Version, Description: f.Description, TxMode: f.TxMode, NoLint: f.NoLint}
		for _, s := range f.Stmts {
			p.Lines, p.StmtNoLint = append(p.Lines, s.Line), append(p.StmtNoLint, s.NoLint)
		}
		return p
	}
	if diff := cmp.Diff(parsed{Version: "20260101000000", Description: "first", TxMode: TxModeFile, Lines: []int{f1.Stmts[0].Line, 4},
		StmtNoLint: [][]string{nil, nil}}, parsedOf(f1)); diff != "" {
		t.Errorf("file 1 (-want +got):\n%s", diff)
	}
	if f1.Stmts[1].Line != 4 || !strings.HasSuffix(f1.Stmts[1].Text, "END;") {
		t.Errorf("trigger statement (BEGIN ... END kept whole): %+v", f1.Stmts[1])
	}
	if diff := cmp.Diff(parsed{Version: f2.Version, Description: f2.Description, TxMode: TxModeNone, NoLint: []string{"destructive"},
		Lines: []int{4, 7}, StmtNoLint: [][]string{f2.Stmts[0].NoLint, {"DS103"}}}, parsedOf(f2)); diff != "" {
		t.Errorf("file 2 (-want +got):\n%s", diff)
	}
	// The sum entries are Atlas's.
	ld, _ := migrate.NewLocalDir(path)
	want, _ := ld.Checksum()
	if f2.Sum != "h1:"+want[1].H || f1.Hash == f2.Hash || !strings.HasPrefix(f1.Hash, "h1:") {
		t.Errorf("hashes: %s %s", f2.Sum, want[1].H)
	}
	if d.Find("20260102000000") != f2 || d.Latest() != "20260102000000" {
		t.Error("Find/Latest")
	}
	if ph := f2.PartialHashes(); len(ph) != 2 || ph[0] == ph[1] {
		t.Errorf("partial hashes: %v", ph)
	}
}

func TestEmptyDirectoryWithoutSum(t *testing.T) {
	t.Parallel()
	d, err := Open(write(t, true, nil))
	if err != nil || len(d.Files) != 0 {
		t.Fatalf("%v %+v", err, d)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	ok := map[string]string{"1_a.sql": "CREATE TABLE a (id int);\n", "2_b.sql": "CREATE TABLE b (id int);\n"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range ok {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name     string
		files    map[string]string
		noSum    bool
		mutate   func(path string)
		kind     Kind
		contains []string
	}{
		{"sum missing", ok, true, nil, KindSum, []string{"atlas.sum", "missing", "db hash"}},
		{"sum empty", ok, false, func(p string) { os.WriteFile(filepath.Join(p, SumFile), nil, 0o644) }, KindSum, []string{"empty"}},
		{"sum corrupt", ok, false, func(p string) {
			os.WriteFile(filepath.Join(p, SumFile), []byte("h1:abc\n1_a.sql h1:xyz\n"), 0o644)
		}, KindSum, []string{"corrupt"}},
		{"sum garbage", ok, false, func(p string) {
			os.WriteFile(filepath.Join(p, SumFile), []byte("h1:abc\nnonsense\n"), 0o644)
		}, KindSum, []string{"corrupt"}},
		{"edited", ok, false, func(p string) {
			os.WriteFile(filepath.Join(p, "1_a.sql"), []byte("CREATE TABLE a (id bigint);\n"), 0o644)
		}, KindSum, []string{"1_a.sql", "edited"}},
		{"added", ok, false, func(p string) {
			os.WriteFile(filepath.Join(p, "3_c.sql"), []byte("SELECT 1;\n"), 0o644)
		}, KindSum, []string{"3_c.sql", "added"}},
		{"removed", ok, false, func(p string) { os.Remove(filepath.Join(p, "2_b.sql")) }, KindSum, []string{"2_b.sql", "missing from the directory"}},
		{"crlf", with(map[string]string{"3_c.sql": "SELECT 1;\r\nSELECT 2;\r\n"}), false, nil, KindCRLF, []string{"3_c.sql", "CRLF", "convert it to LF"}},
		{"duplicate", with(map[string]string{"2_c.sql": "SELECT 1;\n"}), false, nil, KindDuplicate, []string{"duplicate version 2", "2_b.sql"}},
		{"duplicate padded", with(map[string]string{"02_c.sql": "SELECT 1;\n"}), false, nil, KindDuplicate, []string{"duplicate version"}},
		{"malformed", with(map[string]string{"add_users.sql": "SELECT 1;\n"}), false, nil, KindName, []string{"add_users.sql", "<version>_<name>.sql"}},
		{"mixed widths", with(map[string]string{"10_c.sql": "SELECT 1;\n"}), false, nil, KindName, []string{"pad versions"}},
		{"stray", with(map[string]string{"3_c.sql.bak": "SELECT 1;\n"}), false, nil, KindStray, []string{"3_c.sql.bak", "stray"}},
		{"subdir", ok, false, func(p string) { os.Mkdir(filepath.Join(p, "old"), 0o755) }, KindStray, []string{"old", "subdirectory"}},
		{"txmode", with(map[string]string{"3_c.sql": "-- atlas:txmode bogus\n\nSELECT 1;\n"}), false, nil, KindSyntax, []string{"txmode"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := write(t, tc.noSum, tc.files)
			if tc.mutate != nil {
				tc.mutate(path)
			}
			_, err := Open(path)
			wantErr(t, err, tc.kind, tc.contains...)
			if tc.kind == KindSum && !errors.Is(err, ErrSumMismatch) {
				t.Error("not ErrSumMismatch")
			}
		})
	}
}

func TestRehash(t *testing.T) {
	t.Parallel()
	path := write(t, true, map[string]string{"1_a.sql": "SELECT 1;\n"})
	if err := Rehash(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err != nil {
		t.Fatal(err)
	}
	ld, _ := migrate.NewLocalDir(path)
	if err := migrate.Validate(ld); err != nil {
		t.Errorf("Atlas rejects the rehashed sum: %v", err)
	}
	os.WriteFile(filepath.Join(path, "x.txt"), nil, 0o644)
	wantErr(t, Rehash(path), KindStray, "x.txt")
}

func TestDialectDir(t *testing.T) {
	t.Parallel()
	for dia, want := range map[string]string{dialect.SQLite: "m/sqlite", dialect.Postgres: "m/postgres", dialect.MySQL: "m/mysql"} {
		if got, err := DialectDir("m", dia); err != nil || got != want {
			t.Errorf("%s: %s %v", dia, got, err)
		}
	}
	if _, err := DialectDir("m", "oracle"); err == nil {
		t.Error("oracle accepted")
	}
	if CompareVersions("9", "10") >= 0 || CompareVersions("010", "10") != 0 {
		t.Error("CompareVersions")
	}
}

// TestStatementsSplitsAsOpen: Statements, which importers use to check a
// file before writing it, splits exactly as Open does, the delimiter
// directive included.
func TestStatementsSplitsAsOpen(t *testing.T) {
	text := "-- atlas:delimiter -- end\n\nCREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n-- end\n\nCREATE TABLE b (id int)\n-- end\n"
	got, err := Statements(dialect.MySQL, text)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !strings.HasSuffix(got[0], "VALUES (1);") {
		t.Fatalf("Statements = %q, want the two statements ending at the -- end lines", got)
	}
	path := filepath.Join(t.TempDir(), "mysql")
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "1_a.sql"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Rehash(path); err != nil {
		t.Fatal(err)
	}
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Files[0].Stmts) != len(got) {
		t.Fatalf("Open splits into %v, Statements into %q", d.Files[0].Stmts, got)
	}
	for i, s := range d.Files[0].Stmts {
		if s.Text != got[i] {
			t.Fatalf("Open splits into %v, Statements into %q", d.Files[0].Stmts, got)
		}
	}
}
