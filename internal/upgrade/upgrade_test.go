package upgrade

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/envmark"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

var basic = []file{
	{"1_users.sql", "CREATE TABLE users (id int NOT NULL, name varchar(50), PRIMARY KEY (id));\n"},
	{"2_posts.sql", "CREATE TABLE posts (id int NOT NULL, user_id int, PRIMARY KEY (id));\nINSERT INTO users (id, name) VALUES (1, 'a');\n"},
	{"3_tags.sql", "CREATE TABLE tags (id int NOT NULL, PRIMARY KEY (id));\n"},
}

func TestUpgradeAppliesOnceThenNothingPending(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(), basic...)
		var events []string
		res := mustUpgrade(t, d, dir, Options{OnFile: func(e FileEvent) { events = append(events, e.Phase+" "+e.Name) }})
		if len(res.Files) != 3 || res.After != "3" || res.Before != "" {
			t.Fatalf("want 3 files to version 3, got %+v", res)
		}
		if got := res.Files[1]; got.Statements != 2 || got.From != 1 || got.Transactional == (d.name == "mysql") {
			t.Errorf("file 2 run: %+v", got)
		}
		if want := "start 1_users.sql,done 1_users.sql,start 2_posts.sql,done 2_posts.sql,start 3_tags.sql,done 3_tags.sql"; strings.Join(events, ",") != want {
			t.Errorf("events %q, want %q", events, want)
		}
		for _, tb := range []string{"users", "posts", "tags"} {
			if !tableExists(t, d, tb) {
				t.Errorf("table %s missing", tb)
			}
		}
		revs := revisions(t, d)
		if len(revs) != 3 {
			t.Fatalf("want 3 revisions, got %d", len(revs))
		}
		dirv, err := migdir.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range revs {
			f := dirv.Files[i]
			want := revstore.Revision{Version: f.Version, Description: r.Description, Hash: f.Hash, Applied: len(f.Stmts), Total: len(f.Stmts),
				Type: revstore.TypeExecute, OperatorVersion: DefaultOperator}
			if diff := cmp.Diff(want, *r, cmpopts.IgnoreFields(revstore.Revision{}, "ExecutedAt", "ExecutionTime")); diff != "" || r.ExecutedAt.IsZero() {
				t.Errorf("revision %d of %s (-want +got):\n%s(executed at %v)", i, f.Name, diff, r.ExecutedAt)
			}
		}
		again := mustUpgrade(t, d, dir, Options{})
		if !again.NothingToDo() || again.Before != "3" || again.After != "3" {
			t.Errorf("second upgrade: %+v", again)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM users"); n != 1 {
			t.Errorf("users rows: %d, want 1 (file 2 ran once)", n)
		}
	})
}

func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(), basic...)
		res := mustUpgrade(t, d, dir, Options{DryRun: true, To: "2"})
		type dry struct {
			DryRun     bool
			Statements []int  // per file
			First      string // of file 2, up to its column list
		}
		got := dry{DryRun: res.DryRun}
		for _, f := range res.Files {
			got.Statements = append(got.Statements, len(f.SQL))
		}
		if len(res.Files) > 1 && len(res.Files[1].SQL) > 0 {
			got.First, _, _ = strings.Cut(res.Files[1].SQL[0], " (")
		}
		if diff := cmp.Diff(dry{true, []int{1, 2}, "CREATE TABLE posts"}, got); diff != "" {
			t.Fatalf("dry run result (-want +got):\n%s", diff)
		}
		if len(res.Remaining) != 1 || res.Remaining[0].Name != "3_tags.sql" {
			t.Errorf("remaining: %+v", res.Remaining)
		}
		if tableExists(t, d, "users") || tableExists(t, d, revstore.Table) {
			t.Error("dry run created tables")
		}
	}, testserver.Except(testserver.MySQL, "the logic does not depend on the backend: covered on the others"))
}

func TestUpgradeTo(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(), basic...)
		res := mustUpgrade(t, d, dir, Options{To: "2"})
		if len(res.Files) != 2 || res.After != "2" || len(res.Remaining) != 1 {
			t.Fatalf("result: %+v", res)
		}
		if tableExists(t, d, "tags") {
			t.Error("file 3 ran despite --to 2")
		}
		_, err := upgrade(t, d, dir, Options{To: "7"})
		wantRefusal(t, err, KindTarget, "--to 7", "latest is 3")
		_, err = upgrade(t, d, dir, Options{To: "1"})
		wantRefusal(t, err, KindTarget, "downgrade")
		if res := mustUpgrade(t, d, dir, Options{}); len(res.Files) != 1 || res.Before != "2" {
			t.Errorf("rest: %+v", res)
		}
	}, testserver.Except(testserver.Postgres, "the logic does not depend on the backend: covered on the others"), testserver.Except(testserver.MySQL, "the logic does not depend on the backend: covered on the others"))
}

// Scenario "Failure inside a transactional file": a failing statement inside a transactional file.
func TestFailureInTransactionalFile(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		bad := file{"2_bad.sql", "CREATE TABLE b (id int);\n\n-- this one fails\nINSERT INTO missing VALUES (1);\nCREATE TABLE c (id int);\n"}
		dir := writeDir(t, d.dia(), basic[0], bad)
		_, err := upgrade(t, d, dir, Options{})
		var se *StatementError
		if !errors.As(err, &se) {
			t.Fatalf("want a StatementError, got %v", err)
		}
		if diff := cmp.Diff(stmtErr{File: "2_bad.sql", Stmt: 2, Line: 4, Transactional: true}, stmtErrOf(se)); diff != "" {
			t.Errorf("statement error (-want +got):\n%s", diff)
		}
		checkMessage(t, err, "2_bad.sql", "statement 2 (line 4)", "missing", "rolled back")
		if tableExists(t, d, "b") {
			t.Error("table b persists after the failed transactional file")
		}
		if r := revision(t, d, "2"); r != nil {
			t.Errorf("a revision was recorded for the failed file: %+v", r)
		}
		if r := revision(t, d, "1"); r == nil || !r.Done() {
			t.Errorf("file 1 not recorded: %+v", r)
		}
		addFiles(t, dir, file{"2_bad.sql", "CREATE TABLE b (id int);\n\n-- fixed\nCREATE TABLE a2 (id int);\nCREATE TABLE c (id int);\n"})
		res := mustUpgrade(t, d, dir, Options{})
		if len(res.Files) != 1 || res.Files[0].From != 1 || res.Files[0].Statements != 3 {
			t.Fatalf("fixed run: %+v", res)
		}
		for _, tb := range []string{"b", "a2", "c"} {
			if !tableExists(t, d, tb) {
				t.Errorf("table %s missing after the fixed file", tb)
			}
		}
		if diff := cmp.Diff(progress{Applied: 3, Total: 3}, progressOf(revision(t, d, "2"), "", "")); diff != "" {
			t.Errorf("revision after fix (-want +got):\n%s", diff)
		}
	}, testserver.Except(testserver.MySQL, "DDL commits implicitly: no file is transactional"))
}

// Scenario "Failure without transactions": failure without a transaction, then resume at the failed
// statement; editing the applied part is refused.
func TestFailureWithoutTransactionResumes(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		body := noTx(d.dia()) + "CREATE TABLE a (id int);\nINSERT INTO missing VALUES (1);\nCREATE TABLE c (id int);\n"
		dir := writeDir(t, d.dia(), file{"1_a.sql", body})
		_, err := upgrade(t, d, dir, Options{})
		var se *StatementError
		if !errors.As(err, &se) {
			t.Fatalf("want a StatementError, got %v", err)
		}
		if diff := cmp.Diff(stmtErr{File: "1_a.sql", Stmt: 2, Line: se.Line, Applied: 1}, stmtErrOf(se)); diff != "" {
			t.Fatalf("want a non-transactional StatementError at statement 2 (-want +got):\n%s", diff)
		}
		checkMessage(t, err, "1_a.sql", "statement 2", "applied 1 of 3", "resume")
		r := revision(t, d, "1")
		if diff := cmp.Diff(progress{Applied: 1, Total: 3, Error: "statement 2", ErrorStmt: "missing", PartialHashes: 1}, progressOf(r, "statement 2", "missing")); diff != "" {
			t.Fatalf("revision after the failure (-want +got):\n%s", diff)
		}
		if !tableExists(t, d, "a") {
			t.Fatal("statement 1 did not persist")
		}
		st, err := Status(context.Background(), d.db, d.u, dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Partial == nil || st.UpToDate() {
			t.Fatalf("status: no partial file, or up to date: %+v", st)
		}
		if diff := cmp.Diff(progress{Applied: 1, Total: 3, ErrorStmt: "missing"}, progress{Applied: st.Partial.Applied, Total: st.Partial.Total,
			ErrorStmt: contains(st.Partial.ErrorStmt, "missing")}); diff != "" {
			t.Errorf("status of the partial file (-want +got):\n%s", diff)
		}

		// Editing statement 1 (already applied) is refused.
		noTxHeader := noTx(d.dia())
		addFiles(t, dir, file{"1_a.sql", noTxHeader + "CREATE TABLE a (id bigint);\nCREATE TABLE b (id int);\nCREATE TABLE c (id int);\n"})
		_, err = upgrade(t, d, dir, Options{})
		wantRefusal(t, err, KindPartialChanged, "1_a.sql", "statement 1")

		// Fixing statement 2 resumes there: statement 1 does not run again
		// (it would fail: table a exists).
		addFiles(t, dir, file{"1_a.sql", noTxHeader + "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCREATE TABLE c (id int);\n"})
		res := mustUpgrade(t, d, dir, Options{})
		if len(res.Files) != 1 || res.Files[0].From != 2 {
			t.Fatalf("resume: %+v", res)
		}
		if !tableExists(t, d, "b") || !tableExists(t, d, "c") {
			t.Error("resumed statements did not run")
		}
		r = revision(t, d, "1")
		if diff := cmp.Diff(progress{Applied: 3, Total: 3}, progressOf(r, "", "")); diff != "" {
			t.Errorf("revision after resume (-want +got):\n%s", diff)
		}
		if res := mustUpgrade(t, d, dir, Options{}); !res.NothingToDo() {
			t.Errorf("pending after resume: %+v", res)
		}
	})
}

// Scenario "A partially applied file edited": a partially applied file grown, shrunk or reordered.
func TestPartialFileEdited(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		refuse     bool
		want       []string
	}{
		{"grown", "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCREATE TABLE c (id int);\nCREATE TABLE d (id int);\n", false, []string{"c", "d"}},
		{"shrunk", "CREATE TABLE a (id int);\n", true, []string{"now has only 1 statement:"}},
		{"reordered", "CREATE TABLE b (id int);\nCREATE TABLE a (id int);\nCREATE TABLE c (id int);\n", true, []string{"statement 1"}},
		{"fixed-tail", "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n", false, []string{"a", "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testserver.Each(t, func(t *testing.T, b testserver.Backend) {
				d := newDB(t, b.Name)
				h := noTx(d.dia())
				dir := writeDir(t, d.dia(), file{"1_a.sql", h + "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nINSERT INTO missing VALUES (1);\n"})
				if _, err := upgrade(t, d, dir, Options{}); err == nil {
					t.Fatal("want the first run to fail at statement 3")
				}
				addFiles(t, dir, file{"1_a.sql", h + tc.body})
				res, err := upgrade(t, d, dir, Options{})
				if tc.refuse {
					wantRefusal(t, err, KindPartialChanged, append([]string{"1_a.sql"}, tc.want...)...)
					// Status reports it rather than failing, and keeps the
					// file partial, not pending forever.
					st, err := Status(context.Background(), d.db, d.u, dir)
					if err != nil {
						t.Fatal(err)
					}
					if len(st.Problems) == 0 || st.Partial == nil || len(st.Pending) != 0 {
						t.Errorf("status: %+v", st)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Files) != 1 || res.Files[0].From != 3 {
					t.Errorf("resume: %+v", res.Files)
				}
				for _, tb := range tc.want {
					if !tableExists(t, d, tb) {
						t.Errorf("table %s missing", tb)
					}
				}
				if again := mustUpgrade(t, d, dir, Options{}); !again.NothingToDo() {
					t.Errorf("still pending: %+v", again)
				}
			})
		})
	}
}

// Scenario "A crash between a statement's commit and its revision write": a crash between a statement and its record.
func TestUnconfirmedStatement(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		h := noTx(d.dia())
		dir := writeDir(t, d.dia(), file{"1_a.sql", h + "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nINSERT INTO a VALUES (1);\n"})
		crash := errors.New("injected crash")
		_, err := upgrade(t, d, dir, Options{fault: func(f *migdir.File, i int) error {
			if i == 1 {
				return crash
			}
			return nil
		}})
		if !errors.Is(err, crash) {
			t.Fatalf("want the injected crash, got %v", err)
		}
		// Table b was created, but the record says statement 2 started.
		if !tableExists(t, d, "b") {
			t.Fatal("statement 2 did not run")
		}
		_, err = upgrade(t, d, dir, Options{})
		wantRefusal(t, err, KindUnconfirmed, "1_a.sql", "statement 2 (line", "CREATE TABLE b", "--mark-applied", "--retry")
		st, err := Status(context.Background(), d.db, d.u, dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Partial == nil || !st.Partial.Unconfirmed || st.Partial.Applied != 1 {
			t.Errorf("status: %+v", st.Partial)
		}
		// Statement 2 did run: mark it applied; statement 3 runs once.
		res := mustUpgrade(t, d, dir, Options{Unconfirmed: UnconfirmedMarkApplied})
		if len(res.Files) != 1 || res.Files[0].From != 3 {
			t.Fatalf("skip: %+v", res.Files)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM a"); n != 1 {
			t.Errorf("rows in a: %d", n)
		}
		if r := revision(t, d, "1"); r == nil || !r.Done() {
			t.Errorf("revision: %+v", r)
		}
	})
}

func TestUnconfirmedStatementRetry(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(), file{"1_a.sql", noTx(d.dia()) + "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\nINSERT INTO a VALUES (2);\n"})
		_, err := upgrade(t, d, dir, Options{fault: func(f *migdir.File, i int) error {
			if i == 1 {
				return errors.New("crash")
			}
			return nil
		}})
		if err == nil {
			t.Fatal("want the crash")
		}
		res := mustUpgrade(t, d, dir, Options{Unconfirmed: UnconfirmedRetry})
		if res.Files[0].From != 2 {
			t.Errorf("retry from %d", res.Files[0].From)
		}
		// The user chose to retry a statement that had run: it ran twice,
		// as asked.
		if n := count(t, d, "SELECT COUNT(*) FROM a"); n != 3 {
			t.Errorf("rows: %d, want 3", n)
		}
	}, testserver.Except(testserver.Postgres, "the logic does not depend on the backend: covered on the others"), testserver.Except(testserver.MySQL, "the logic does not depend on the backend: covered on the others"))
}

// Scenario "Tampering": applied files edited (even re-hashed) or deleted.
func TestTamperingRefused(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(), basic...)
		mustUpgrade(t, d, dir, Options{})

		// Edited without re-hashing: the directory is refused.
		p := filepath.Join(dir, "2_posts.sql")
		orig, _ := os.ReadFile(p)
		os.WriteFile(p, append(orig, []byte("CREATE TABLE x (id int);\n")...), 0o644)
		_, err := upgrade(t, d, dir, Options{})
		if !errors.Is(err, migdir.ErrSumMismatch) {
			t.Fatalf("want a sum mismatch, got %v", err)
		}
		checkMessage(t, err, "2_posts.sql", "edited", "db hash")

		// Edited and re-hashed: refused by the stored hash.
		addFiles(t, dir)
		_, err = upgrade(t, d, dir, Options{})
		wantRefusal(t, err, KindEdited, "2_posts.sql", "edited after it was applied", "db revision")
		st, err := Status(context.Background(), d.db, d.u, dir)
		if err != nil || len(st.Problems) != 1 || st.Problems[0].Kind != KindEdited {
			t.Errorf("status: %+v, %v", st, err)
		}
		addFiles(t, dir, file{"2_posts.sql", string(orig)})
		mustUpgrade(t, d, dir, Options{})

		// Deleted and re-hashed: refused.
		os.Remove(filepath.Join(dir, "3_tags.sql"))
		addFiles(t, dir)
		_, err = upgrade(t, d, dir, Options{})
		wantRefusal(t, err, KindDeleted, "3_tags.sql", "restore")
	})
}

// Scenario "Non-linear history": a file merged behind the applied history.
func TestOutOfOrder(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(), basic[0], basic[2])
		mustUpgrade(t, d, dir, Options{})
		addFiles(t, dir, basic[1])
		_, err := upgrade(t, d, dir, Options{})
		r := wantRefusal(t, err, KindOutOfOrder, "2_posts.sql", "--allow-out-of-order")
		if len(r.Files) != 1 || r.Files[0] != "2_posts.sql" {
			t.Errorf("files: %v", r.Files)
		}
		if tableExists(t, d, "posts") {
			t.Fatal("refused file ran")
		}
		res := mustUpgrade(t, d, dir, Options{AllowOutOfOrder: true})
		if len(res.Files) != 1 || res.Files[0].Name != "2_posts.sql" || !tableExists(t, d, "posts") {
			t.Errorf("out-of-order apply: %+v", res)
		}
		if res.Before != "3" || res.After != "3" {
			t.Errorf("out-of-order apply: before %q, after %q; want the database at 3 both times (its newest file)", res.Before, res.After)
		}
		if res := mustUpgrade(t, d, dir, Options{}); !res.NothingToDo() {
			t.Errorf("after: %+v", res)
		}
	})
}

// Scenario "Database not clean": tables but no history; baseline.
func TestNotCleanAndBaseline(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(), basic...)
		for _, s := range []string{"CREATE TABLE users (id int NOT NULL, name varchar(50), PRIMARY KEY (id))",
			"CREATE TABLE posts (id int NOT NULL, user_id int, PRIMARY KEY (id))"} {
			if _, err := d.db.Exec(s); err != nil {
				t.Fatal(err)
			}
		}
		_, err := upgrade(t, d, dir, Options{})
		wantRefusal(t, err, KindNotClean, "posts", "users", "--baseline")
		_, err = upgrade(t, d, dir, Options{Baseline: "9"})
		wantRefusal(t, err, KindTarget, "--baseline 9")

		res := mustUpgrade(t, d, dir, Options{Baseline: "2"})
		if diff := cmp.Diff(applied{Baselined: []string{"1", "2"}, Files: []string{"3_tags.sql"}, After: "3"}, appliedOf(res)); diff != "" {
			t.Fatalf("baseline (-want +got):\n%s", diff)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM users"); n != 0 {
			t.Errorf("baselined file 2 ran: %d users", n)
		}
		if r := revision(t, d, "2"); r == nil || r.Type != revstore.TypeBaseline || !r.Done() {
			t.Errorf("baseline revision: %+v", r)
		}
		_, err = upgrade(t, d, dir, Options{Baseline: "2"})
		wantRefusal(t, err, KindBaseline, "already has a migration history")
	})
}

// Scenario "SQLite rebuild with foreign keys": a SQLite table rebuild keeps the child rows of a cascade.
func TestSQLiteRebuildKeepsChildRows(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(),
			file{"1_init.sql", "CREATE TABLE parents (id integer PRIMARY KEY, name text);\n" +
				"CREATE TABLE children (id integer PRIMARY KEY, parent_id integer NOT NULL REFERENCES parents (id) ON DELETE CASCADE);\n" +
				"INSERT INTO parents VALUES (1, 'a'), (2, 'b');\n" +
				"INSERT INTO children VALUES (1, 1), (2, 1), (3, 2);\n"},
			// Atlas's rebuild: new table, copy, drop, rename.
			file{"2_rebuild.sql", "CREATE TABLE new_parents (id integer PRIMARY KEY, name text NOT NULL DEFAULT '');\n" +
				"INSERT INTO new_parents (id, name) SELECT id, IFNULL(name, '') FROM parents;\n" +
				"DROP TABLE parents;\n" +
				"ALTER TABLE new_parents RENAME TO parents;\n"})
		mustUpgrade(t, d, dir, Options{})
		if n := count(t, d, "SELECT COUNT(*) FROM children"); n != 3 {
			t.Fatalf("children after the rebuild: %d, want 3", n)
		}
		var fk int
		d.db.QueryRow("PRAGMA foreign_keys").Scan(&fk)
		if fk != 1 {
			t.Error("foreign keys left off")
		}
		// A rebuild that loses a parent row is caught before commit.
		addFiles(t, dir, file{"3_lossy.sql", "CREATE TABLE new_parents (id integer PRIMARY KEY, name text);\n" +
			"INSERT INTO new_parents (id, name) SELECT id, name FROM parents WHERE id = 1;\n" +
			"DROP TABLE parents;\n" +
			"ALTER TABLE new_parents RENAME TO parents;\n"})
		_, err := upgrade(t, d, dir, Options{})
		wantRefusal(t, err, KindForeignKeys, "3_lossy.sql", "rolled back")
		if n := count(t, d, "SELECT COUNT(*) FROM parents"); n != 2 {
			t.Errorf("parents after the refused file: %d, want 2", n)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM children"); n != 3 {
			t.Errorf("children after the refused file: %d, want 3", n)
		}
		if r := revision(t, d, "3"); r != nil {
			t.Errorf("revision recorded for a rolled-back file: %+v", r)
		}
	}, testserver.Except(testserver.Postgres, "the table rebuild is SQLite's"), testserver.Except(testserver.MySQL, "the table rebuild is SQLite's"))
}

// Scenario "State re-read under the lock" (in-process): upgrades racing on separate pools; each file
// runs once, the others re-read the history under the lock.
func TestConcurrentUpgrades(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		slow := map[string]string{
			"sqlite":   "INSERT INTO runs (file) SELECT 'slow' FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 200000) SELECT x FROM c) WHERE x < 0;\nINSERT INTO runs (file) VALUES ('2');\n",
			"postgres": "SELECT pg_sleep(0.3);\nINSERT INTO runs (file) VALUES ('2');\n",
			"mysql":    "SELECT SLEEP(0.3);\nINSERT INTO runs (file) VALUES ('2');\n",
		}[d.name]
		dir := writeDir(t, d.dia(),
			file{"1_runs.sql", "CREATE TABLE runs (file varchar(10));\nINSERT INTO runs (file) VALUES ('1');\n"},
			file{"2_slow.sql", slow},
			file{"3_more.sql", "INSERT INTO runs (file) VALUES ('3');\n"})
		const n = 5
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			applied = map[string]int{}
			errs    []error
		)
		for i := 0; i < n; i++ {
			db := d.open(t)
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := Upgrade(context.Background(), db, d.u, dir, Options{LockTimeout: 2 * time.Minute})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				for _, f := range res.Files {
					applied[f.Name]++
				}
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("errors: %v", errs)
		}
		for _, name := range []string{"1_runs.sql", "2_slow.sql", "3_more.sql"} {
			if applied[name] != 1 {
				t.Errorf("%s applied %d times", name, applied[name])
			}
		}
		for _, f := range []string{"1", "2", "3"} {
			if c := count(t, d, fmt.Sprintf("SELECT COUNT(*) FROM runs WHERE file = '%s'", f)); c != 1 {
				t.Errorf("file %s ran %d times", f, c)
			}
		}
	})
}

// A lock held past the timeout is a clear refusal.
func TestLockTimeout(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(), basic...)
		release := make(chan struct{})
		started := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			_, err := Upgrade(context.Background(), d.open(t), d.u, dir, Options{OnFile: func(e FileEvent) {
				if e.Phase == PhaseStart && e.Version == "1" {
					close(started)
					<-release
				}
			}})
			done <- err
		}()
		<-started
		_, err := Upgrade(context.Background(), d.open(t), d.u, dir, Options{LockTimeout: 200 * time.Millisecond})
		close(release)
		wantRefusal(t, err, KindLocked, "lock")
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}, testserver.Except(testserver.MySQL, "the logic does not depend on the backend: covered on the others"))
}

// Scenario "Pools and poolers" and the in-memory default: a pool of one connection does not
// deadlock the lock, the apply or the environment mark.
func TestSingleConnectionPools(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		d.db.SetMaxOpenConns(1)
		dir := writeDir(t, d.dia(), basic...)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res, err := Upgrade(ctx, d.db, d.u, dir, Options{Env: "staging"})
		if err != nil || len(res.Files) != 3 {
			t.Fatalf("upgrade: %+v %v", res, err)
		}
		if env, err := envmark.Read(ctx, d.db, d.dia()); err != nil || env != "staging" {
			t.Errorf("environment mark: %q %v", env, err)
		}
	})
	t.Run("sqlite-memory", func(t *testing.T) {
		t.Parallel()
		u, err := dbconn.Parse("sqlite://:memory:")
		if err != nil {
			t.Fatal(err)
		}
		db, err := dbconn.Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		d := &tdb{name: "sqlite", u: u, db: db}
		dir := writeDir(t, u.Dialect, basic...)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if res, err := Upgrade(ctx, db, u, dir, Options{Env: "dev"}); err != nil || len(res.Files) != 3 {
			t.Fatalf("upgrade: %+v %v", res, err)
		}
		if !tableExists(t, d, "tags") {
			t.Error("tags missing")
		}
		st, err := Status(ctx, db, u, dir)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(status{HasHistory: true, Current: "3", CurrentName: "3_tags.sql", Applied: 3, Files: 3}, statusOf(st)); diff != "" || !st.UpToDate() {
			t.Errorf("status (-want +got):\n%s(up to date: %v)", diff, st.UpToDate())
		}
	})
}

// Scenarios "Lock holder killed" and "A crash between a statement's commit and its revision write": an upgrade interrupted (SIGINT) during a statement outside
// a transaction leaves the statement named as unconfirmed, never skipped.
func TestInterruptedStatementIsUnconfirmed(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		slow := map[string]string{
			"sqlite":   "CREATE TABLE slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 1000000000) SELECT max(x) AS m FROM c;",
			"postgres": "SELECT pg_sleep(3);",
			"mysql":    "SELECT SLEEP(3);",
		}[d.name]
		dir := writeDir(t, d.dia(), file{"1_a.sql", noTx(d.dia()) + "CREATE TABLE a (id int);\n" + slow + "\nCREATE TABLE b (id int);\n"})
		ctx, cancel := context.WithCancel(context.Background())
		var start time.Time
		// Interrupt 300ms into statement 2 (the slow one).
		_, err := Upgrade(ctx, d.db, d.u, dir, Options{fault: func(f *migdir.File, i int) error {
			if i == 0 {
				start = time.Now()
				time.AfterFunc(300*time.Millisecond, cancel)
			}
			return nil
		}})
		cancel()
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("want an interrupted upgrade, got %v", err)
		}
		if time.Since(start) > 2500*time.Millisecond {
			t.Errorf("interrupt took %s", time.Since(start))
		}
		checkMessage(t, err, "1_a.sql", "statement 2", "outcome is unknown")
		_, err = upgrade(t, d, dir, Options{})
		wantRefusal(t, err, KindUnconfirmed, "statement 2")
		if tableExists(t, d, "b") {
			t.Error("statement 3 ran after the interrupt")
		}
	})
}

// Scenario "Lock holder killed": an upgrade interrupted inside a transactional file rolls the
// file back; the next upgrade applies it in full.
func TestInterruptedTransactionRollsBack(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		slow := map[string]string{
			"sqlite":   "CREATE TABLE slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 1000000000) SELECT max(x) AS m FROM c;",
			"postgres": "SELECT pg_sleep(3);",
		}[d.name]
		fast := map[string]string{"sqlite": "SELECT 1;", "postgres": "SELECT 1;"}[d.name]
		dir := writeDir(t, d.dia(), file{"1_a.sql", "CREATE TABLE a (id int);\n" + slow + "\nCREATE TABLE b (id int);\n"})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := Upgrade(ctx, d.db, d.u, dir, Options{OnFile: func(e FileEvent) {
			if e.Phase == PhaseStart {
				time.AfterFunc(300*time.Millisecond, cancel)
			}
		}})
		var se *StatementError
		if !errors.As(err, &se) || !se.Transactional || se.Stmt != 2 {
			t.Fatalf("want the interrupted statement 2, got %v", err)
		}
		if tableExists(t, d, "a") || revision(t, d, "1") != nil {
			t.Fatal("the interrupted file left something behind")
		}
		addFiles(t, dir, file{"1_a.sql", "CREATE TABLE a (id int);\n" + fast + "\nCREATE TABLE b (id int);\n"})
		if res := mustUpgrade(t, d, dir, Options{}); len(res.Files) != 1 || !tableExists(t, d, "b") {
			t.Errorf("after the interrupt: %+v", res)
		}
	}, testserver.Except(testserver.MySQL, "DDL commits implicitly: no file is transactional"))
}

// Scenario "Failure inside a transactional file": the revision is written through the file's transaction: when
// the revision write fails, the file's statements are rolled back too.
func TestRevisionWrittenInFileTransaction(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(), basic[0],
			file{"2_sabotage.sql", "CREATE TABLE x (id int);\nDROP TABLE " + revstore.Table + ";\n"})
		_, err := upgrade(t, d, dir, Options{})
		checkMessage(t, err, "2_sabotage.sql", "rolled back")
		if tableExists(t, d, "x") {
			t.Error("the file's table persists although its revision was not written")
		}
		if r := revision(t, d, "1"); r == nil || !r.Done() {
			t.Errorf("the revision table lost file 1: %+v", r)
		}
	}, testserver.Except(testserver.MySQL, "DDL commits implicitly: no file is transactional"))
}

// Revisions written by the Atlas CLI (hash = the atlas.sum entry, baseline
// rows without a hash) are accepted, so a team can switch to Weber.
func TestAtlasWrittenRevisionsAccepted(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(), basic...)
		md, err := migdir.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for _, s := range []string{"CREATE TABLE users (id int NOT NULL, name varchar(50), PRIMARY KEY (id))",
			"CREATE TABLE posts (id int NOT NULL, user_id int, PRIMARY KEY (id))"} {
			d.db.Exec(s)
		}
		store, _ := revstore.New(d.dia())
		store.Ensure(ctx, d.db)
		store.Write(ctx, d.db, &revstore.Revision{Version: "1", Type: revstore.TypeBaseline, Applied: 0, Total: 0, OperatorVersion: "Atlas CLI v0.32"})
		f := md.Files[1]
		store.Write(ctx, d.db, &revstore.Revision{Version: "2", Description: "posts", Type: revstore.TypeExecute,
			Applied: len(f.Stmts), Total: len(f.Stmts), Hash: strings.TrimPrefix(f.Sum, "h1:"), OperatorVersion: "Atlas CLI v0.32"})
		res := mustUpgrade(t, d, dir, Options{})
		if len(res.Files) != 1 || res.Files[0].Name != "3_tags.sql" {
			t.Errorf("after Atlas: %+v", res)
		}
	}, testserver.Except(testserver.Postgres, "the logic does not depend on the backend: covered on the others"), testserver.Except(testserver.MySQL, "the logic does not depend on the backend: covered on the others"))
}

// A non-transactional file that failed on its first statement may be
// renamed or removed: nothing of it ran, so its record is dropped.
func TestFailedFirstStatementFileMayBeRemoved(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(), basic[0], file{"2_bad.sql", noTx(d.dia()) + "INSERT INTO missing VALUES (1);\n"})
		if _, err := upgrade(t, d, dir, Options{}); err == nil {
			t.Fatal("want a failure")
		}
		os.Remove(filepath.Join(dir, "2_bad.sql"))
		addFiles(t, dir, file{"3_good.sql", "CREATE TABLE good (id int);\n"})
		res := mustUpgrade(t, d, dir, Options{})
		if len(res.Files) != 1 || res.Files[0].Name != "3_good.sql" || revision(t, d, "2") != nil {
			t.Errorf("after removing the failed file: %+v", res)
		}
	}, testserver.Except(testserver.Postgres, "the logic does not depend on the backend: covered on the others"))
}

// Scenario "A partially applied file edited", broadly: whatever happens to a partially applied file, an
// upgrade either resumes and finishes, or refuses; it never panics and
// never leaves the file pending after a success.
func TestPartialFileRandomEdits(t *testing.T) {
	t.Parallel()
	stmts := []string{"CREATE TABLE a (id int);", "CREATE TABLE b (id int);", "CREATE TABLE c (id int);", "CREATE TABLE d (id int);"}
	for seed := 0; seed < 16; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			d := newDB(t, "sqlite")
			// Statements 1-2 run, statement 3 fails.
			dir := writeDir(t, d.dia(), file{"1_a.sql", "-- atlas:txmode none\n\n" + stmts[0] + "\n" + stmts[1] + "\nINSERT INTO missing VALUES (1);\n"})
			if _, err := upgrade(t, d, dir, Options{}); err == nil {
				t.Fatal("want the failure")
			}
			// Edit: seed bits choose the new statement list.
			var body []string
			for i, s := range stmts {
				if seed&(1<<i) != 0 {
					body = append(body, s)
				}
			}
			if seed%3 == 0 && len(body) > 1 {
				body[0], body[1] = body[1], body[0]
			}
			addFiles(t, dir, file{"1_a.sql", "-- atlas:txmode none\n\n" + strings.Join(body, "\n") + "\n"})
			res, err := upgrade(t, d, dir, Options{})
			if err != nil {
				var r *Refusal
				if !errors.As(err, &r) || r.Kind != KindPartialChanged {
					t.Fatalf("body %q: want a resume or a partial-changed refusal, got %v", body, err)
				}
				return
			}
			if len(res.Files) != 1 {
				t.Fatalf("body %q: %+v", body, res)
			}
			if st, err := Status(context.Background(), d.db, d.u, dir); err != nil || !st.UpToDate() {
				t.Errorf("body %q: not up to date after success: %+v %v", body, st, err)
			}
			if !tableExists(t, d, "a") || !tableExists(t, d, "b") {
				t.Errorf("body %q: applied tables lost", body)
			}
		})
	}
}
