package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/fleet"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// sqliteFleet makes n SQLite files in a temp folder and returns their
// targets.
func sqliteFleet(t *testing.T, n int) []fleet.Target {
	t.Helper()
	dir := t.TempDir()
	var out []fleet.Target
	for i := range n {
		tg, err := fleet.NewTarget(fmt.Sprintf("sqlite://%s/tenant_%02d.db", dir, i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dbconn.CreateSQLiteFile(tg.URL); err != nil {
			t.Fatal(err)
		}
		out = append(out, tg)
	}
	return out
}

// stamp is a real operation: it records the target's name in a table of
// its own database, and fails on the targets named in fail.
func stamp(fail ...string) fleet.Op {
	return func(ctx context.Context, t fleet.Target) (fleet.Result, error) {
		for _, f := range fail {
			if strings.Contains(t.Name, f) {
				return fleet.Result{}, fmt.Errorf("tenant %s is broken\n  (second line)", f)
			}
		}
		db, err := dbconn.Open(ctx, t.URL)
		if err != nil {
			return fleet.Result{}, err
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS stamped (name TEXT)"); err != nil {
			return fleet.Result{}, err
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO stamped (name) VALUES (?)", t.Name); err != nil {
			return fleet.Result{}, err
		}
		return fleet.Result{Version: "1", Detail: "stamped"}, nil
	}
}

// stamps counts the rows stamp wrote in the target's database.
func stamps(t *testing.T, tg fleet.Target) int {
	t.Helper()
	db, err := dbconn.Open(context.Background(), tg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM stamped").Scan(&n); err != nil {
		return 0 // no table: never stamped
	}
	return n
}

func statuses(r fleet.Report) []fleet.Status {
	var out []fleet.Status
	for _, o := range r.Outcomes {
		out = append(out, o.Status)
	}
	return out
}

func TestRunStampsEveryTarget(t *testing.T) {
	targets := sqliteFleet(t, 50)
	var calls atomic.Int32
	rep, err := fleet.Run(context.Background(), targets, stamp(), fleet.Options{
		Parallel: 8,
		Progress: func(fleet.Outcome, fleet.Report) { calls.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if n := stamps(t, tg); n != 1 {
			t.Errorf("%s stamped %d times, want once", tg.Name, n)
		}
	}
	if calls.Load() != 50 {
		t.Errorf("Progress called %d times, want once per target (50)", calls.Load())
	}
}

func TestRunStopsOnTheFirstFailure(t *testing.T) {
	targets := sqliteFleet(t, 6)
	rep, _ := fleet.Run(context.Background(), targets, stamp("tenant_02"), fleet.Options{Parallel: 1})
	want := []fleet.Status{fleet.OK, fleet.OK, fleet.Failed, fleet.NotStarted, fleet.NotStarted, fleet.NotStarted}
	if diff := cmp.Diff(want, statuses(rep)); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s", diff)
	}
	if rep.Stopped != "a target failed" {
		t.Errorf("Stopped = %q", rep.Stopped)
	}
	if got := rep.Outcomes[2].Err; got != "tenant tenant_02 is broken (second line)" {
		t.Errorf("Err = %q: want the error on one line", got)
	}
	if n := stamps(t, targets[4]); n != 0 {
		t.Errorf("a target after the failure ran")
	}
	err := rep.Err()
	if err == nil || !strings.Contains(err.Error(), "1 of 6 targets failed and 3 were not started") {
		t.Errorf("Err() = %v", err)
	}
}

func TestRunKeepGoingRunsTheRest(t *testing.T) {
	targets := sqliteFleet(t, 5)
	rep, _ := fleet.Run(context.Background(), targets, stamp("tenant_01"), fleet.Options{Parallel: 2, KeepGoing: true})
	want := []fleet.Status{fleet.OK, fleet.Failed, fleet.OK, fleet.OK, fleet.OK}
	if diff := cmp.Diff(want, statuses(rep)); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s", diff)
	}
}

func TestCanaryFailureStopsEvenWhenKeepingGoing(t *testing.T) {
	targets := sqliteFleet(t, 5)
	rep, _ := fleet.Run(context.Background(), targets, stamp("tenant_01"), fleet.Options{Canary: 2, KeepGoing: true})
	want := []fleet.Status{fleet.OK, fleet.Failed, fleet.NotStarted, fleet.NotStarted, fleet.NotStarted}
	if diff := cmp.Diff(want, statuses(rep)); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s", diff)
	}
	if rep.Stopped != "the canary failed" || !rep.Outcomes[0].Canary || rep.Outcomes[2].Canary {
		t.Errorf("Stopped = %q, canary flags %v %v", rep.Stopped, rep.Outcomes[0].Canary, rep.Outcomes[2].Canary)
	}
}

// The canary runs alone: no other target starts before it has finished.
func TestCanaryRunsAlone(t *testing.T) {
	targets := sqliteFleet(t, 6)
	var mu sync.Mutex
	var order []string
	running := atomic.Int32{}
	op := func(ctx context.Context, tg fleet.Target) (fleet.Result, error) {
		if n := running.Add(1); n > 1 && strings.Contains(tg.Name, "tenant_00") {
			t.Errorf("the canary ran beside %d others", n-1)
		}
		defer running.Add(-1)
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		order = append(order, filepath.Base(tg.Name))
		mu.Unlock()
		return fleet.Result{}, nil
	}
	if _, err := fleet.Run(context.Background(), targets, op, fleet.Options{Canary: 1, Parallel: 4}); err != nil {
		t.Fatal(err)
	}
	if len(order) != 6 || order[0] != "tenant_00.db" {
		t.Fatalf("order = %v: want the canary tenant_00.db first, then the 5 others", order)
	}
}

// A stop (SIGINT cancels the context) starts no new target, and the
// running ones finish with a context that was not cancelled.
func TestStopLetsRunningTargetsFinish(t *testing.T) {
	targets := sqliteFleet(t, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	op := func(opCtx context.Context, tg fleet.Target) (fleet.Result, error) {
		started <- struct{}{}
		<-release
		if opCtx.Err() != nil {
			return fleet.Result{}, errors.New("the running target saw the stop")
		}
		return stamp()(opCtx, tg)
	}
	done := make(chan fleet.Report)
	go func() {
		rep, _ := fleet.Run(ctx, targets, op, fleet.Options{Parallel: 3})
		done <- rep
	}()
	for range 3 {
		<-started
	}
	cancel()
	close(release)
	rep := <-done
	if got := rep.Count(fleet.OK); got != 3 {
		t.Errorf("%d targets OK, want the 3 that were running: %v", got, statuses(rep))
	}
	if got := rep.Count(fleet.NotStarted); got != 7 {
		t.Errorf("%d targets not started, want 7", got)
	}
	if rep.Stopped != "interrupted" {
		t.Errorf("Stopped = %q, want interrupted", rep.Stopped)
	}
}

func TestDoneTargetsAreSkipped(t *testing.T) {
	targets := sqliteFleet(t, 4)
	done := map[string]bool{targets[0].Name: true, targets[2].Name: true}
	rep, _ := fleet.Run(context.Background(), targets, stamp(), fleet.Options{Done: done})
	want := []fleet.Status{fleet.Skipped, fleet.OK, fleet.Skipped, fleet.OK}
	if diff := cmp.Diff(want, statuses(rep)); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s", diff)
	}
	if stamps(t, targets[0]) != 0 || stamps(t, targets[1]) != 1 {
		t.Error("a skipped target ran, or a pending one did not")
	}
	if rep.Err() != nil {
		t.Errorf("Err() = %v, want nil: skipped targets are done", rep.Err())
	}
}

func TestReadSkipsCommentsAndDuplicates(t *testing.T) {
	in := "# tenants\n\nsqlite://a.db\n  sqlite://b.db  \nsqlite://a.db\n"
	ts, err := fleet.Read(strings.NewReader(in), "targets.txt")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range ts {
		names = append(names, tg.Name)
	}
	if diff := cmp.Diff([]string{"sqlite://a.db", "sqlite://b.db"}, names); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	_, err = fleet.Read(strings.NewReader("sqlite://a.db\nnot a url\n"), "targets.txt")
	if err == nil || !strings.HasPrefix(err.Error(), "targets.txt line 2: ") {
		t.Errorf("err = %v, want it to name the line", err)
	}
}

func TestReadNeverPrintsThePassword(t *testing.T) {
	ts, err := fleet.List([]string{"postgres://app:s3cret-pw@db.internal/t1,postgres://app:s3cret-pw@db.internal/t2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range ts {
		if strings.Contains(tg.Name, "s3cret-pw") {
			t.Errorf("target name %q holds the password", tg.Name)
		}
	}
	if len(ts) != 2 {
		t.Errorf("%d targets, want 2", len(ts))
	}
}

func TestMatchSQLiteFiles(t *testing.T) {
	targets := sqliteFleet(t, 3)
	dir := filepath.Dir(targets[0].URL.Database)
	got, err := fleet.Match(context.Background(), "sqlite://"+dir+"/tenant_*.db")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Name != targets[0].Name || got[2].Name != targets[2].Name {
		t.Errorf("Match = %v, want the 3 files in order", got)
	}
	_, err = fleet.Match(context.Background(), "sqlite://"+dir+"/nothing_*.db")
	if err == nil || !strings.Contains(err.Error(), "no database matches") {
		t.Errorf("err = %v, want a no-match error", err)
	}
	_, err = fleet.Match(context.Background(), "sqlite://"+dir+"/tenant_00.db")
	if err == nil || !strings.Contains(err.Error(), "has no * in its database name") {
		t.Errorf("err = %v, want a no-star error", err)
	}
}

// On a server the pattern matches the databases the server lists, and
// nothing else.
func TestMatchServerDatabases(t *testing.T) {
	for _, name := range []string{"postgres", "mysql"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := testserver.Lookup(t, name)
			stem := testserver.NewName()
			var want []string
			for i := range 3 {
				_, u := testserver.NewEmpty(t, b, &testserver.Options{Name: fmt.Sprintf("%s_t%d", stem, i)})
				want = append(want, u.Redacted())
			}
			_, other := testserver.NewEmpty(t, b, &testserver.Options{Name: stem + "x"})
			pattern, err := b.URLOf(stem + "_t*")
			if err != nil {
				t.Fatal(err)
			}
			got, err := fleet.Match(context.Background(), pattern)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tg := range got {
				names = append(names, tg.Name)
			}
			slices.Sort(want)
			if diff := cmp.Diff(want, names); diff != "" {
				t.Errorf("Match (-want +got):\n%s", diff)
			}
			if slices.Contains(names, other.Redacted()) {
				t.Errorf("Match listed %s, which the pattern does not match", other.Redacted())
			}
		})
	}
}
