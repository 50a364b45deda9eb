package upgrade

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// seedRows is a statement filling t(id, v, n) with ids 1..count, generated
// inside the server.
func seedRows(dia string, count int) string {
	switch dia {
	case dialect.Postgres:
		return "INSERT INTO t (id, v, n) SELECT g, g, 0 FROM generate_series(1, " + strconv.Itoa(count) + ") AS g;\n"
	case dialect.MySQL:
		return "INSERT INTO t (id, v, n) SELECT seq, seq, 0 FROM seq_1_to_" + strconv.Itoa(count) + ";\n"
	}
	return "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < " + strconv.Itoa(count) + ") INSERT INTO t (id, v, n) SELECT i, i, 0 FROM g;\n"
}

func batchDir(t *testing.T, d *tdb, rows int) string {
	return writeDir(t, d.dia(),
		file{"1_t.sql", "CREATE TABLE t (id int NOT NULL, v int NOT NULL, n int NOT NULL, w int NULL, PRIMARY KEY (id));\n" + seedRows(d.dia(), rows)},
		file{"2_backfill.sql", "-- atlas:txmode none\n\n-- weber:batch t.id 100\nUPDATE t SET w = v * 2, n = n + 1 WHERE id BETWEEN {lo} AND {hi};\n"})
}

// Scenario "Batched backfill": a data change over many rows runs in bounded
// batches, each its own transaction, with progress reported.
func TestBatchedStatementRunsInBatches(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := batchDir(t, d, 1000)
		var events []BatchEvent
		res := mustUpgrade(t, d, dir, Options{OnBatch: func(ev BatchEvent) { events = append(events, ev) }})
		if res.After != "2" {
			t.Fatalf("after = %q", res.After)
		}
		var got, want []string
		for i, e := range events {
			got = append(got, fmt.Sprintf("through %d, %d rows in all", e.Through, e.Rows))
			want = append(want, fmt.Sprintf("through %d, %d rows in all", (i+1)*100, (i+1)*100))
		}
		if len(want) != 10 {
			t.Errorf("%d batches, want 10 of 100 keys", len(events))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("batches (-want +got):\n%s", diff)
		}
		var bad int
		if err := d.db.QueryRow("SELECT COUNT(*) FROM t WHERE w IS NULL OR w <> v * 2 OR n <> 1").Scan(&bad); err != nil || bad != 0 {
			t.Errorf("%d rows not backfilled exactly once (%v)", bad, err)
		}
	})
}

// Stopped after three batches, the next upgrade resumes after the last
// committed batch: every row is changed exactly once, even by a statement
// that is not idempotent (n = n + 1).
func TestBatchedStatementResumesAfterTheLastCommittedBatch(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := batchDir(t, d, 1000)
		mustUpgrade(t, d, dir, Options{To: "1"})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := Upgrade(ctx, d.db, d.u, dir, Options{OnBatch: func(ev BatchEvent) {
			if ev.Batches == 3 {
				cancel()
			}
		}})
		if err == nil || !strings.Contains(err.Error(), "the next upgrade resumes there") {
			t.Fatalf("stopped upgrade = %v, want a stop that says it resumes", err)
		}
		st, err := Status(context.Background(), d.db, d.u, dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Partial == nil || !strings.Contains(st.Partial.Progress, "done through key 300") || st.Partial.Error != "" {
			t.Fatalf("status partial = %+v; want progress through key 300 and no error", st.Partial)
		}
		var first BatchEvent
		mustUpgrade(t, d, dir, Options{OnBatch: func(ev BatchEvent) {
			if first.Batches == 0 {
				first = ev
			}
		}})
		if first.Through != 400 {
			t.Errorf("the resumed run's first batch ended at key %d, want 400", first.Through)
		}
		var once, total int
		if err := d.db.QueryRow("SELECT SUM(CASE WHEN n = 1 AND w = v * 2 THEN 1 ELSE 0 END), COUNT(*) FROM t").Scan(&once, &total); err != nil || once != 1000 || total != 1000 {
			t.Errorf("%d of %d rows changed exactly once (%v); want all 1000", once, total, err)
		}
	})
}
