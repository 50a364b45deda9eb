package testdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/revstore"
	"github.com/weber-framework/weber/internal/testdb/histgen"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"github.com/weber-framework/weber/internal/upgrade"
)

// benchTB collects a New's clean-ups so that the benchmark runs them after
// each iteration instead of at the end of the run.
type benchTB struct {
	testing.TB
	cleanups []func()
}

func (b *benchTB) Cleanup(fn func()) { b.cleanups = append(b.cleanups, fn) }
func (b *benchTB) run()              { runLIFO(b.cleanups) }

// checkReady runs a first query on the database and checks that the whole
// history is recorded.
func checkReady(b *testing.B, q func(context.Context, string, ...any) interface{ Scan(...any) error }, files int) {
	b.Helper()
	var n int
	if err := q(context.Background(), "SELECT COUNT(*) FROM "+revstore.Table).Scan(&n); err != nil || n != files {
		b.Fatalf("revision table: %d rows (%v), want %d", n, err, files)
	}
}

// BenchmarkNew measures the time to get an isolated, migrated database
// ready for its first query through New, on every configured backend, for
// histories of 1 and of 50 files (histgen: tables with an index and a
// foreign key, and added columns), against replaying the history into a
// new database per test (testdb v1's method) in the same run: as many
// replays, after New's loop (interleaved, the garbage each replay leaves
// would be collected during the next New). Reported as new-ms/op and
// replay-ms/op; drop-ms/op is New's clean-up (dropping a server database),
// outside both; intx-ms/op is New with InTx while another InTx test holds
// the shared database. The template is built before the timer.
func BenchmarkNew(b *testing.B) {
	roots := map[int]string{}
	for _, n := range []int{1, 50} {
		roots[n] = b.TempDir()
		for folder, dia := range map[string]string{"sqlite": "sqlite3", "postgres": "postgres", "mysql": "mysql"} {
			dir := filepath.Join(roots[n], folder)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			if err := histgen.Write(dir, dia, n); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, be := range Backends() {
		for _, n := range []int{1, 50} {
			b.Run(fmt.Sprintf("%s/files=%d", be.Name, n), func(b *testing.B) {
				benchNew(b, be, roots[n], n)
			})
		}
	}
}

func benchNew(b *testing.B, be Backend, root string, files int) {
	opts := []Option{OnBackend(be), Migrations(root)}
	dir, err := historyDir(root, be.Name)
	if err != nil || dir == "" {
		b.Fatalf("no %s history under %q (%v)", be.Name, root, err)
	}
	if n, _ := filepath.Glob(filepath.Join(dir, "*.sql")); len(n) != files {
		b.Fatalf("%s holds %d files, want %d", dir, len(n), files)
	}
	// Build (or find) the template before timing.
	warm := &benchTB{TB: b}
	New(warm, opts...)
	warm.run()
	var holder *benchTB
	if be.URL != "" {
		holder = &benchTB{TB: b}
		New(holder, append(opts, InTx())...)
	}
	var fast, replay, drop, intx time.Duration
	iters := 0
	for b.Loop() {
		iters++
		tb := &benchTB{TB: b}
		start := time.Now()
		db := New(tb, opts...)
		checkReady(b, func(ctx context.Context, q string, a ...any) interface{ Scan(...any) error } {
			return db.SQL.QueryRowContext(ctx, q, a...)
		}, files)
		fast += time.Since(start)
		start = time.Now()
		tb.run()
		drop += time.Since(start)

		if holder != nil {
			tb := &benchTB{TB: b}
			start := time.Now()
			db := New(tb, append(opts, InTx())...)
			checkReady(b, func(ctx context.Context, q string, a ...any) interface{ Scan(...any) error } {
				return db.Tx.QueryRowContext(ctx, q, a...)
			}, files)
			intx += time.Since(start)
			tb.run()
		}
	}
	// The replays run after New's loop, in the same run: interleaved, the
	// garbage each replay leaves is collected during the next New.
	for range iters {
		replay += replayOnce(b, be, dir, files)
	}
	if holder != nil {
		holder.run()
		b.ReportMetric(ms(intx, iters), "intx-ms/op")
	}
	b.ReportMetric(ms(fast, iters), "new-ms/op")
	b.ReportMetric(ms(replay, iters), "replay-ms/op")
	b.ReportMetric(ms(drop, iters), "drop-ms/op")
}

// replayOnce is the per-test replay: a new database (an in-memory one for
// SQLite, a weber_test_ database on a server), the history through
// upgrade.Upgrade, the first query. Dropping is outside the time.
func replayOnce(b *testing.B, be Backend, dir string, files int) time.Duration {
	ctx := context.Background()
	name := testserver.NewName()
	start := time.Now()
	var u *dbconn.URL
	var err error
	if be.URL == "" {
		u, err = dbconn.Parse("sqlite://:memory:?_name=" + name)
	} else {
		var base *dbconn.URL
		if base, err = dbconn.Parse(be.URL); err == nil {
			u = base.WithDatabase(name)
			_, err = dbconn.EnsureDatabase(ctx, u)
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	db, err := dbconn.Open(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := upgrade.Upgrade(ctx, db, u, dir, upgrade.Options{}); err != nil {
		b.Fatal(err)
	}
	checkReady(b, func(ctx context.Context, q string, a ...any) interface{ Scan(...any) error } {
		return db.QueryRowContext(ctx, q, a...)
	}, files)
	took := time.Since(start)
	db.Close()
	if be.URL != "" {
		if _, err := dbconn.DropDatabase(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	return took
}

func ms(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / 1000 / float64(n)
}
