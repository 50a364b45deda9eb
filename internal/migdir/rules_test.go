package migdir

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"
)

// writeFolder creates a folder named for the dialect with the files and an
// atlas.sum written by Atlas.
func writeFolder(t *testing.T, dia string, files map[string]string) string {
	t.Helper()
	folder, err := Folder(dia)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), folder)
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(path, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rehashWithAtlas(t, path)
	return path
}

var allDialects = []string{dialect.SQLite, dialect.Postgres, dialect.MySQL}

// Issue 9 item 1, scenario "Transaction control in a file": transaction control in a file is
// refused before anything runs, naming the line, on every dialect.
func TestTxControlRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		line       int
		keyword    string
	}{
		{"begin", "CREATE TABLE a (id int);\nBEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\n", 2, "`BEGIN`"},
		{"lower begin work", "begin work;\nCREATE TABLE b (id int);\ncommit work;\n", 1, "`BEGIN WORK`"},
		{"begin transaction", "-- set up\nBEGIN TRANSACTION;\nCREATE TABLE b (id int);\nEND TRANSACTION;\n", 2, "`BEGIN TRANSACTION`"},
		{"start transaction", "\n\nSTART TRANSACTION;\nCREATE TABLE b (id int);\nCOMMIT;\n", 3, "`START TRANSACTION`"},
		{"commit alone", "CREATE TABLE b (id int);\n/* done */ COMMIT;\n", 2, "`COMMIT`"},
		{"end alone", "CREATE TABLE b (id int);\nEND;\n", 2, "`END`"},
		{"rollback", "CREATE TABLE b (id int);\nROLLBACK;\n", 2, "`ROLLBACK`"},
		{"begin deferred", "BEGIN DEFERRED TRANSACTION;\nCREATE TABLE b (id int);\nCOMMIT;\n", 1, "`BEGIN`"},
		{"set autocommit", "SET autocommit = 0;\nCREATE TABLE b (id int);\n", 1, "`SET autocommit`"},
		{"set session autocommit", "CREATE TABLE b (id int);\nSET SESSION autocommit=0;\n", 2, "`SET autocommit`"},
	}
	for _, dia := range allDialects {
		for _, tc := range cases {
			t.Run(dia+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				path := writeFolder(t, dia, map[string]string{"1_a.sql": tc.body})
				_, err := Open(path)
				wantErr(t, err, KindTxControl, "1_a.sql", "line "+strconv.Itoa(tc.line)+":", tc.keyword, "-- weber:as-written", "remove the line")
				// Every command shares this check: `db revision` through
				// CheckFiles, `db hash` through Rehash.
				wantErr(t, CheckFiles(path), KindTxControl, "line "+strconv.Itoa(tc.line)+":")
				wantErr(t, Rehash(path), KindTxControl, "line "+strconv.Itoa(tc.line)+":")
			})
		}
	}
}

// The words BEGIN, COMMIT and END inside strings, comments, dollar-quoted
// bodies and trigger or procedure blocks are not transaction control.
func TestTxControlNotFooled(t *testing.T) {
	t.Parallel()
	common := "CREATE TABLE a (id int, note varchar(40) DEFAULT 'BEGIN; COMMIT;');\n" +
		"-- BEGIN; this comment is not a statement\n" +
		"/* COMMIT; */\n" +
		"INSERT INTO a (id, note) VALUES (1, 'END;');\n"
	bodies := map[string]string{
		dialect.SQLite: common + "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET note = 'x' WHERE id = NEW.id;\nEND;\n" +
			"CREATE TABLE begin_log (id int);\n",
		dialect.Postgres: common + "DO $$ BEGIN\n  PERFORM 1;\nEND $$;\n" +
			"CREATE FUNCTION f() RETURNS trigger AS $body$\nBEGIN\n  COMMIT;\n  RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql;\n" +
			"CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC\n  SELECT 1;\nEND;\n" +
			"SAVEPOINT s;\nROLLBACK TO SAVEPOINT s;\nRELEASE SAVEPOINT s;\nSET search_path TO public;\n",
		dialect.MySQL: common + "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN\n  SET NEW.note = 'x';\nEND;\n" +
			"CREATE PROCEDURE p() BEGIN\n  SELECT 1;\n  COMMIT;\nEND;\n" +
			"BEGIN NOT ATOMIC\n  SELECT 1;\nEND;\n" +
			"SET NAMES utf8mb4;\nSET @autocommit = 0;\n",
	}
	for dia, body := range bodies {
		t.Run(dia, func(t *testing.T) {
			t.Parallel()
			d, err := Open(writeFolder(t, dia, map[string]string{"1_a.sql": body}))
			if err != nil {
				t.Fatalf("refused a file without transaction control: %v", err)
			}
			for _, s := range d.Files[0].Stmts {
				if s.TxControl != "" {
					t.Errorf("line %d read as %s: %q", s.Line, s.TxControl, s.Text)
				}
			}
		})
	}
}

// With `-- weber:as-written` the file is accepted, runs outside any
// transaction of Weber's, and each transaction statement is marked.
func TestAsWrittenAccepted(t *testing.T) {
	t.Parallel()
	for _, dia := range allDialects {
		t.Run(dia, func(t *testing.T) {
			t.Parallel()
			body := "-- weber:as-written\n\nCREATE TABLE a (id int);\nBEGIN;\nINSERT INTO a VALUES (1);\nCOMMIT;\nSTART TRANSACTION;\nROLLBACK;\n"
			d, err := Open(writeFolder(t, dia, map[string]string{"1_a.sql": body}))
			if err != nil {
				t.Fatal(err)
			}
			f := d.Files[0]
			if !f.AsWritten || f.TxMode != TxModeNone {
				t.Errorf("AsWritten %v, TxMode %q; want true, none", f.AsWritten, f.TxMode)
			}
			var got []string
			for _, s := range f.Stmts {
				got = append(got, s.TxControl)
			}
			want := []string{"", TxBegin, "", TxCommit, TxBegin, TxRollback}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("TxControl = %q, want %q", got, want)
			}
			if !RunsAsWritten([]byte(body)) {
				t.Error("RunsAsWritten is false")
			}
		})
	}
}

// Under the directive, what would leave the outcome unclear is refused.
func TestAsWrittenUnclear(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		body     string
		contains []string
	}{
		"never ended":   {"-- weber:as-written\n\nBEGIN;\nCREATE TABLE a (id int);\n", []string{"line 3:", "never ended", "COMMIT"}},
		"nested":        {"-- weber:as-written\n\nBEGIN;\nBEGIN;\nCOMMIT;\n", []string{"line 4:", "line 3", "still open"}},
		"merged by END": {"-- weber:as-written\n\nBEGIN ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE a (id int);\nEND;\n", []string{"line 3:", "plain `BEGIN;`"}},
		"autocommit":    {"-- weber:as-written\n\nCREATE TABLE a (id int);\nSET @@autocommit = 0;\n", []string{"line 4:", "SET autocommit", "START TRANSACTION"}},
		"and chain":     {"-- weber:as-written\n\nBEGIN;\nCREATE TABLE a (id int);\nCOMMIT AND CHAIN;\nCOMMIT;\n", []string{"line 5:", "AND CHAIN"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Open(writeFolder(t, dialect.Postgres, map[string]string{"1_a.sql": tc.body}))
			wantErr(t, err, KindTxControl, append([]string{"1_a.sql"}, tc.contains...)...)
		})
	}
}

// Issue 10 item 12: directives Weber does not understand, or known ones
// where they would be ignored, are errors naming the file, the line and
// the fix.
func TestDirectives(t *testing.T) {
	t.Parallel()
	bad := map[string]struct {
		body     string
		contains []string
	}{
		"txmode without blank line":   {"-- atlas:txmode none\nCREATE TABLE a (id int);\n", []string{"line 1:", "atlas:txmode", "must be followed by a blank line", "add an empty line"}},
		"as-written without blank":    {"-- weber:as-written\nBEGIN;\nCOMMIT;\n", []string{"line 1:", "weber:as-written", "must be followed by a blank line"}},
		"unknown atlas":               {"-- atlas:txmod none\n\nCREATE TABLE a (id int);\n", []string{"line 1:", "unknown directive", "atlas:txmod", "atlas:txmode"}},
		"unknown weber":               {"CREATE TABLE a (id int);\n-- weber:toches a.id\nUPDATE a SET id = 1;\n", []string{"line 2:", "unknown directive", "weber:touches"}},
		"atlas checkpoint":            {"-- atlas:checkpoint\n\nCREATE TABLE a (id int);\n", []string{"line 1:", "unknown directive"}},
		"txmode bad argument":         {"-- atlas:txmode all\n\nCREATE TABLE a (id int);\n", []string{"line 1:", "`-- atlas:txmode none`"}},
		"txmode below the header":     {"CREATE TABLE a (id int);\n\n-- atlas:txmode none\n\nCREATE TABLE b (id int);\n", []string{"line 3:", "top of the file"}},
		"nolint detached":             {"CREATE TABLE a (id int);\n\n-- atlas:nolint destructive\n\nDROP TABLE a;\n", []string{"line 3:", "directly above the statement"}},
		"nolint inside a statement":   {"CREATE TABLE a (\n  -- atlas:nolint\n  id int\n);\n", []string{"line 2:", "ignored"}},
		"nolint spelled with 2 space": {"CREATE TABLE a (id int);\n--  atlas:nolint destructive\nDROP TABLE a;\n", []string{"line 2:", "`-- atlas:nolint destructive`"}},
		"delimiter not first":         {"-- hello\n-- atlas:delimiter GO\n\nSELECT 1\nGO\n", []string{"line 2:", "first line"}},
		"as-written and txmode file":  {"-- weber:as-written\n-- atlas:txmode file\n\nBEGIN;\nCOMMIT;\n", []string{"contradict"}},
		"go with statements":          {"-- weber:go split_names\n\nUPDATE a SET id = 1;\n", []string{"runs Go, not SQL", "1 statement(s)"}},
		"go without a name":           {"-- weber:go\n\n", []string{"line 1:", "registered name"}},
		"go with a bad name":          {"-- weber:go Split-Names\n\n", []string{"line 1:", "registered name"}},
		"go below a statement":        {"CREATE TABLE a (id int);\n-- weber:go split_names\nUPDATE a SET id = 1;\n", []string{"line 2:", "would be ignored here"}},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Open(writeFolder(t, dialect.SQLite, map[string]string{"1_a.sql": tc.body}))
			wantErr(t, err, KindSyntax, append([]string{"1_a.sql", "db hash"}, tc.contains...)...)
		})
	}
	good := map[string]string{
		"header":            "-- atlas:txmode none\n-- atlas:nolint destructive\n\nCREATE TABLE a (id int);\n",
		"nolint above":      "CREATE TABLE a (id int);\n-- Drop it\n-- atlas:nolint DS103\nDROP TABLE a;\n",
		"touches anywhere":  "CREATE TABLE a (id int);\n\n-- weber:touches a.id\n\nUPDATE a SET id = 1;\n",
		"delimiter":         "-- atlas:delimiter GO\n\nSELECT 1\nGO\n",
		"prose":             "-- generated by atlas: do not edit\n-- see weber: docs\nCREATE TABLE a (id int);\n",
		"comments only":     "-- atlas:txmode none\n",
		"as-written header": "-- weber:as-written\n\nBEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n",
		"go data migration": "-- weber:go split_names\n-- weber:touches users.first_name\n\n-- prose\n",
	}
	t.Run("ok/hash prefix on mysql", func(t *testing.T) {
		t.Parallel()
		if _, err := Open(writeFolder(t, dialect.MySQL, map[string]string{"1_a.sql": "CREATE TABLE a (id int);\n#atlas:nolint\nDROP TABLE a;\n"})); err != nil {
			t.Errorf("refused: %v", err)
		}
	})
	for name, body := range good {
		t.Run("ok/"+name, func(t *testing.T) {
			t.Parallel()
			if _, err := Open(writeFolder(t, dialect.SQLite, map[string]string{"1_a.sql": body})); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}

// Adding a directive is one line in directiveRegistry; every name it
// lists is documented in docs/migrations.md.
func TestDirectivesDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "migrations.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range directiveRegistry() {
		if !strings.Contains(string(doc), "-- "+name) {
			t.Errorf("docs/migrations.md does not document `-- %s`", name)
		}
	}
}

// Issue 10 item 12: file names from other tools' conventions are refused.
func TestNamesOfOtherTools(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		"2_x.down.sql": {"down migration", "move it out"},
		"2_x.DOWN.sql": {"down migration"},
		"2_x.up.sql":   {".up.sql", "rename it to 2_x.sql"},
		"x.sql":        {"<version>_<name>.sql"},
		"_x.sql":       {"<version>_<name>.sql"},
		"2-x.sql":      {"<version>_<name>.sql"},
	}
	for name, contains := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := writeFolder(t, dialect.SQLite, map[string]string{"1_a.sql": "SELECT 1;\n", name: "SELECT 2;\n"})
			_, err := Open(path)
			wantErr(t, err, KindName, append([]string{name}, contains...)...)
		})
	}
}

// Issue 10 item 5: a FIFO in the folder is refused without reading it (a
// read would block forever), and so is a symbolic link out of the folder.
func TestNonRegularFiles(t *testing.T) {
	t.Parallel()
	outside := filepath.Join(t.TempDir(), "elsewhere.sql")
	if err := os.WriteFile(outside, []byte("SELECT 1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		make     func(t *testing.T, path string)
		contains []string
	}{
		"fifo migration": {func(t *testing.T, p string) { mkfifo(t, filepath.Join(p, "2_b.sql")) }, []string{"2_b.sql", "named pipe (FIFO)", "remove it"}},
		"fifo readme":    {func(t *testing.T, p string) { mkfifo(t, filepath.Join(p, "README.md")) }, []string{"README.md", "named pipe"}},
		"fifo sum": {func(t *testing.T, p string) {
			os.Remove(filepath.Join(p, SumFile))
			mkfifo(t, filepath.Join(p, SumFile))
		}, []string{"atlas.sum", "named pipe"}},
		"link outside": {func(t *testing.T, p string) { symlink(t, outside, filepath.Join(p, "2_b.sql")) }, []string{"2_b.sql", "symbolic link to", "outside the migration folder"}},
		"link passwd":  {func(t *testing.T, p string) { symlink(t, "/etc/passwd", filepath.Join(p, "2_b.sql")) }, []string{"/etc/passwd", "outside"}},
		"link dotdot": {func(t *testing.T, p string) {
			symlink(t, "../"+filepath.Base(p)+"/../x.sql", filepath.Join(p, "2_b.sql"))
		}, []string{"2_b.sql", "symbolic link"}},
		"link to fifo": {func(t *testing.T, p string) {
			mkfifo(t, filepath.Join(p, ".f"))
			symlink(t, ".f", filepath.Join(p, "2_b.sql"))
		}, []string{"named pipe"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := writeFolder(t, dialect.SQLite, map[string]string{"1_a.sql": "SELECT 1;\n"})
			tc.make(t, path)
			done := make(chan error, 2)
			go func() { _, err := Open(path); done <- err }()
			go func() { done <- Rehash(path) }()
			for range 2 {
				select {
				case err := <-done:
					wantErr(t, err, KindStray, tc.contains...)
				case <-time.After(time.Minute): // a hang, not a speed target
					t.Fatal("reading the folder blocked")
				}
			}
		})
	}
	t.Run("link inside", func(t *testing.T) {
		t.Parallel()
		path := writeFolder(t, dialect.SQLite, map[string]string{"1_a.sql": "SELECT 1;\n", "README.md": "x"})
		symlink(t, "README.md", filepath.Join(path, "README.txt"))
		if _, err := Open(path); err != nil {
			t.Errorf("a link to a regular file inside the folder was refused: %v", err)
		}
	})
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// Atlas's scanner drops a first-line `-- atlas:delimiter` before it scans,
// so its positions start one line late; statement lines (in messages and
// in directive placement) must still be the file's.
func TestDelimiterFileLines(t *testing.T) {
	t.Parallel()
	d, err := Open(writeFolder(t, dialect.SQLite, map[string]string{"1_a.sql": "-- atlas:delimiter GO\n\nCREATE TABLE a (id int)\nGO\n-- atlas:nolint\nDROP TABLE a\nGO\n"}))
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, s := range d.Files[0].Stmts {
		lines = append(lines, s.Line)
	}
	if len(lines) != 2 || lines[0] != 3 || lines[1] != 6 {
		t.Errorf("statement lines %v, want [3 6]", lines)
	}
	if d.Files[0].Stmts[1].Text != "DROP TABLE a" {
		t.Errorf("second statement %+v", d.Files[0].Stmts[1])
	}
}

// MySQL ends an open transaction before DDL but not before data
// statements or temporary tables.
func TestCommitsImplicitly(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]bool{
		"CREATE TABLE a (id int)":              true,
		"alter table a add column b int":       true,
		"/* x */ DROP TABLE a":                 true,
		"RENAME TABLE a TO b":                  true,
		"TRUNCATE TABLE a":                     true,
		"CREATE TEMPORARY TABLE t (id int)":    false,
		"DROP TEMPORARY TABLE t":               false,
		"INSERT INTO a VALUES (1)":             false,
		"update a set id = 2":                  false,
		"DELETE FROM a":                        false,
		"SELECT 1":                             false,
		"SET @x = 1":                           false,
		"SAVEPOINT s":                          false,
		"WITH c AS (SELECT 1) SELECT * FROM c": false,
	} {
		if got := CommitsImplicitly(text); got != want {
			t.Errorf("CommitsImplicitly(%q) = %v, want %v", text, got, want)
		}
	}
}
