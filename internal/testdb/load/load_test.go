package load

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

func TestWindowCountsTheQueriesThatOverlapIt(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	qs := []Query{
		{Start: t0, Took: 5 * ms},                                    // before the window
		{Start: t0.Add(8 * ms), Took: 4 * ms},                        // overlaps its start
		{Start: t0.Add(15 * ms), Took: 100 * ms, Write: true},        // inside, the worst
		{Start: t0.Add(20 * ms), Took: 1 * ms, Err: errors.New("x")}, // inside, failed
		{Start: t0.Add(60 * ms), Took: 1 * ms},                       // after
	}
	s := Window(qs, t0.Add(10*ms), t0.Add(50*ms))
	if diff := cmp.Diff(Stats{N: 3, Errors: 1, P50: 4 * ms, P99: s.P99, Max: 100 * ms}, s); diff != "" {
		t.Errorf("Window: want 3 queries, 1 error, worst 100ms, p50 4ms (-want +got):\n%s", diff)
	}
	if s := Window(qs, t0.Add(time.Hour), t0.Add(2*time.Hour)); s.N != 0 || s.Max != 0 {
		t.Errorf("an empty window = %+v", s)
	}
}

func TestTrafficReadsAndWrites(t *testing.T) {
	t.Parallel()
	db, u := testserver.NewEmpty(t, testserver.Lookup(t, "sqlite"), nil)
	for _, q := range []string{"CREATE TABLE traffic (id integer PRIMARY KEY, v integer)",
		"INSERT INTO traffic (id, v) VALUES (1, 0), (2, 0), (3, 0)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	l := Start(context.Background(), Config{DB: db, Dialect: u.Dialect, Table: "traffic", Key: "id", Column: "v", Rows: 3, Workers: 2, Pause: time.Millisecond})
	time.Sleep(100 * time.Millisecond)
	qs := l.Stop()
	var reads, writes int
	for _, q := range qs {
		if q.Err != nil {
			t.Fatalf("query failed: %v", q.Err)
		}
		if q.Write {
			writes++
		} else {
			reads++
		}
	}
	if reads == 0 || writes == 0 {
		t.Errorf("traffic made %d reads and %d writes, want both", reads, writes)
	}
	var sum int
	if err := db.QueryRow("SELECT SUM(v) FROM traffic").Scan(&sum); err != nil || sum == 0 {
		t.Errorf("the writes changed nothing: sum %d, %v", sum, err)
	}
}
