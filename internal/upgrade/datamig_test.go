package upgrade

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/go-cmp/cmp"

	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// goDir is a folder whose second file runs the Go data migration "double"
// over t (1000 rows); the table is created by the first file.
func goDir(t *testing.T, d *tdb) string {
	return writeDir(t, d.dia(),
		file{"1_t.sql", "CREATE TABLE t (id int NOT NULL, v int NOT NULL, n int NOT NULL, w int NULL, PRIMARY KEY (id));\n" + seedRows(d.dia(), 1000)},
		file{"2_double.sql", "-- weber:go double\n-- weber:touches t.w, t.n\n\n"})
}

// doubling is a Go data migration over t: w = v * 2 and n = n + 1 (not
// idempotent, so a batch that ran twice shows), 100 rows a batch; fail,
// when set, is called before each batch and may make it fail.
func doubling(fail func(after int64) error) map[string]DataMigration {
	batch := func(ctx context.Context, b DataBatch) (DataBatchDone, error) {
		if fail != nil {
			if err := fail(b.After); err != nil {
				return DataBatchDone{}, err
			}
		}
		var rows entsql.Rows
		if err := b.Driver.Query(ctx, fmt.Sprintf("SELECT id FROM t WHERE id > %d ORDER BY id LIMIT %d", b.After, b.Size), []any{}, &rows); err != nil {
			return DataBatchDone{}, err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return DataBatchDone{}, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		done := DataBatchDone{Through: b.After, Done: len(ids) < b.Size}
		if len(ids) == 0 {
			return done, nil
		}
		done.Through = ids[len(ids)-1]
		var res sql.Result
		q := fmt.Sprintf("UPDATE t SET w = v * 2, n = n + 1 WHERE id > %d AND id <= %d", b.After, done.Through)
		if err := b.Driver.Exec(ctx, q, []any{}, &res); err != nil {
			return DataBatchDone{}, err
		}
		done.Rows, _ = res.RowsAffected()
		return done, nil
	}
	return map[string]DataMigration{"double": {BatchSize: 100, Batch: batch}}
}

// changedOnce counts the rows of t changed exactly once, and all rows.
func changedOnce(t *testing.T, d *tdb) (once, total int) {
	t.Helper()
	if err := d.db.QueryRow("SELECT SUM(CASE WHEN n = 1 AND w = v * 2 THEN 1 ELSE 0 END), COUNT(*) FROM t").Scan(&once, &total); err != nil {
		t.Fatal(err)
	}
	return once, total
}

// A Go data migration runs in batches of its size, each its own
// transaction with its progress, and its revision reads as applied.
func TestGoDataMigrationRunsInBatches(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := goDir(t, d)
		var got []string
		res := mustUpgrade(t, d, dir, Options{DataMigrations: doubling(nil), OnBatch: func(ev BatchEvent) {
			got = append(got, fmt.Sprintf("%s through %d, %d rows, done %v", ev.Go, ev.Through, ev.Rows, ev.Done))
		}})
		var want []string
		for i := 1; i <= 10; i++ {
			want = append(want, fmt.Sprintf("double through %d, %d rows, done false", i*100, i*100))
		}
		want = append(want, "double through 1000, 1000 rows, done true")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("batches (-want +got):\n%s", diff)
		}
		if res.After != "2" {
			t.Errorf("after = %q, want 2", res.After)
		}
		if once, total := changedOnce(t, d); once != 1000 || total != 1000 {
			t.Errorf("%d of %d rows changed exactly once; want all 1000", once, total)
		}
		r := revision(t, d, "2")
		if !r.Done() || r.Applied != 1 || r.Total != 1 {
			t.Errorf("revision = applied %d of %d, error %q; want applied 1 of 1", r.Applied, r.Total, r.Error)
		}
	})
}

// Scenario "Batched backfill killed": stopped after three batches (as kill
// -9 would: the third committed, nothing after it), the next upgrade
// resumes after the last committed batch, status says where it stands,
// and every row is changed exactly once.
func TestGoDataMigrationResumesAfterTheLastCommittedBatch(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := goDir(t, d)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := Upgrade(ctx, d.db, d.u, dir, Options{DataMigrations: doubling(nil), OnBatch: func(ev BatchEvent) {
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
		if st.Partial == nil || st.Partial.Progress != "data migration double is done through key 300; the next upgrade resumes after it" || st.Partial.Error != "" {
			t.Fatalf("status partial = %+v; want progress through key 300 and no error", st.Partial)
		}
		var first BatchEvent
		mustUpgrade(t, d, dir, Options{DataMigrations: doubling(nil), OnBatch: func(ev BatchEvent) {
			if first.Batches == 0 {
				first = ev
			}
		}})
		if first.Through != 400 {
			t.Errorf("the resumed run's first batch ended at key %d, want 400", first.Through)
		}
		if once, total := changedOnce(t, d); once != 1000 || total != 1000 {
			t.Errorf("%d of %d rows changed exactly once; want all 1000", once, total)
		}
	})
}

// A batch that fails rolls back alone: the batches before it stay
// committed and recorded, and the next upgrade resumes after them.
func TestGoDataMigrationFailedBatchRollsBackAlone(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := goDir(t, d)
		boom := errors.New("boom")
		_, err := upgrade(t, d, dir, Options{DataMigrations: doubling(func(after int64) error {
			if after == 500 {
				return boom
			}
			return nil
		})})
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "the batch after key 500") || !strings.Contains(err.Error(), "resumes after key 500") {
			t.Fatalf("upgrade = %v; want boom in the batch after key 500, resuming there", err)
		}
		if once, total := changedOnce(t, d); once != 500 || total != 1000 {
			t.Errorf("%d of %d rows changed after the failure; want the 500 of the committed batches", once, total)
		}
		mustUpgrade(t, d, dir, Options{DataMigrations: doubling(nil)})
		if once, total := changedOnce(t, d); once != 1000 || total != 1000 {
			t.Errorf("%d of %d rows changed exactly once; want all 1000", once, total)
		}
	})
}

// A pending Go data migration the binary does not have is refused before
// anything runs, naming the ones it has.
func TestGoDataMigrationNotRegisteredIsRefused(t *testing.T) {
	t.Parallel()
	d := newDB(t, "sqlite")
	dir := goDir(t, d)
	_, err := upgrade(t, d, dir, Options{DataMigrations: map[string]DataMigration{"other": doubling(nil)["double"]}})
	wantRefusal(t, err, KindDataMigration, `runs the Go data migration "double", which this binary does not have (it has: other)`, "nothing was applied")
	if tableExists(t, d, "t") {
		t.Error("the first file ran although the upgrade was refused")
	}
}

// A batch that neither moves its key forward nor says it is done would run
// forever: it is stopped and rolled back.
func TestGoDataMigrationThatDoesNotAdvanceIsStopped(t *testing.T) {
	t.Parallel()
	d := newDB(t, "sqlite")
	dir := goDir(t, d)
	stuck := map[string]DataMigration{"double": {Batch: func(context.Context, DataBatch) (DataBatchDone, error) {
		return DataBatchDone{Through: 0}, nil
	}}}
	_, err := upgrade(t, d, dir, Options{DataMigrations: stuck})
	checkMessage(t, err, "not past 0, and not Done: it would run forever")
}
