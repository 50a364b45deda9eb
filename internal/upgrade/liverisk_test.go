package upgrade

import (
	"testing"

	"entgo.io/ent/dialect"
	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// Scenarios "Table rewrites and scans" and "MySQL online DDL": a pending
// statement that blocks writes on, or rewrites, a table holding more rows
// than the limit is refused before anything runs, naming the statement,
// the table, its size and the safe way; a flag or a directive lets it run.
func TestBlockingDDLOnAPopulatedTableIsRefused(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		seed := "CREATE TABLE t (id int NOT NULL, v int NULL, PRIMARY KEY (id));\n" +
			"INSERT INTO t (id, v) SELECT g, g FROM generate_series(1, 200) AS g;\n"
		blocking := "ALTER TABLE t ALTER COLUMN v TYPE bigint;\n"
		if d.dia() == dialect.MySQL {
			seed = "CREATE TABLE t (id int NOT NULL, v int NULL, PRIMARY KEY (id));\n" +
				"INSERT INTO t (id, v) SELECT seq, seq FROM seq_1_to_200;\n"
			blocking = "ALTER TABLE t MODIFY COLUMN v bigint NULL;\n"
		}
		dir := writeDir(t, d.dia(), file{"1_t.sql", seed}, file{"2_other.sql", "CREATE TABLE u (id int NOT NULL, PRIMARY KEY (id));\n"},
			file{"3_widen.sql", blocking})
		mustUpgrade(t, d, dir, Options{To: "1"})

		_, err := upgrade(t, d, dir, Options{DevURL: devURL(d), BlockingMaxRows: 100})
		r := wantRefusal(t, err, KindBlocking, "3_widen.sql, statement 1 (line 1)", "t holds more than 100 rows", "--allow-blocking-ddl", "Expand and contract")
		if r.File != "3_widen.sql" {
			t.Errorf("refusal file = %q", r.File)
		}
		if st, _ := Status(t.Context(), d.db, d.u, dir); st.Current != "1" {
			t.Errorf("after the refusal the database is at %q, want 1: nothing may run", st.Current)
		}

		res, err := upgrade(t, d, dir, Options{DevURL: devURL(d), BlockingMaxRows: 100, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		type listed struct {
			Refusal string
			Rows    []int64
		}
		got := listed{Refusal: contains(res.BlockingRefusal, "3_widen.sql")}
		for _, b := range res.Blocking {
			got.Rows = append(got.Rows, b.Rows)
		}
		if diff := cmp.Diff(listed{"3_widen.sql", []int64{101}}, got); diff != "" {
			t.Errorf("dry run: want the statement listed with 101 rows counted and the refusal shown (-want +got):\n%s", diff)
		}

		// A limit above the table's size lets it run.
		res = mustUpgrade(t, d, dir, Options{DevURL: devURL(d), BlockingMaxRows: 1000, To: "2"})
		if res.After != "2" {
			t.Fatalf("after = %q", res.After)
		}
		if _, err := upgrade(t, d, dir, Options{DevURL: devURL(d), BlockingMaxRows: 100}); err == nil {
			t.Fatal("the refusal went away without a flag")
		}
		res = mustUpgrade(t, d, dir, Options{DevURL: devURL(d), BlockingMaxRows: 100, AllowBlockingDDL: true})
		if res.After != "3" {
			t.Errorf("with --allow-blocking-ddl: after = %q, want 3", res.After)
		}
	}, testserver.Except(testserver.SQLite, "one writer at a time: no statement blocks the application's writes longer than itself"))
}

// A statement marked intended (`-- atlas:nolint` with the rule's code or
// "live") is the operator's decision: it runs.
func TestBlockingDDLMarkedIntendedRuns(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(),
			file{"1_t.sql", "CREATE TABLE t (id int PRIMARY KEY, v int);\nINSERT INTO t SELECT g, g FROM generate_series(1, 50) AS g;\n"},
			file{"2_ix.sql", "-- atlas:nolint WL101\nCREATE INDEX t_v ON t (v);\n"})
		mustUpgrade(t, d, dir, Options{To: "1"})
		if res := mustUpgrade(t, d, dir, Options{DevURL: devURL(d), BlockingMaxRows: 10}); res.After != "2" {
			t.Errorf("after = %q, want 2", res.After)
		}
	}, testserver.Except(testserver.SQLite, "one writer at a time: no statement blocks the application's writes longer than itself"), testserver.Except(testserver.MySQL, "the directive is read the same way on every server: covered on PostgreSQL"))
}
