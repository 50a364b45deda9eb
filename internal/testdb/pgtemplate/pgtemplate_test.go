package pgtemplate_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/histgen"
	"github.com/weber-framework/weber/internal/testdb/pgtemplate"
	"github.com/weber-framework/weber/internal/testdb/schemakey"
	"github.com/weber-framework/weber/internal/testdb/templates"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"github.com/weber-framework/weber/internal/upgrade"
)

func serverURL(tb testing.TB) *dbconn.URL {
	tb.Helper()
	raw := testserver.Lookup(tb, testserver.Postgres).URL // a named skip; a failure under CI=true
	u, err := dbconn.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// server opens a Server in a namespace of its own, so that tests running
// at the same time never clean up each other's templates, and drops the
// namespace's templates at the end.
func server(tb testing.TB) *pgtemplate.Server {
	tb.Helper()
	ctx := context.Background()
	s, err := pgtemplate.Open(ctx, serverURL(tb), pgtemplate.Options{Namespace: dbconn.RandomName("test-")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.DropTemplates(ctx); err != nil {
			tb.Error(err)
		}
		s.Close()
	})
	return s
}

func history(tb testing.TB, n int) (string, string) {
	tb.Helper()
	dir := tb.TempDir()
	if err := histgen.Write(dir, dialect.Postgres, n); err != nil {
		tb.Fatal(err)
	}
	key, err := schemakey.Dir(dir, "postgres")
	if err != nil {
		tb.Fatal(err)
	}
	return dir, key
}

func replay(dir string) templates.MigrateFunc {
	return func(ctx context.Context, db *sql.DB, _ *dbconn.URL) error {
		return histgen.Apply(ctx, db, dialect.Postgres, dir)
	}
}

// upgradeBuild replays dir with the real engine, as production does.
func upgradeBuild(dir string) templates.MigrateFunc {
	return func(ctx context.Context, db *sql.DB, u *dbconn.URL) error {
		_, err := upgrade.Upgrade(ctx, db, u, dir, upgrade.Options{})
		return err
	}
}

// clone clones the template, opens it, and drops it at the end.
func clone(t *testing.T, s *pgtemplate.Server, tpl string) (*sql.DB, string) {
	t.Helper()
	ctx := context.Background()
	name, err := s.Clone(ctx, tpl)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, pgtemplate.ClonePrefix) {
		t.Fatalf("clone named %q, want the %s prefix", name, pgtemplate.ClonePrefix)
	}
	db, err := dbconn.Open(ctx, s.URL(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		if err := s.Drop(ctx, name); err != nil {
			t.Error(err)
		}
	})
	return db, name
}

func databases(t *testing.T, s *pgtemplate.Server, prefix string) map[string]bool {
	t.Helper()
	db, err := dbconn.OpenServer(context.Background(), s.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out[n] = true
	}
	return out
}

func TestEnsureBuildsOnceAcrossPools(t *testing.T) {
	t.Parallel()
	u := serverURL(t)
	ctx := context.Background()
	dir, key := history(t, 3)
	ns := dbconn.RandomName("test-")
	// Two Servers with separate pools stand for two test processes.
	var servers []*pgtemplate.Server
	for range 2 {
		s, err := pgtemplate.Open(ctx, u, pgtemplate.Options{Namespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		servers = append(servers, s)
	}
	defer servers[0].DropTemplates(ctx)
	var builds atomic.Int32
	build := func(ctx context.Context, db *sql.DB, u *dbconn.URL) error {
		builds.Add(1)
		time.Sleep(50 * time.Millisecond) // widen the race window
		return replay(dir)(ctx, db, u)
	}
	var wg sync.WaitGroup
	names := make([]string, 6)
	errs := make([]error, 6)
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			names[i], errs[i] = servers[i%2].Ensure(ctx, templates.Migrator{Hash: key, Migrate: build})
		}()
	}
	wg.Wait()
	for i := range names {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if names[i] != names[0] {
			t.Fatalf("callers got templates %q and %q for one key", names[0], names[i])
		}
	}
	if n := builds.Load(); n != 1 {
		t.Fatalf("build ran %d times, want once", n)
	}
	if !strings.HasPrefix(names[0], pgtemplate.TemplatePrefix) {
		t.Fatalf("template named %q", names[0])
	}
	// The template refuses connections, so nobody can block a clone.
	_, err := dbconn.Open(ctx, u.WithDatabase(names[0]))
	if err == nil || !strings.Contains(err.Error(), "not currently accepting connections") {
		t.Fatalf("connecting to the template: want a refusal, got %v", err)
	}
	if len(databases(t, servers[0], pgtemplate.BuildPrefix+names[0][len(pgtemplate.TemplatePrefix):])) != 0 {
		t.Fatal("the scratch build database was left behind")
	}
}

func TestClonesAreIsolatedAndMigrated(t *testing.T) {
	t.Parallel()
	s := server(t)
	dir, key := history(t, 4)
	tpl, err := s.Ensure(context.Background(), templates.Migrator{Hash: key, Migrate: replay(dir)})
	if err != nil {
		t.Fatal(err)
	}
	a, an := clone(t, s, tpl)
	b, bn := clone(t, s, tpl)
	if an == bn {
		t.Fatal("two clones share a name")
	}
	for _, db := range []*sql.DB{a, b} {
		if _, err := db.Exec("INSERT INTO t001 (id, name) VALUES (1, 'same')"); err != nil {
			t.Fatalf("the same unique value in two clones: %v", err)
		}
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM " + histgen.RevisionTable).Scan(&n); err != nil || n != 4 {
			t.Fatalf("revision table holds %d versions (%v), want 4", n, err)
		}
	}
	if _, err := a.Exec("INSERT INTO t001 (id, name) VALUES (2, 'only-a')"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow("SELECT COUNT(*) FROM t001").Scan(&n); err != nil || n != 1 {
		t.Fatalf("clone b has %d rows (%v), want only its own 1", n, err)
	}
	if _, err := a.Exec("INSERT INTO t003 (id, name, ref_id) VALUES (1, 'x', 999)"); err == nil {
		t.Fatal("a dangling foreign key was accepted in a clone")
	}
}

func TestFailedBuildLeavesNoTemplate(t *testing.T) {
	t.Parallel()
	s := server(t)
	ctx := context.Background()
	dir, key := history(t, 2)
	boom := errors.New("boom")
	_, err := s.Ensure(ctx, templates.Migrator{Hash: key, Migrate: func(ctx context.Context, db *sql.DB, u *dbconn.URL) error {
		if err := replay(dir)(ctx, db, u); err != nil {
			return err
		}
		return boom // fails after migrating: half-built must not count
	}})
	if !errors.Is(err, boom) {
		t.Fatalf("want the build error, got %v", err)
	}
	if got := databases(t, s, s.TemplateName(key)); len(got) != 0 {
		t.Fatalf("a failed build left %v", got)
	}
	var builds int
	tpl, err := s.Ensure(ctx, templates.Migrator{Hash: key, Migrate: func(ctx context.Context, db *sql.DB, u *dbconn.URL) error {
		builds++
		return replay(dir)(ctx, db, u)
	}})
	if err != nil || builds != 1 {
		t.Fatalf("the next Ensure must build (builds = %d): %v", builds, err)
	}
	clone(t, s, tpl)
}

func TestStaleTemplatesDropped(t *testing.T) {
	t.Parallel()
	u := serverURL(t)
	ctx := context.Background()
	s := server(t)
	other := server(t) // another namespace: another project on the server
	dir1, key1 := history(t, 1)
	dir2, key2 := history(t, 2)
	old, err := s.Ensure(ctx, templates.Migrator{Hash: key1, Migrate: replay(dir1)})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Ensure(ctx, templates.Migrator{Hash: key1, Migrate: replay(dir1)})
	if err != nil {
		t.Fatal(err)
	}
	// A clone of the old template survives its template's removal.
	_, cloned := clone(t, s, old)
	cur, err := s.Ensure(ctx, templates.Migrator{Hash: key2, Migrate: replay(dir2)})
	if err != nil {
		t.Fatal(err)
	}
	all := databases(t, s, "")
	switch {
	case all[old]:
		t.Errorf("stale template %s was not dropped", old)
	case !all[cur]:
		t.Errorf("current template %s missing", cur)
	case !all[foreign]:
		t.Errorf("another namespace's template %s was dropped", foreign)
	case !all[cloned]:
		t.Errorf("a clone %s was dropped", cloned)
	case !all[u.Database]:
		t.Errorf("the server URL's database %s was dropped", u.Database)
	}
}

func TestDropRefusesOtherDatabases(t *testing.T) {
	t.Parallel()
	u := serverURL(t)
	s := server(t)
	for _, name := range []string{u.Database, "postgres", "template1", pgtemplate.TemplatePrefix + "x", "weber_testx"} {
		if err := s.Drop(context.Background(), name); err == nil {
			t.Errorf("Drop(%q) succeeded; only weber_test_ clones may be dropped", name)
		}
	}
	if _, err := s.Clone(context.Background(), u.Database); err == nil {
		t.Error("Clone accepted a non-template source")
	}
}

func TestCancelledEnsureLeavesNoTemplate(t *testing.T) {
	t.Parallel()
	s := server(t)
	dir, key := history(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := s.Ensure(ctx, templates.Migrator{Hash: key, Migrate: func(ctx context.Context, db *sql.DB, u *dbconn.URL) error {
		cancel()
		_, err := db.ExecContext(ctx, "SELECT pg_sleep(5)")
		return err
	}})
	if err == nil {
		t.Fatal("a cancelled build succeeded")
	}
	if got := databases(t, s, s.TemplateName(key)); len(got) != 0 {
		t.Fatalf("a cancelled build left %v", got)
	}
	if _, err := s.Ensure(context.Background(), templates.Migrator{Hash: key, Migrate: replay(dir)}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkClone measures the time to get an isolated, migrated database
// that answers (create it, open a pool, first query), by template clone
// with each CREATE DATABASE strategy and by replaying the history (through
// internal/upgrade, and the simple loop), at 1 and 50 files. The methods
// run one after the other in every iteration so that they share the load;
// each is reported as its own metric (ms per database), the clone split
// into CREATE DATABASE and opening the pool. Dropping is outside the
// timers, reported as drop-ms.
func BenchmarkClone(b *testing.B) {
	ctx := context.Background()
	u := serverURL(b)
	for _, n := range []int{1, 50} {
		b.Run(fmt.Sprintf("history=%d", n), func(b *testing.B) {
			dir, key := history(b, n)
			ns := dbconn.RandomName("bench-")
			var servers []*pgtemplate.Server
			for _, strat := range []pgtemplate.Strategy{pgtemplate.FileCopy, pgtemplate.WALLog} {
				s, err := pgtemplate.Open(ctx, u, pgtemplate.Options{Namespace: ns, Strategy: strat})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				servers = append(servers, s)
			}
			defer servers[0].DropTemplates(ctx)
			tpl, err := servers[0].Ensure(ctx, templates.Migrator{Hash: key, Migrate: upgradeBuild(dir)})
			if err != nil {
				b.Fatal(err)
			}
			pool, err := servers[0].NewPool(ctx, tpl, 2)
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Close(ctx)
			var tCreate, tOpen, tWAL, tPool, tPoolQuery, tUpg, tSimple, tDrop time.Duration
			var names []string
			drop := func() {
				start := time.Now()
				for _, name := range names {
					if err := servers[0].Drop(ctx, name); err != nil {
						b.Fatal(err)
					}
				}
				tDrop += time.Since(start)
				names = names[:0]
			}
			i := 0
			for b.Loop() {
				i++
				start := time.Now()
				name, err := servers[0].Clone(ctx, tpl)
				if err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				ready(b, servers[0].URL(name), n)
				tCreate += mid.Sub(start)
				tOpen += time.Since(mid)
				names = append(names, name)

				// The pool's spares are made while the other methods run,
				// as they would be while other tests run.
				start = time.Now()
				name, db, err := pool.Get(ctx)
				if err != nil {
					b.Fatal(err)
				}
				mid = time.Now()
				readyDB(b, db, n)
				tPool += time.Since(start)
				tPoolQuery += time.Since(mid)
				names = append(names, name)

				start = time.Now()
				name, err = servers[1].Clone(ctx, tpl)
				if err != nil {
					b.Fatal(err)
				}
				ready(b, servers[1].URL(name), n)
				tWAL += time.Since(start)
				names = append(names, name)

				for _, m := range []struct {
					d     *time.Duration
					build templates.MigrateFunc
				}{{&tUpg, upgradeBuild(dir)}, {&tSimple, replay(dir)}} {
					start := time.Now()
					name, _ := pgtemplate.NewCloneName()
					du := servers[0].URL(name)
					if _, err := dbconn.EnsureDatabase(ctx, du); err != nil {
						b.Fatal(err)
					}
					db, err := dbconn.Open(ctx, du)
					if err != nil {
						b.Fatal(err)
					}
					if err := m.build(ctx, db, du); err != nil {
						b.Fatal(err)
					}
					db.Close()
					ready(b, du, n)
					*m.d += time.Since(start)
					names = append(names, name)
				}
				b.StopTimer()
				drop()
				b.StartTimer()
			}
			per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(i) }
			b.ReportMetric(per(tCreate+tOpen), "filecopy-ms")
			b.ReportMetric(per(tCreate), "filecopy-create-ms")
			b.ReportMetric(per(tOpen), "open-ms")
			b.ReportMetric(per(tWAL), "wallog-ms")
			b.ReportMetric(per(tUpg), "replay-upgrade-ms")
			b.ReportMetric(per(tSimple), "replay-simple-ms")
			b.ReportMetric(per(tPool), "pool-ms")
			b.ReportMetric(per(tPoolQuery), "pool-query-ms")
			_, direct := pool.Stats()
			b.ReportMetric(float64(direct), "pool-misses")
			b.ReportMetric(per(tDrop)/5, "drop-ms")
			b.ReportMetric(per(tCreate+tOpen)/per(tUpg), "filecopy/replay")
		})
	}
}

// BenchmarkPoolBackToBack asks a Pool with 2 spares for databases with no
// pause between them: the rate at which the server can make copies, with
// two CREATE DATABASEs in flight, rather than the latency a test sees.
func BenchmarkPoolBackToBack(b *testing.B) {
	ctx := context.Background()
	s, err := pgtemplate.Open(ctx, serverURL(b), pgtemplate.Options{Namespace: dbconn.RandomName("bench-")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	defer s.DropTemplates(ctx)
	dir, key := history(b, 50)
	tpl, err := s.Ensure(ctx, templates.Migrator{Hash: key, Migrate: upgradeBuild(dir)})
	if err != nil {
		b.Fatal(err)
	}
	pool, err := s.NewPool(ctx, tpl, 2)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close(ctx)
	var names []string
	for b.Loop() {
		name, db, err := pool.Get(ctx)
		if err != nil {
			b.Fatal(err)
		}
		readyDB(b, db, 50)
		names = append(names, name)
	}
	b.StopTimer()
	for _, n := range names {
		s.Drop(ctx, n)
	}
}

// ready opens the database, checks the history is there, and closes it.
func ready(b *testing.B, u *dbconn.URL, n int) {
	db, err := dbconn.Open(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	readyDB(b, db, n)
}

// readyDB checks the history is there, and closes the pool.
func readyDB(b *testing.B, db *sql.DB, n int) {
	defer db.Close()
	var v int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + histgen.RevisionTable).Scan(&v); err != nil || v != n {
		b.Fatalf("not migrated: %d versions, %v", v, err)
	}
}
