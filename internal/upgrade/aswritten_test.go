package upgrade

import (
	"errors"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// Scenario "Transaction control in a file": a file with its own BEGIN/COMMIT followed by a statement
// that fails. Before, on PostgreSQL, the statements inside the file's
// transaction persisted, no revision was written, and the message said
// nothing persisted. Now the file is refused before anything runs, naming
// the line.
func TestTxControlRefusedBeforeAnythingRuns(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(),
			file{"1_base.sql", "CREATE TABLE base (id int NOT NULL, PRIMARY KEY (id));\n"},
			file{"2_own_tx.sql", "-- copied from another tool\nBEGIN;\nALTER TABLE base ADD COLUMN note varchar(20);\nCOMMIT;\nINSERT INTO missing VALUES (1);\n"},
		)
		_, err := upgrade(t, d, dir, Options{})
		var me *migdir.Error
		if !errors.As(err, &me) || me.Kind != migdir.KindTxControl {
			t.Fatalf("want a %s refusal, got %v", migdir.KindTxControl, err)
		}
		checkMessage(t, err, "2_own_tx.sql", "line 2:", "`BEGIN`", "remove the line", "-- weber:as-written")
		if tableExists(t, d, "base") {
			t.Error("the first file ran although the folder was refused")
		}
		if revs := revisions(t, d); len(revs) != 0 {
			t.Errorf("%d revisions recorded, want none", len(revs))
		}
		// Status reads the same folder and reports the same refusal.
		st, err := Status(t.Context(), d.db, d.u, dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Problems) != 1 || st.Problems[0].File != "2_own_tx.sql" || !strings.Contains(st.Problems[0].Message, "line 2:") {
			t.Errorf("status problems: %+v; want the file's line 2 named", st.Problems)
		}
	})
}

// Under `-- weber:as-written` the file runs exactly as written; a failure
// inside the file's own transaction rolls that transaction back, the record
// says truthfully how far the file got, and the next upgrade resumes at the
// BEGIN.
func TestAsWrittenRecordsTruthfully(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		// Each engine's own spelling of BEGIN WORK / COMMIT WORK.
		begin, commit := "begin work;\n", "commit work;\n"
		if d.dia() == dialect.SQLite {
			begin, commit = "begin transaction;\n", "end transaction;\n"
		}
		body := func(bad string) string {
			return "-- weber:as-written\n\n" +
				"CREATE TABLE t1 (id int NOT NULL, PRIMARY KEY (id));\n" + // 1
				"BEGIN;\n" + // 2
				"INSERT INTO t1 VALUES (1);\n" + // 3
				"INSERT INTO t1 VALUES (2);\n" + // 4
				"COMMIT;\n" + // 5
				begin + // 6, line 8
				"INSERT INTO t1 VALUES (3);\n" + // 7
				bad + // 8
				commit + // 9
				"CREATE TABLE t2 (id int);\n" // 10
		}
		dir := writeDir(t, d.dia(), file{"1_as_written.sql", body("INSERT INTO missing VALUES (4);\n")})
		_, err := upgrade(t, d, dir, Options{})
		var se *StatementError
		if !errors.As(err, &se) {
			t.Fatalf("want a StatementError, got %v", err)
		}
		type ownTx struct{ Stmt, OwnTx, OwnTxLine, Applied int }
		if diff := cmp.Diff(ownTx{8, 6, 8, 5}, ownTx{se.Stmt, se.OwnTx, se.OwnTxLine, se.Applied}); diff != "" {
			t.Errorf("StatementError (-want +got):\n%s", diff)
		}
		checkMessage(t, err, "statement 8 (line 10)", "own transaction (statements 6-8, from line 8) was rolled back", "applied 5 of 10", "resume at statement 6")
		if n := count(t, d, "SELECT COUNT(*) FROM t1"); n != 2 {
			t.Errorf("t1 has %d rows after the failure, want the 2 of the committed transaction", n)
		}
		r := revision(t, d, "1")
		if diff := cmp.Diff(progress{Applied: 5, Total: 10, Error: "statement 8"}, progressOf(r, "statement 8", ""),
			cmpopts.IgnoreFields(progress{}, "ErrorStmt", "PartialHashes")); diff != "" {
			t.Fatalf("revision after the failure (-want +got):\n%s", diff)
		}

		addFiles(t, dir, file{"1_as_written.sql", body("INSERT INTO t1 VALUES (4);\n")})
		res := mustUpgrade(t, d, dir, Options{})
		if len(res.Files) != 1 || res.Files[0].From != 6 || res.Files[0].Transactional {
			t.Errorf("resumed run: %+v; want one file from statement 6, not in a transaction of Weber's", res.Files)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM t1"); n != 4 {
			t.Errorf("t1 has %d rows, want 4", n)
		}
		if !tableExists(t, d, "t2") {
			t.Error("t2 was not created")
		}
		if r := revision(t, d, "1"); r == nil || !r.Done() || r.Applied != 10 {
			t.Errorf("revision after the resume: %+v; want done, 10 of 10", r)
		}
	})
}

// On MySQL a DDL statement inside the file's transaction commits it
// implicitly: the record moves past it, truthfully. On SQLite and
// PostgreSQL the DDL is rolled back with the rest.
func TestAsWrittenDDLInsideOwnTransaction(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		start := "START TRANSACTION;\n"
		if d.dia() == dialect.SQLite {
			start = "BEGIN IMMEDIATE TRANSACTION;\n"
		}
		dir := writeDir(t, d.dia(), file{"1_ddl.sql", "-- weber:as-written\n\n" +
			"CREATE TABLE t1 (id int NOT NULL, PRIMARY KEY (id));\n" + // 1
			start + // 2
			"INSERT INTO t1 VALUES (1);\n" + // 3
			"CREATE TABLE t3 (id int);\n" + // 4
			"INSERT INTO t1 VALUES (2);\n" + // 5
			"INSERT INTO missing VALUES (1);\n" + // 6
			"COMMIT;\n"})
		_, err := upgrade(t, d, dir, Options{})
		var se *StatementError
		if !errors.As(err, &se) {
			t.Fatalf("want a StatementError, got %v", err)
		}
		rows, t3 := count(t, d, "SELECT COUNT(*) FROM t1"), tableExists(t, d, "t3")
		r := revision(t, d, "1")
		if d.dia() == dialect.MySQL {
			// The CREATE TABLE committed row 1 and itself; row 2 ran in
			// autocommit after it (MySQL leaves no transaction open).
			if rows != 2 || !t3 || r.Applied != 5 {
				t.Errorf("MySQL: %d rows, t3 %v, applied %d; want 2 rows, t3, applied 5", rows, t3, r.Applied)
			}
			return
		}
		type after struct {
			Rows           int
			T3             bool
			Applied, OwnTx int
		}
		if diff := cmp.Diff(after{Rows: 0, T3: false, Applied: 1, OwnTx: 2}, after{rows, t3, r.Applied, se.OwnTx}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", d.name, diff)
		}
	})
}

// The pre-flight check sees through a file's own transaction: a dropped
// column holding data inside BEGIN ... COMMIT is counted and refused like
// any other, before anything runs, and the statement is named by its
// place in the file.
func TestAsWrittenPreflight(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		begin := "START TRANSACTION;\n"
		if d.dia() == dialect.SQLite {
			begin = "BEGIN;\n"
		}
		drop := file{"2_drop_bio.sql", "-- weber:as-written\n\n" + "CREATE TABLE notes (id int);\n" + begin + "ALTER TABLE users DROP COLUMN bio;\nCOMMIT;\n"}
		dir := populated(t, d, drop)
		_, err := upgrade(t, d, dir, Options{DevURL: devURL(d)})
		wantRefusal(t, err, KindDataLoss, "users.bio", "3 rows", "2_drop_bio.sql", "statement 3")
		unchanged(t, d)
		if tableExists(t, d, "notes") {
			t.Errorf("the refused file's first statement ran")
		}
		mustUpgrade(t, d, dir, Options{AllowDataLoss: true})
		if _, err := d.db.Exec("SELECT bio FROM users"); err == nil {
			t.Error("users.bio still exists after the allowed drop")
		}
	})
}

// On MySQL a DDL statement that does not even parse is not preceded by an
// implicit commit; Weber commits the file's transaction before any DDL
// itself, so the record says for certain what persists.
func TestAsWrittenMySQLUnparsableDDL(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(), file{"1_ddl.sql", "-- weber:as-written\n\n" +
			"CREATE TABLE t1 (id int NOT NULL, PRIMARY KEY (id));\n" + // 1
			"START TRANSACTION;\n" + // 2
			"INSERT INTO t1 VALUES (1);\n" + // 3
			"CREATE TABLEX t3 (id int);\n" + // 4: a syntax error
			"COMMIT;\n"})
		_, err := upgrade(t, d, dir, Options{})
		var se *StatementError
		if !errors.As(err, &se) {
			t.Fatalf("want a StatementError, got %v", err)
		}
		type failed struct{ Stmt, Applied, OwnTx int }
		if diff := cmp.Diff(failed{Stmt: 4, Applied: 3, OwnTx: 0}, failed{se.Stmt, se.Applied, se.OwnTx}); diff != "" {
			t.Fatalf("want statement 4 to fail with 3 applied and no transaction of the file rolled back (-want +got):\n%s", diff)
		}
		checkMessage(t, err, "statements 1-3 persist and are recorded (applied 3 of 5)")
		// Read through another pool, as another process would: a
		// transaction left open on the upgrade's connection shows its own
		// work to whoever gets that connection next.
		other := &tdb{name: d.name, u: d.u, db: d.open(t)}
		if rows, r := count(t, other, "SELECT COUNT(*) FROM t1"), revision(t, other, "1"); rows != 1 || r == nil || r.Applied != 3 {
			t.Errorf("%d rows, revision %+v; want 1 row, applied 3", rows, r)
		}
	}, testserver.Except(testserver.SQLite, "the implicit commit before a DDL statement is MySQL's"), testserver.Except(testserver.Postgres, "the implicit commit before a DDL statement is MySQL's"))
}
