package revstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/envmark"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		ctx := context.Background()
		db, u := testserver.NewEmpty(t, b, nil)
		s, err := New(u.Dialect)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Exists(ctx, db); err != nil || ok {
			t.Fatalf("exists before ensure: %v %v", ok, err)
		}
		for i := 0; i < 2; i++ { // idempotent
			if err := s.Ensure(ctx, db); err != nil {
				t.Fatal(err)
			}
		}
		if ok, _ := s.Exists(ctx, db); !ok {
			t.Fatal("table missing after Ensure")
		}
		at := time.Date(2026, 11, 27, 1, 2, 3, 456789000, time.UTC)
		partial := &Revision{Version: "10", Description: "ten", Type: TypeExecute, Applied: 1, Total: 3,
			ExecutedAt: at, ExecutionTime: 1500 * time.Microsecond, Error: "boom", ErrorStmt: "INSERT INTO x VALUES (1);",
			Hash: "h1:abc", PartialHashes: []string{"h1:p1"}, OperatorVersion: "weber test"}
		done := &Revision{Version: "9", Description: "nine", Type: TypeBaseline, Applied: 2, Total: 2, ExecutedAt: at, Hash: "h1:def", OperatorVersion: "weber"}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []*Revision{partial, done} {
			if err := s.Write(ctx, tx, r); err != nil {
				t.Fatal(err)
			}
		}
		// The Atlas CLI's identity row is not a migration.
		if err := s.Write(ctx, tx, &Revision{Version: ".atlas_cleanup", Description: "id", Hash: ""}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		revs, err := s.ReadAll(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(revs) != 2 || revs[0].Version != "9" || revs[1].Version != "10" {
			t.Fatalf("order by numeric version: %+v", revs)
		}
		got := revs[1]
		sameTime := cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
		if diff := cmp.Diff(partial, got, sameTime); diff != "" || got.Done() {
			t.Errorf("partial revision read back (-want +got):\n%s(done: %v)", diff, got.Done())
		}
		if diff := cmp.Diff(done, revs[0], sameTime); diff != "" || !revs[0].Done() {
			t.Errorf("baseline revision read back (-want +got):\n%s(done: %v)", diff, revs[0].Done())
		}
		// Update in place (upsert).
		partial.Applied, partial.Error, partial.ErrorStmt, partial.PartialHashes = 3, "", "", nil
		if err := s.Write(ctx, db, partial); err != nil {
			t.Fatal(err)
		}
		// A rolled-back write leaves nothing.
		tx, _ = db.BeginTx(ctx, nil)
		s.Write(ctx, tx, &Revision{Version: "11", Hash: "h1:x", Type: TypeExecute})
		tx.Rollback()
		revs, _ = s.ReadAll(ctx, db)
		if len(revs) != 2 || !revs[1].Done() || revs[1].PartialHashes != nil {
			t.Errorf("after upsert and rollback: %+v", revs)
		}
		if err := s.Delete(ctx, db, "10"); err != nil {
			t.Fatal(err)
		}
		if revs, _ = s.ReadAll(ctx, db); len(revs) != 1 {
			t.Errorf("after delete: %d revisions", len(revs))
		}
	})
}

func TestTables(t *testing.T) {
	t.Parallel()
	if !slices.Equal(Tables(), []string{"atlas_schema_revisions", envmark.Table}) || !IsOwnTable(envmark.Table) || IsOwnTable("users") {
		t.Error(Tables())
	}
	if _, err := New("oracle"); err == nil {
		t.Error("oracle accepted")
	}
}
