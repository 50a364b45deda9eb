package plan

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// spanFiles is a history whose findings depend on what the same file
// added before (a table created and dropped in one file is not a
// destructive change, a unique index on a column added in the same file
// cannot fail, ...), with quiet statements (CREATE TABLE, CREATE INDEX,
// ADD COLUMN ... NULL) around each destructive or data-dependent one, so
// that batching them must keep every finding.
func spanFiles(d string) map[string]string {
	users := "users"
	dropIdx := "DROP INDEX tmp_a;"
	if d == MySQL {
		dropIdx = "DROP INDEX tmp_a ON tmp;"
	}
	first := strings.Join([]string{
		"CREATE TABLE tmp (id integer NOT NULL PRIMARY KEY, a varchar(20) NULL);",
		"CREATE INDEX tmp_a ON tmp (a);",
		"ALTER TABLE tmp ADD COLUMN b varchar(20) NULL;",
		"CREATE UNIQUE INDEX tmp_b ON tmp (b);",
		dropIdx,
		"DROP TABLE tmp;",
		"CREATE TABLE keep1 (id integer NOT NULL PRIMARY KEY, note varchar(20) NULL);",
		"ALTER TABLE " + users + " ADD COLUMN scratch varchar(20) NULL;",
		"ALTER TABLE " + users + " DROP COLUMN scratch;",
		"CREATE INDEX keep1_note ON keep1 (note);",
		"CREATE UNIQUE INDEX users_name_u ON " + users + " (name);",
		"ALTER TABLE " + users + " DROP COLUMN bio;",
		// A renamed column is not one the file added: MF101 on line 15.
		"CREATE TABLE r1 (id integer NOT NULL PRIMARY KEY, a varchar(20) NULL);",
		"ALTER TABLE r1 RENAME COLUMN a TO b;",
		"CREATE UNIQUE INDEX r1_b ON r1 (b);",
		// An existing table is not created by IF NOT EXISTS: MF101 on 17.
		"CREATE TABLE IF NOT EXISTS " + users + " (id integer NOT NULL PRIMARY KEY);",
		"CREATE UNIQUE INDEX users_email_u2 ON " + users + " (email);",
		// Statements that join the batch of the table's creation.
		"CREATE TABLE j1 (id integer NOT NULL PRIMARY KEY, a varchar(20) NULL);",
		"CREATE UNIQUE INDEX j1_a ON j1 (a);",
		"ALTER TABLE j1 ADD COLUMN n integer NOT NULL DEFAULT 0;",
	}, "\n") + "\n"
	second := strings.Join([]string{
		"-- atlas:nolint DS102",
		"CREATE TABLE keep2 (id integer NOT NULL PRIMARY KEY, k integer NULL);",
		"ALTER TABLE keep1 DROP COLUMN q;",
		"ALTER TABLE keep1 ADD COLUMN k integer NULL;",
		"CREATE INDEX keep1_k ON keep1 (k);",
		"ALTER TABLE keep1 ADD COLUMN must integer NOT NULL;",
		"DROP TABLE keep1;",
		"CREATE INDEX keep2_k ON keep2 (k);",
		// Dropped, then added back: still a loss (DS103 on line 9).
		"ALTER TABLE q1 DROP COLUMN extra;",
		"ALTER TABLE q1 ADD COLUMN extra varchar(20) NULL;",
	}, "\n") + "\n"
	// A file of quiet statements only, which lint does not inspect after:
	// the next file's DROP COLUMN q must still see q.
	quietOnly := strings.Join([]string{
		"CREATE TABLE q1 (id integer NOT NULL PRIMARY KEY, note varchar(20) NULL);",
		"ALTER TABLE keep1 ADD COLUMN q integer NULL;",
		"ALTER TABLE q1 ADD COLUMN extra varchar(20) NULL;",
		"CREATE INDEX q1_note ON q1 (note);",
	}, "\n") + "\n"
	return map[string]string{"20261211000000_span.sql": first, "20261211500000_quiet.sql": quietOnly, "20261212000000_more.sql": second}
}

// Batching quiet statements reports exactly the findings of one full
// inspection per statement (the way lint worked before batching), on a
// history with destructive and data-dependent changes.
func TestLintFilesBatchingKeepsFindings(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d, urls := b.Name, map[string]string{b.Name: b.DevURL()}
		dir := historyWith(t, d, spanFiles(d))
		md, err := migdir.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		selected := map[string]bool{"20261211000000_span.sql": true, "20261211500000_quiet.sql": true, "20261212000000_more.sql": true}
		run := func(full bool) []LintedFile {
			db, cleanup, err := OpenScratch(context.Background(), d, urls[d])
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			l := &fileLinter{folder: d, selected: selected, full: full, log: discardLogger()}
			out, err := l.run(context.Background(), db, historyFiles(md), "")
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		batched, full := run(false), run(true)
		if len(batched) != 3 || len(full) != 3 {
			t.Fatalf("linted %d and %d files, want 3", len(batched), len(full))
		}
		for i := range full {
			if !slices.Equal(batched[i].Findings, full[i].Findings) {
				t.Errorf("%s: batched findings\n%s\nwant (one full inspection per statement)\n%s",
					full[i].Name, renderFindings(batched[i].Findings), renderFindings(full[i].Findings))
			}
		}
		// The history does hold findings, of both kinds.
		rep := &LintReport{Dialect: d, Files: batched}
		findingAt(t, rep, "DS103", 12) // users.bio
		findingAt(t, rep, "MF101", 11) // unique index on an old column
		findingAt(t, rep, "MF101", 15)
		findingAt(t, rep, "MF101", 17)
		if !slices.ContainsFunc(batched[2].Findings, func(f Finding) bool { return f.Code == "DS103" && strings.Contains(f.Message, `"q"`) }) {
			t.Errorf("no DS103 for column q, added by the quiet file, in %s", renderFindings(batched[2].Findings))
		}
		if !slices.ContainsFunc(batched[2].Findings, func(f Finding) bool { return f.Code == "DS103" && f.Line == 9 }) {
			t.Errorf("no DS103 for column extra, dropped and added back, on line 9 of %s", renderFindings(batched[2].Findings))
		}
	})
}

func renderFindings(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

// quiet keeps out every statement whose change an analyzer may report on.
func TestQuietStatements(t *testing.T) {
	for _, c := range []struct {
		folder, stmt string
		quiet        bool
	}{
		{Postgres, "CREATE TABLE t (id int);", true},
		{Postgres, "CREATE INDEX i ON t (a);", true},
		{Postgres, "CREATE UNIQUE INDEX i ON t (a);", false},
		{Postgres, "ALTER TABLE t ADD COLUMN a int NULL;", true},
		{Postgres, "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id) ON DELETE CASCADE;", true},
		{Postgres, "ALTER TABLE t ADD COLUMN a int NOT NULL;", false},
		{Postgres, "ALTER TABLE t ADD COLUMN a int GENERATED ALWAYS AS IDENTITY;", false},
		{Postgres, "ALTER TABLE t ADD COLUMN a bigserial;", false},
		{Postgres, "ALTER TABLE t ADD COLUMN a int, DROP COLUMN b;", false},
		{Postgres, "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a);", false},
		{Postgres, "ALTER TABLE t ALTER COLUMN a SET NOT NULL;", false},
		{Postgres, "ALTER TABLE t RENAME TO u;", false},
		{Postgres, "DROP TABLE t;", false},
		{Postgres, "COMMENT ON COLUMN t.a IS 'x';", true},
		{Postgres, "CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;", true},
		{Postgres, "DO $$ BEGIN ALTER TABLE t DROP COLUMN a; END $$;", false},
		{MySQL, "ALTER TABLE t ADD COLUMN a int AUTO_INCREMENT PRIMARY KEY;", false},
		{MySQL, "ALTER TABLE t MODIFY a int NOT NULL;", false},
		{SQLite, "CREATE TABLE `new_users` (id integer);", false},
		{SQLite, "CREATE TABLE users2 (id integer);", true},
	} {
		if got := quiet(c.folder, c.stmt); got != c.quiet {
			t.Errorf("quiet(%s, %q) = %v, want %v", c.folder, c.stmt, got, c.quiet)
		}
	}
}
