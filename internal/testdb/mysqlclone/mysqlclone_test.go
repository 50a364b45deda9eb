package mysqlclone_test

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
	"github.com/weber-framework/weber/internal/testdb/mysqlclone"
	"github.com/weber-framework/weber/internal/testdb/schemakey"
	"github.com/weber-framework/weber/internal/testdb/templates"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"github.com/weber-framework/weber/internal/upgrade"
)

func serverURL(tb testing.TB) *dbconn.URL {
	tb.Helper()
	raw := testserver.Lookup(tb, testserver.MySQL).URL // a named skip; a failure under CI=true
	u, err := dbconn.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func server(tb testing.TB) *mysqlclone.Server {
	tb.Helper()
	ctx := context.Background()
	s, err := mysqlclone.Open(ctx, serverURL(tb), mysqlclone.Options{Namespace: dbconn.RandomName("test-")})
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
	if err := histgen.Write(dir, dialect.MySQL, n); err != nil {
		tb.Fatal(err)
	}
	key, err := schemakey.Dir(dir, "mysql")
	if err != nil {
		tb.Fatal(err)
	}
	return dir, key
}

func replay(dir string) templates.MigrateFunc {
	return func(ctx context.Context, db *sql.DB, _ *dbconn.URL) error {
		return histgen.Apply(ctx, db, dialect.MySQL, dir)
	}
}

// upgradeBuild replays dir with the real engine, as production does.
func upgradeBuild(dir string) templates.MigrateFunc {
	return func(ctx context.Context, db *sql.DB, u *dbconn.URL) error {
		_, err := upgrade.Upgrade(ctx, db, u, dir, upgrade.Options{})
		return err
	}
}

func clone(t *testing.T, s *mysqlclone.Server, tpl *mysqlclone.Template) (*sql.DB, string) {
	t.Helper()
	ctx := context.Background()
	name, err := s.Clone(ctx, tpl)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, mysqlclone.ClonePrefix) {
		t.Fatalf("clone named %q", name)
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

func schemas(t *testing.T, u *dbconn.URL) map[string]bool {
	t.Helper()
	db, err := dbconn.OpenServer(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT schema_name FROM information_schema.schemata")
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

func showCreate(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	var n, s string
	if err := db.QueryRow("SHOW CREATE TABLE "+table).Scan(&n, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEnsureBuildsOnceAcrossPools(t *testing.T) {
	t.Parallel()
	u := serverURL(t)
	ctx := context.Background()
	dir, key := history(t, 3)
	ns := dbconn.RandomName("test-")
	var servers []*mysqlclone.Server
	for range 2 {
		s, err := mysqlclone.Open(ctx, u, mysqlclone.Options{Namespace: ns})
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
		time.Sleep(50 * time.Millisecond)
		return replay(dir)(ctx, db, u)
	}
	var wg sync.WaitGroup
	tpls := make([]*mysqlclone.Template, 6)
	errs := make([]error, 6)
	for i := range tpls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tpls[i], errs[i] = servers[i%2].Ensure(ctx, templates.Migrator{Hash: key, Migrate: build})
		}()
	}
	wg.Wait()
	for i := range tpls {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if tpls[i].Name() != tpls[0].Name() {
			t.Fatal("callers got different templates for one key")
		}
	}
	if n := builds.Load(); n != 1 {
		t.Fatalf("build ran %d times, want once", n)
	}
}

func TestClonesAreIsolatedMigratedAndKeepForeignKeys(t *testing.T) {
	t.Parallel()
	s := server(t)
	dir, key := history(t, 6)
	tpl, err := s.Ensure(context.Background(), templates.Migrator{Hash: key, Migrate: replay(dir)})
	if err != nil {
		t.Fatal(err)
	}
	if tpl.Replays() {
		t.Fatal("a tables-only template must be copied, not replayed")
	}
	a, _ := clone(t, s, tpl)
	b, _ := clone(t, s, tpl)
	for _, db := range []*sql.DB{a, b} {
		if _, err := db.Exec("INSERT INTO t001 (id, name) VALUES (1, 'same')"); err != nil {
			t.Fatalf("the same unique value in two clones: %v", err)
		}
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM " + histgen.RevisionTable).Scan(&n); err != nil || n != 6 {
			t.Fatalf("revision table holds %d versions (%v), want 6", n, err)
		}
	}
	if _, err := a.Exec("INSERT INTO t001 (id, name) VALUES (2, 'only-a')"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow("SELECT COUNT(*) FROM t001").Scan(&n); err != nil || n != 1 {
		t.Fatalf("clone b has %d rows (%v), want its own 1", n, err)
	}
	if _, err := a.Exec("INSERT INTO t003 (id, name, ref_id) VALUES (1, 'x', 999)"); err == nil {
		t.Fatal("a dangling foreign key was accepted in a clone")
	}
	// Every table is identical to the template's, foreign keys included.
	tdb, err := dbconn.Open(context.Background(), s.URL(tpl.Name()))
	if err != nil {
		t.Fatal(err)
	}
	defer tdb.Close()
	for _, tbl := range []string{"t001", "t003", "t005", histgen.RevisionTable} {
		if got, want := showCreate(t, a, tbl), showCreate(t, tdb, tbl); got != want {
			t.Errorf("%s differs from the template:\n%s\nwant\n%s", tbl, got, want)
		}
	}
	if !strings.Contains(showCreate(t, a, "t005"), "FOREIGN KEY (`ref_id`) REFERENCES `t003`") {
		t.Error("the clone lost t005's foreign key")
	}
	var marker int
	tdb.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'weber_template_complete' AND table_schema LIKE 'weber\\_test\\_%'").Scan(&marker)
	if marker != 0 {
		t.Error("the template's completion marker was copied into a clone")
	}
}

func TestTemplateWithViewIsReplayed(t *testing.T) {
	t.Parallel()
	s := server(t)
	dir, key := history(t, 2)
	tpl, err := s.Ensure(context.Background(), templates.Migrator{Hash: key, Migrate: func(ctx context.Context, db *sql.DB, u *dbconn.URL) error {
		if err := replay(dir)(ctx, db, u); err != nil {
			return err
		}
		_, err := db.ExecContext(ctx, "CREATE VIEW v001 AS SELECT id, name FROM t001")
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !tpl.Replays() {
		t.Fatal("a template with a view must be replayed")
	}
	db, _ := clone(t, s, tpl)
	if _, err := db.Exec("INSERT INTO t001 (id, name) VALUES (1, 'x')"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM v001").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the view in the clone sees %d rows (%v), want 1: it must read the clone, not the template", n, err)
	}
}

func TestFailedBuildAndStaleTemplates(t *testing.T) {
	t.Parallel()
	u := serverURL(t)
	ctx := context.Background()
	s := server(t)
	other := server(t)
	dir1, key1 := history(t, 1)
	dir2, key2 := history(t, 2)
	boom := errors.New("boom")
	if _, err := s.Ensure(ctx, templates.Migrator{Hash: key1, Migrate: func(ctx context.Context, db *sql.DB, u *dbconn.URL) error {
		replay(dir1)(ctx, db, u)
		return boom
	}}); !errors.Is(err, boom) {
		t.Fatalf("want the build error, got %v", err)
	}
	if schemas(t, u)[s.TemplateName(key1)] {
		t.Fatal("a failed build left its template")
	}
	old, err := s.Ensure(ctx, templates.Migrator{Hash: key1, Migrate: replay(dir1)})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Ensure(ctx, templates.Migrator{Hash: key1, Migrate: replay(dir1)})
	if err != nil {
		t.Fatal(err)
	}
	_, cloned := clone(t, s, old)
	cur, err := s.Ensure(ctx, templates.Migrator{Hash: key2, Migrate: replay(dir2)})
	if err != nil {
		t.Fatal(err)
	}
	all := schemas(t, u)
	switch {
	case all[old.Name()]:
		t.Errorf("stale template %s was not dropped", old.Name())
	case !all[cur.Name()]:
		t.Errorf("current template %s missing", cur.Name())
	case !all[foreign.Name()]:
		t.Errorf("another namespace's template was dropped")
	case !all[cloned]:
		t.Errorf("a clone was dropped")
	case !all[u.Database]:
		t.Errorf("the server URL's database was dropped")
	}
	for _, name := range []string{u.Database, "mysql", cur.Name(), "weber_testx"} {
		if err := s.Drop(ctx, name); err == nil {
			t.Errorf("Drop(%q) succeeded; only weber_test_ clones may be dropped", name)
		}
	}
}

// BenchmarkClone measures the time to get an isolated, migrated database
// that answers (create, open a pool, first query) by copying the
// template's tables and by replaying the history (through internal/upgrade,
// and the simple loop), at 1 and 50 files. The methods run one after the
// other in every iteration so that they share the load; each is reported
// as its own metric (ms per database). Dropping is outside the timers.
func BenchmarkClone(b *testing.B) {
	ctx := context.Background()
	u := serverURL(b)
	for _, n := range []int{1, 50} {
		b.Run(fmt.Sprintf("history=%d", n), func(b *testing.B) {
			s, err := mysqlclone.Open(ctx, u, mysqlclone.Options{Namespace: dbconn.RandomName("bench-")})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			defer s.DropTemplates(ctx)
			dir, key := history(b, n)
			tpl, err := s.Ensure(ctx, templates.Migrator{Hash: key, Migrate: upgradeBuild(dir)})
			if err != nil {
				b.Fatal(err)
			}
			var tCopy, tUpg, tSimple time.Duration
			var names []string
			i := 0
			for b.Loop() {
				i++
				start := time.Now()
				name, err := s.Clone(ctx, tpl)
				if err != nil {
					b.Fatal(err)
				}
				ready(b, s.URL(name), n)
				tCopy += time.Since(start)
				names = append(names, name)
				for _, m := range []struct {
					d     *time.Duration
					build templates.MigrateFunc
				}{{&tUpg, upgradeBuild(dir)}, {&tSimple, replay(dir)}} {
					start := time.Now()
					name, _ := mysqlclone.NewCloneName()
					du := s.URL(name)
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
				for _, name := range names {
					s.Drop(ctx, name)
				}
				names = names[:0]
				b.StartTimer()
			}
			per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(i) }
			b.ReportMetric(per(tCopy), "copy-tables-ms")
			b.ReportMetric(per(tUpg), "replay-upgrade-ms")
			b.ReportMetric(per(tSimple), "replay-simple-ms")
			b.ReportMetric(per(tCopy)/per(tUpg), "copy/replay")
		})
	}
}

func ready(b *testing.B, u *dbconn.URL, n int) {
	db, err := dbconn.Open(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + histgen.RevisionTable).Scan(&v); err != nil || v != n {
		b.Fatalf("not migrated: %d versions, %v", v, err)
	}
}

func TestEnsureFailsWhenTheLockIsHeld(t *testing.T) {
	t.Parallel()
	u := serverURL(t)
	ctx := context.Background()
	holder, err := dbconn.OpenServer(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var got int
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('weber_mysqlclone_templates', 10)").Scan(&got); err != nil || got != 1 {
		t.Fatalf("taking the lock: %d %v", got, err)
	}
	defer conn.ExecContext(ctx, "DO RELEASE_LOCK('weber_mysqlclone_templates')")
	s, err := mysqlclone.Open(ctx, u, mysqlclone.Options{Namespace: dbconn.RandomName("test-"), LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir, key := history(t, 1)
	_, err = s.Ensure(ctx, templates.Migrator{Hash: key, Migrate: replay(dir)})
	if err == nil || !strings.Contains(err.Error(), "GET_LOCK returned") {
		t.Fatalf("Ensure while another process builds: want a lock timeout, got %v", err)
	}
	if strings.Contains(err.Error(), ":weber@") {
		t.Fatalf("the error shows the password: %v", err)
	}
}
