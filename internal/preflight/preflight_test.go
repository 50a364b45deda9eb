package preflight_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/weber-framework/weber/internal/datagen"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/preflight"
	"github.com/weber-framework/weber/internal/testdb/liveschematest"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// people is the target: 10 rows, names n1..n10 (n1..n3 duplicated when
// dups is set), a bio in 7 of them.
func people(t *testing.T, dia string, dups bool) (target *sql.DB, opts preflight.Options) {
	t.Helper()
	db, _ := liveschematest.Open(t, dia)
	liveschematest.Exec(t, db, "CREATE TABLE people (id integer NOT NULL PRIMARY KEY, name varchar(255) NOT NULL, bio varchar(255) NULL)")
	for i := 1; i <= 10; i++ {
		name := fmt.Sprintf("n%d", i)
		if dups && i > 7 {
			name = fmt.Sprintf("n%d", i-7) // n1, n2, n3 twice
		}
		bio := "NULL"
		if i <= 7 {
			bio = fmt.Sprintf("'a rather long biography number %d'", i)
		}
		liveschematest.Exec(t, db, fmt.Sprintf("INSERT INTO people (id, name, bio) VALUES (%d, '%s', %s)", i, name, bio))
	}
	opts = preflight.Options{Dialect: dia}
	if dia != "sqlite" {
		opts.DevURL = liveschematest.ServerURL(t, dia)
	}
	return db, opts
}

// file builds the pending statements of one migration file.
func file(t *testing.T, name, content string) []preflight.Statement {
	t.Helper()
	st, err := preflight.Statements(migrate.NewLocalFile(name, []byte(content)), 0)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// rebuild is how Atlas changes a column on SQLite: a new table, a copy, a
// drop and a rename.
func rebuild(cols, copyCols string) string {
	return "PRAGMA foreign_keys = off;\n" +
		"CREATE TABLE `new_people` (" + cols + ");\n" +
		"INSERT INTO `new_people` (" + copyCols + ") SELECT " + copyCols + " FROM `people`;\n" +
		"DROP TABLE `people`;\n" +
		"ALTER TABLE `new_people` RENAME TO `people`;\n" +
		"PRAGMA foreign_keys = on;\n"
}

type tc struct {
	name string
	dups bool
	sql  map[string]string // by dialect; "" key for all
	kind preflight.Kind
	col  string
	rows int64
	line int // 0: do not check
	msg  string
}

func (c tc) sqlFor(dia string) string {
	if s, ok := c.sql[dia]; ok {
		return s
	}
	return c.sql[""]
}

func TestCheck(t *testing.T) {
	t.Parallel()
	cases := []tc{
		{
			name: "drop column with data",
			sql:  map[string]string{"": "-- drop the bio\nCREATE TABLE unrelated (id integer PRIMARY KEY);\nALTER TABLE people DROP COLUMN bio;\n"},
			kind: preflight.DropColumn, col: "bio", rows: 7, line: 3,
			msg: "statement 2 of 20261127000000_drop_bio.sql (line 3) drops column people.bio, which holds data in 7 rows: copy the data first, declare the loss in the file (-- weber:data-loss people.bio), or pass --allow-data-loss",
		},
		{
			name: "drop table with data",
			sql:  map[string]string{"": "DROP TABLE people;\n"},
			kind: preflight.DropTable, rows: 10, line: 1,
		},
		{
			name: "set not null over nulls",
			sql: map[string]string{
				"sqlite":   rebuild("`id` integer NOT NULL PRIMARY KEY, `name` varchar(255) NOT NULL, `bio` varchar(255) NOT NULL DEFAULT ('')", "`id`, `name`, `bio`"),
				"postgres": "ALTER TABLE people ALTER COLUMN bio SET NOT NULL;\n",
				"mysql":    "ALTER TABLE people MODIFY bio varchar(255) NOT NULL;\n",
			},
			kind: preflight.SetNotNull, col: "bio", rows: 3,
		},
		{
			name: "add not null column without default",
			sql: map[string]string{
				"sqlite":   rebuild("`id` integer NOT NULL PRIMARY KEY, `name` varchar(255) NOT NULL, `bio` varchar(255) NULL, `age` integer NOT NULL", "`id`, `name`, `bio`"),
				"postgres": "ALTER TABLE people ADD COLUMN age bigint NOT NULL;\n",
				"mysql":    "ALTER TABLE people ADD COLUMN age bigint NOT NULL;\n",
			},
			kind: preflight.AddNotNullColumn, col: "age", rows: 10,
		},
		{
			name: "unique index over duplicates",
			dups: true,
			sql:  map[string]string{"": "CREATE UNIQUE INDEX people_name_key ON people (name);\n"},
			kind: preflight.AddUnique, col: "name", rows: 6, line: 1,
			msg: "statement 1 of 20261127000000_drop_bio.sql (line 1) adds unique index people_name_key on people(name); 3 values appear more than once (6 rows) and would be rejected: remove the duplicates first, or pass --allow-data-loss",
		},
		{
			name: "narrow a varchar below the data",
			sql: map[string]string{
				"sqlite":   rebuild("`id` integer NOT NULL PRIMARY KEY, `name` varchar(255) NOT NULL, `bio` varchar(30) NULL", "`id`, `name`, `bio`"),
				"postgres": "ALTER TABLE people ALTER COLUMN bio TYPE varchar(30);\n",
				"mysql":    "ALTER TABLE people MODIFY bio varchar(30) NULL;\n",
			},
			kind: preflight.NarrowType, col: "bio", rows: 7,
		},
	}
	for _, dia := range liveschematest.Dialects {
		for _, c := range cases {
			t.Run(dia+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				target, opts := people(t, dia, c.dups)
				stmts := file(t, "20261127000000_drop_bio.sql", c.sqlFor(dia))
				risks, err := preflight.CountRisks(context.Background(), target, stmts, opts)
				if err != nil {
					t.Fatal(err)
				}
				var found *preflight.Risk
				for i := range risks {
					if risks[i].Kind == c.kind {
						found = &risks[i]
					} else if risks[i].Blocks() {
						t.Errorf("unexpected blocking risk: %s", risks[i].Message)
					}
				}
				if found == nil {
					t.Fatalf("no %s risk in %+v", c.kind, risks)
				}
				if found.Table != "people" || found.Column != c.col || found.Rows != c.rows {
					t.Errorf("risk = %s.%s rows %d, want people.%s rows %d: %s", found.Table, found.Column, found.Rows, c.col, c.rows, found.Message)
				}
				if c.line != 0 && found.Line != c.line {
					t.Errorf("line = %d, want %d", found.Line, c.line)
				}
				if c.msg != "" && found.Message != c.msg {
					t.Errorf("message:\n got %s\nwant %s", found.Message, c.msg)
				}
				err = preflight.Gate(risks, false)
				var dl *preflight.DataLossError
				if !errors.As(err, &dl) || !strings.Contains(err.Error(), "refusing to upgrade") {
					t.Errorf("Gate = %v, want a DataLossError", err)
				}
				if preflight.Gate(risks, true) != nil {
					t.Error("Gate refuses with allowDataLoss set")
				}
			})
		}
	}
}

// TestCheckPasses: the same kinds of statements on data they do not hurt,
// and a plain add-column, let the upgrade through.
func TestCheckPasses(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		dia := be.Name
		target, opts := people(t, dia, false)
		db := target
		liveschematest.Exec(t, db, "UPDATE people SET bio = NULL")
		var content string
		switch dia {
		case "sqlite":
			content = "ALTER TABLE people ADD COLUMN nick varchar(20) NULL;\nCREATE UNIQUE INDEX people_name_key ON people (name);\nALTER TABLE people DROP COLUMN bio;\nALTER TABLE people ADD COLUMN score integer NOT NULL DEFAULT 0;\n"
		case "postgres":
			content = "ALTER TABLE people ADD COLUMN nick varchar(20) NULL;\nCREATE UNIQUE INDEX people_name_key ON people (name);\nALTER TABLE people DROP COLUMN bio;\nALTER TABLE people ADD COLUMN score bigint NOT NULL DEFAULT 0;\nALTER TABLE people ALTER COLUMN name TYPE varchar(10);\nALTER TABLE people RENAME COLUMN nick TO nickname;\n"
		case "mysql":
			content = "ALTER TABLE people ADD COLUMN nick varchar(20) NULL;\nCREATE UNIQUE INDEX people_name_key ON people (name);\nALTER TABLE people DROP COLUMN bio;\nALTER TABLE people ADD COLUMN score bigint NOT NULL DEFAULT 0;\nALTER TABLE people MODIFY name varchar(10) NOT NULL;\n"
		}
		risks, err := preflight.CountRisks(context.Background(), db, file(t, "20261127000000_ok.sql", content), opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := preflight.Gate(risks, false); err != nil {
			t.Errorf("Gate = %v, want nil", err)
		}
		kinds := map[preflight.Kind]bool{}
		for _, r := range risks {
			kinds[r.Kind] = true
			if r.Rows != 0 {
				t.Errorf("risk with rows: %s", r.Message)
			}
		}
		if !kinds[preflight.DropColumn] || !kinds[preflight.AddUnique] {
			t.Errorf("the harmless drop and unique index should still be listed with 0 rows: %+v", risks)
		}
		if n := liveschematest.Count(t, db, "SELECT COUNT(*) FROM people"); n != 10 {
			t.Errorf("the target changed: %d rows", n)
		}
	})
}

func TestCheckReportsFailingStatement(t *testing.T) {
	t.Parallel()
	target, opts := people(t, "sqlite", false)
	_, err := preflight.CountRisks(context.Background(), target, file(t, "20261127000000_bad.sql", "ALTER TABLE people ADD COLUMN x integer NULL;\n\nALTER TABLE nope ADD COLUMN y integer NULL;\n"), opts)
	if err == nil || !strings.Contains(err.Error(), "statement 2 of 20261127000000_bad.sql (line 3)") {
		t.Errorf("err = %v, want it to name statement 2, line 3", err)
	}
	// The target is never changed.
	if n := liveschematest.Count(t, target, "SELECT COUNT(*) FROM pragma_table_info('people') WHERE name = 'x'"); n != 0 {
		t.Error("the target got the column")
	}
}

func TestCheckNeedsDevForServers(t *testing.T) {
	t.Parallel()
	target, _ := people(t, "sqlite", false)
	_, err := preflight.CountRisks(context.Background(), target, file(t, "1_x.sql", "DROP TABLE people;"), preflight.Options{Dialect: "postgres"})
	if !errors.Is(err, preflight.ErrNoDev) {
		t.Errorf("err = %v, want ErrNoDev", err)
	}
}

// TestCheckCopyFirstAndRename: a column copied before it is dropped is
// reported as approximate and does not block; a renamed column is no drop.
func TestCheckCopyFirstAndRename(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		dia := be.Name
		target, opts := people(t, dia, false)
		risks, err := preflight.CountRisks(context.Background(), target, file(t, "1_copy.sql",
			"ALTER TABLE people ADD COLUMN about varchar(255) NULL;\nUPDATE people SET about = bio;\nALTER TABLE people DROP COLUMN bio;\n"), opts)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"drop-column people: 7 rows, approximate"}, riskList(risks)); diff != "" {
			t.Fatalf("want one approximate, non-blocking drop of 7 rows (-want +got):\n%s", diff)
		}
		if !strings.Contains(risks[0].Message, "counted before statement 2 of 1_copy.sql (line 2)") {
			t.Errorf("message: %s", risks[0].Message)
		}
		risks, err = preflight.CountRisks(context.Background(), target, file(t, "2_rename.sql", "ALTER TABLE people RENAME COLUMN bio TO about;\n"), opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(risks) != 0 {
			t.Errorf("a rename reported as %+v", risks)
		}
	})
}

// TestCheckProjectSchema: the copy of a schema with foreign keys and enums
// works on every dialect, and dropping a populated join table is counted.
func TestCheckProjectSchema(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		dia := be.Name
		db, _ := liveschematest.Open(t, dia)
		liveschematest.Exec(t, db, liveschematest.ProjectSchema(dia)...)
		if _, err := datagen.Fill(context.Background(), db, dia, datagen.Options{Rows: 12}); err != nil {
			t.Fatal(err)
		}
		opts := preflight.Options{Dialect: dia}
		if dia != "sqlite" {
			opts.DevURL = liveschematest.ServerURL(t, dia)
		}
		risks, err := preflight.CountRisks(context.Background(), db, file(t, "1_drop.sql", "DROP TABLE post_tags;\n"), opts)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"drop-table post_tags: 12 rows, blocks"}, riskList(risks)); diff != "" {
			t.Errorf("risks (-want +got):\n%s", diff)
		}
	})
}

func TestFileStatements(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	content := "-- two statements\nCREATE TABLE a (id integer);\n\nCREATE TABLE b (id integer);\n"
	if err := os.WriteFile(filepath.Join(dir, "20260101000000_ab.sql"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	ld, err := migrate.NewLocalDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := ld.Checksum()
	if err := migrate.WriteSumFile(ld, sum); err != nil {
		t.Fatal(err)
	}
	md, err := migdir.OpenDialect(dir, "sqlite3")
	if err != nil {
		t.Fatal(err)
	}
	got := preflight.FileStatements(md.Files[0], 1)
	for i := range got {
		got[i].Text, _, _ = strings.Cut(got[i].Text, " (")
	}
	if diff := cmp.Diff([]preflight.Statement{{File: "20260101000000_ab.sql", Index: 2, Line: 4, Text: "CREATE TABLE b"}}, got,
		cmpopts.IgnoreFields(preflight.Statement{}, "DataLoss")); diff != "" {
		t.Errorf("FileStatements (-want +got):\n%s", diff)
	}
	all, err := preflight.Statements(migrate.NewLocalFile("20260101000000_ab.sql", []byte(content)), 0)
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, s := range all {
		lines = append(lines, s.Line)
	}
	if diff := cmp.Diff([]int{2, 4}, lines); diff != "" {
		t.Errorf("the lines of Statements (-want +got):\n%s", diff)
	}
}

// groupFile adds a NOT NULL column in statement 2 (line 4) and indexes it
// in statement 8 (line 16): the finding must name statement 2, on SQLite
// too, where the column arrives in a rebuild (CREATE TABLE new_people,
// copy, drop, rename) and statement 8 is the first to name it on people
// itself (issue 9 item 8).
func groupFile(dia string) string {
	add := "ALTER TABLE people ADD COLUMN group_id bigint NOT NULL;\n" +
		"-- filler statements, so that the index is statement 8 (line 16)\n" +
		"CREATE TABLE f3 (id integer PRIMARY KEY);\nCREATE TABLE f4 (id integer PRIMARY KEY);\n" +
		"CREATE TABLE f5 (id integer PRIMARY KEY);\nCREATE TABLE f6 (id integer PRIMARY KEY);\n" +
		"CREATE TABLE f7 (id integer PRIMARY KEY);\n"
	if dia == "sqlite" {
		add = "CREATE TABLE `new_people` (`id` integer NOT NULL PRIMARY KEY, `name` varchar(255) NOT NULL, `bio` varchar(255) NULL, `group_id` integer NOT NULL);\n" +
			"-- copy, drop, rename\n" +
			"INSERT INTO `new_people` (`id`, `name`, `bio`) SELECT `id`, `name`, `bio` FROM `people`;\n" +
			"DROP TABLE `people`;\n" +
			"ALTER TABLE `new_people` RENAME TO `people`;\n" +
			"PRAGMA foreign_keys = on;\n" +
			"CREATE TABLE f7 (id integer PRIMARY KEY);\n"
	}
	return "-- add the group\n" + "PRAGMA_OR_NOTHING;\n" +
		"-- statement 2\n" + add +
		"\n\n\n\n\n" +
		"CREATE INDEX people_group_id ON people (group_id);\n"
}

func TestCheckNamesTheStatementThatMadeIt(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		dia := be.Name
		target, opts := people(t, dia, false)
		first := map[string]string{"sqlite": "PRAGMA foreign_keys = off", "postgres": "SET lock_timeout = '5s'", "mysql": "SET SESSION lock_wait_timeout = 5"}[dia]
		content := strings.Replace(groupFile(dia), "PRAGMA_OR_NOTHING", first, 1)
		stmts := file(t, "20261127000000_group.sql", content)
		if last := stmts[len(stmts)-1]; len(stmts) != 8 || last.Line != 16 {
			t.Fatalf("the file has %d statements, the last at line %d: the test's premise is gone\n%s", len(stmts), last.Line, content)
		}
		risks, err := preflight.CountRisks(context.Background(), target, stmts, opts)
		if err != nil {
			t.Fatal(err)
		}
		var found *preflight.Risk
		for i := range risks {
			if risks[i].Kind == preflight.AddNotNullColumn {
				found = &risks[i]
			}
		}
		if found == nil {
			t.Fatalf("no add-not-null-column risk in %+v", risks)
		}
		if found.Index != 2 || found.Line != 4 || !strings.HasPrefix(found.Message, "statement 2 of 20261127000000_group.sql (line 4) adds NOT NULL column people.group_id") {
			t.Errorf("the finding names statement %d (line %d), want statement 2 (line 4): %s", found.Index, found.Line, found.Message)
		}
	})
}

// A drop the file declares with weber:data-loss is reported, counted and
// let through without --allow-data-loss; an undeclared one still blocks.
func TestCheckDeclaredDataLoss(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		dia := be.Name
		target, opts := people(t, dia, false)
		liveschematest.Exec(t, target, "CREATE TABLE notes (id integer NOT NULL PRIMARY KEY, body varchar(50) NULL)", "INSERT INTO notes (id, body) VALUES (1, 'x')")
		content := "-- weber:data-loss people.bio\nALTER TABLE people DROP COLUMN bio;\nDROP TABLE notes;\n"
		risks, err := preflight.CountRisks(context.Background(), target, file(t, "1_drop.sql", content), opts)
		if err != nil {
			t.Fatal(err)
		}
		var blocking []string
		for _, r := range risks {
			if r.Blocks() {
				blocking = append(blocking, r.Table)
			}
			if r.Kind != preflight.DropColumn {
				continue
			}
			type declared struct {
				Declared    bool
				Rows        int64
				MessageSays bool // the file declares the loss
			}
			if diff := cmp.Diff(declared{true, 7, true}, declared{r.Declared, r.Rows, strings.Contains(r.Message, "the file declares the loss (weber:data-loss)")}); diff != "" {
				t.Errorf("declared drop %+v (-want +got):\n%s", r, diff)
			}
		}
		if strings.Join(blocking, ",") != "notes" {
			t.Errorf("blocking risks on %v, want only the undeclared drop of notes", blocking)
		}
		risks, err = preflight.CountRisks(context.Background(), target, file(t, "2_drop.sql", "-- weber:data-loss notes\n-- weber:data-loss people\nALTER TABLE people DROP COLUMN bio;\nDROP TABLE notes;\n"), opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := preflight.Gate(risks, false); err != nil {
			t.Errorf("Gate refuses declared losses: %v", err)
		}
	})
}

func TestParseDataLoss(t *testing.T) {
	t.Parallel()
	d := preflight.ParseDataLoss([]byte("-- weber:data-loss audit_logs, users.legacy_note\n  #weber:data-loss `posts`.`body`\nSELECT 1; -- weber:data-loss not_a_directive\n-- weber:data-loss\n"))
	got := map[string]bool{
		"table audit_logs": d.Table("audit_logs"), "column audit_logs.x": d.Column("audit_logs", "x"),
		"column users.legacy_note": d.Column("users", "legacy_note"), "table users": d.Table("users"),
		"column posts.body": d.Column("posts", "body"), "table not_a_directive": d.Table("not_a_directive"),
	}
	want := map[string]bool{
		"table audit_logs": true, "column audit_logs.x": true, "column users.legacy_note": true, "table users": false,
		"column posts.body": true, "table not_a_directive": false,
	}
	if diff := cmp.Diff(want, got); diff != "" || len(d) != 3 {
		t.Errorf("ParseDataLoss = %v, %d entries, want 3 (-want +got declared):\n%s", d, len(d), diff)
	}
}

// riskList lists risks as "kind table: N rows", with ", approximate" for an
// estimate and ", blocks" for a risk that refuses the upgrade.
func riskList(rs []preflight.Risk) []string {
	var out []string
	for _, r := range rs {
		s := fmt.Sprintf("%s %s: %d rows", r.Kind, r.Table, r.Rows)
		if r.Approximate {
			s += ", approximate"
		}
		if r.Blocks() {
			s += ", blocks"
		}
		out = append(out, s)
	}
	return out
}
