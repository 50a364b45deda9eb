package sqlitesnap_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
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
	"github.com/weber-framework/weber/internal/testdb/schemakey"
	"github.com/weber-framework/weber/internal/testdb/sqlitesnap"
	"github.com/weber-framework/weber/internal/testdb/templates"
	"github.com/weber-framework/weber/internal/upgrade"
)

// history writes an n-file synthetic history and returns its directory and key.
func history(tb testing.TB, n int) (string, string) {
	tb.Helper()
	dir := tb.TempDir()
	if err := histgen.Write(dir, dialect.SQLite, n); err != nil {
		tb.Fatal(err)
	}
	key, err := schemakey.Dir(dir, "sqlite")
	if err != nil {
		tb.Fatal(err)
	}
	return dir, key
}

func replay(dir string) templates.MigrateFunc {
	return func(ctx context.Context, db *sql.DB, _ *dbconn.URL) error {
		return histgen.Apply(ctx, db, dialect.SQLite, dir)
	}
}

// upgradeBuild replays dir with the real engine, as production does.
func upgradeBuild(dir string) templates.MigrateFunc {
	return func(ctx context.Context, db *sql.DB, u *dbconn.URL) error {
		_, err := upgrade.Upgrade(ctx, db, u, dir, upgrade.Options{})
		return err
	}
}

func template(t *testing.T, n int) *sqlitesnap.Template {
	t.Helper()
	dir, key := history(t, n)
	var c sqlitesnap.Cache
	tpl, err := c.Build(context.Background(), templates.Migrator{Hash: key, Migrate: replay(dir)})
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func count(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestClonesAreIndependent(t *testing.T) {
	t.Parallel()
	tpl := template(t, 5)
	ctx := context.Background()
	a, err := tpl.Clone(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := tpl.Clone(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// The same unique value in both: each clone is its own database.
	for _, db := range []*sql.DB{a, b} {
		if _, err := db.Exec("INSERT INTO t001 (id, name) VALUES (1, 'same')"); err != nil {
			t.Fatalf("insert into a clone: %v", err)
		}
	}
	if _, err := a.Exec("INSERT INTO t001 (id, name) VALUES (2, 'only-a')"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, b, "SELECT COUNT(*) FROM t001 WHERE name = 'only-a'"); n != 0 {
		t.Fatalf("a write in clone a is visible in clone b (%d rows)", n)
	}
	// A third clone starts from the template, untouched by the others.
	c, err := tpl.Clone(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := count(t, c, "SELECT COUNT(*) FROM t001"); n != 0 {
		t.Fatalf("a new clone has %d rows written by other clones", n)
	}
}

func TestCloneHasHistoryAndForeignKeys(t *testing.T) {
	t.Parallel()
	tpl := template(t, 6)
	db, err := tpl.Clone(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := count(t, db, "SELECT COUNT(*) FROM "+histgen.RevisionTable); n != 6 {
		t.Fatalf("revision table holds %d versions, want 6", n)
	}
	if n := count(t, db, "PRAGMA foreign_keys"); n != 1 {
		t.Fatalf("foreign_keys is %d in the clone, want 1", n)
	}
	// t003 references t001: a dangling reference must be refused.
	_, err = db.Exec("INSERT INTO t003 (id, name, ref_id) VALUES (1, 'x', 999)")
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Fatalf("dangling foreign key accepted in the clone: %v", err)
	}
	// ON DELETE CASCADE works.
	for _, q := range []string{
		"INSERT INTO t001 (id, name) VALUES (1, 'p')",
		"INSERT INTO t003 (id, name, ref_id) VALUES (1, 'c', 1)",
		"DELETE FROM t001 WHERE id = 1",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if n := count(t, db, "SELECT COUNT(*) FROM t003"); n != 0 {
		t.Fatalf("cascade left %d child rows", n)
	}
	// The column added by file 6 is there.
	if _, err := db.Exec("UPDATE t005 SET c006 = 'x'"); err != nil {
		t.Fatalf("column from file 6 missing: %v", err)
	}
}

func TestBuildRunsOncePerKey(t *testing.T) {
	t.Parallel()
	dir, key := history(t, 3)
	var c sqlitesnap.Cache
	var builds atomic.Int32
	build := func(ctx context.Context, db *sql.DB, u *dbconn.URL) error {
		builds.Add(1)
		return replay(dir)(ctx, db, u)
	}
	var wg sync.WaitGroup
	tpls := make([]*sqlitesnap.Template, 8)
	errs := make([]error, 8)
	for i := range tpls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tpls[i], errs[i] = c.Build(context.Background(), templates.Migrator{Hash: key, Migrate: build})
		}()
	}
	wg.Wait()
	for i := range tpls {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if tpls[i] != tpls[0] {
			t.Fatalf("caller %d got a different template", i)
		}
	}
	if n := builds.Load(); n != 1 {
		t.Fatalf("build ran %d times for one key, want 1", n)
	}
	if _, err := c.Build(context.Background(), templates.Migrator{Hash: key + "-other", Migrate: build}); err != nil {
		t.Fatal(err)
	}
	if n := builds.Load(); n != 2 {
		t.Fatalf("a new key did not build (builds = %d)", n)
	}
}

func TestBuildFailureIsRemembered(t *testing.T) {
	t.Parallel()
	var c sqlitesnap.Cache
	var builds atomic.Int32
	build := func(ctx context.Context, db *sql.DB, _ *dbconn.URL) error {
		builds.Add(1)
		_, err := db.ExecContext(ctx, "CREATE TABLE broken (")
		return err
	}
	for range 2 {
		_, err := c.Build(context.Background(), templates.Migrator{Hash: "k", Migrate: build})
		if err == nil || !strings.Contains(err.Error(), "building the SQLite template") {
			t.Fatalf("want the build error, got %v", err)
		}
	}
	if n := builds.Load(); n != 1 {
		t.Fatalf("failed build ran %d times, want 1", n)
	}
}

func TestCloneSingleLostConnectionIsAnError(t *testing.T) {
	t.Parallel()
	tpl := template(t, 1)
	ctx := context.Background()
	db, err := tpl.CloneSingle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Returning ErrBadConn makes database/sql discard the connection.
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
	err = db.PingContext(ctx)
	if !errors.Is(err, sqlitesnap.ErrConnectionLost) {
		t.Fatalf("after losing its connection the clone must fail, not reopen empty: got %v", err)
	}
}

func TestCloneSharesOneDatabaseAcrossConnections(t *testing.T) {
	t.Parallel()
	tpl := template(t, 3)
	ctx := context.Background()
	db, err := tpl.Clone(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	other, err := tpl.Clone(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	c1, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A write committed on one connection is seen on the other.
	tx, err := c1.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO t001 (id, name) VALUES (1, 'x')"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n, fk int
	if err := c2.QueryRowContext(ctx, "SELECT COUNT(*) FROM t001").Scan(&n); err != nil || n != 1 {
		t.Fatalf("a second connection after the commit sees %d rows (%v), want 1", n, err)
	}
	// Two readers at once.
	rows, err := c1.QueryContext(ctx, "SELECT name FROM t001")
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.QueryRowContext(ctx, "SELECT COUNT(*) FROM t001").Scan(&n); err != nil || n != 1 {
		t.Fatalf("a reader beside an open read sees %d rows (%v), want 1", n, err)
	}
	rows.Close()
	if err := c2.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d on a second connection (%v), want 1", fk, err)
	}
	// Losing every connection loses nothing: the keeper holds the database.
	_ = c1.Raw(func(any) error { return driver.ErrBadConn })
	c1.Close()
	c2.Close()
	db.SetMaxIdleConns(0)
	db.SetMaxIdleConns(2)
	if n := count(t, db, "SELECT COUNT(*) FROM t001"); n != 1 {
		t.Fatalf("after all connections were replaced the clone holds %d rows, want 1", n)
	}
	if n := count(t, other, "SELECT COUNT(*) FROM t001"); n != 0 {
		t.Fatalf("another clone sees %d rows written in this one", n)
	}
}

func TestCloneSingleIsPrivateWithForeignKeys(t *testing.T) {
	t.Parallel()
	tpl := template(t, 3)
	ctx := context.Background()
	a, err := tpl.CloneSingle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := tpl.CloneSingle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.Exec("INSERT INTO t001 (id, name) VALUES (1, 'x')"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, b, "SELECT COUNT(*) FROM t001"); n != 0 {
		t.Fatal("a write in one single-connection clone is visible in another")
	}
	if n := count(t, a, "PRAGMA foreign_keys"); n != 1 {
		t.Fatal("foreign keys are off in a single-connection clone")
	}
	if _, err := a.Exec("INSERT INTO t003 (id, name, ref_id) VALUES (1, 'c', 42)"); err == nil {
		t.Fatal("dangling foreign key accepted in a single-connection clone")
	}
}

func TestCloneFile(t *testing.T) {
	t.Parallel()
	tpl := template(t, 4)
	ctx := context.Background()
	dir := t.TempDir()
	a, ua, err := tpl.CloneFile(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, ub, err := tpl.CloneFile(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if ua.Database == ub.Database {
		t.Fatalf("two file clones share %s", ua.Database)
	}
	if n := count(t, a, "SELECT COUNT(*) FROM "+histgen.RevisionTable); n != 4 {
		t.Fatalf("revision table holds %d versions, want 4", n)
	}
	var mode string
	if err := a.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q (%v), want wal", mode, err)
	}
	if _, err := a.Exec("INSERT INTO t001 (id, name) VALUES (1, 'x')"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, b, "SELECT COUNT(*) FROM t001"); n != 0 {
		t.Fatalf("write in one file clone visible in another")
	}
	// Several connections at once see the same database.
	c1, _ := a.Conn(ctx)
	c2, _ := a.Conn(ctx)
	defer c1.Close()
	defer c2.Close()
	var n int
	if err := c2.QueryRowContext(ctx, "SELECT COUNT(*) FROM t001").Scan(&n); err != nil || n != 1 {
		t.Fatalf("second connection sees %d rows (%v), want 1", n, err)
	}
	if _, err := a.Exec("INSERT INTO t003 (id, name, ref_id) VALUES (1, 'c', 42)"); err == nil {
		t.Fatal("dangling foreign key accepted in a file clone")
	}
}

// BenchmarkClone measures the time to get an isolated, migrated SQLite
// database that answers (get it, first query, close), by each method
// (Clone, CloneSingle, CloneFile, replay through internal/upgrade, replay
// by the simple loop), at
// history lengths of 1 and 50 files. The methods run one after the other
// in every iteration, so that they share the machine's load; each is
// reported as its own metric (µs per database), plus the ratio of Clone to
// the replay through internal/upgrade.
func BenchmarkClone(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 50} {
		b.Run(fmt.Sprintf("history=%d", n), func(b *testing.B) {
			dir, key := history(b, n)
			var c sqlitesnap.Cache
			tpl, err := c.Build(ctx, templates.Migrator{Hash: key, Migrate: upgradeBuild(dir)})
			if err != nil {
				b.Fatal(err)
			}
			tmp := b.TempDir()
			ready := func(db *sql.DB) {
				var v int
				if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+histgen.RevisionTable).Scan(&v); err != nil || v != n {
					b.Fatalf("database not migrated: %d versions, %v", v, err)
				}
				db.Close()
			}
			replayWith := func(build templates.MigrateFunc, i int) func() {
				return func() {
					u, err := dbconn.Parse(fmt.Sprintf("sqlite://replay%d?mode=memory&_name=bench-replay-%d", i, i))
					if err != nil {
						b.Fatal(err)
					}
					db, err := dbconn.Open(ctx, u)
					if err != nil {
						b.Fatal(err)
					}
					if err := build(ctx, db, u); err != nil {
						b.Fatal(err)
					}
					ready(db)
				}
			}
			var tShared, tDeser, tFile, tUpg, tSimple time.Duration
			timed := func(d *time.Duration, f func()) {
				start := time.Now()
				f()
				*d += time.Since(start)
			}
			i := 0
			for b.Loop() {
				i++
				timed(&tShared, func() {
					db, err := tpl.Clone(ctx)
					if err != nil {
						b.Fatal(err)
					}
					ready(db)
				})
				timed(&tDeser, func() {
					db, err := tpl.CloneSingle(ctx)
					if err != nil {
						b.Fatal(err)
					}
					ready(db)
				})
				timed(&tFile, func() {
					db, _, err := tpl.CloneFile(ctx, tmp)
					if err != nil {
						b.Fatal(err)
					}
					ready(db)
				})
				timed(&tUpg, replayWith(upgradeBuild(dir), i))
				timed(&tSimple, replayWith(replay(dir), i))
			}
			per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(i) }
			b.ReportMetric(per(tShared), "clone-µs")
			b.ReportMetric(per(tDeser), "single-µs")
			b.ReportMetric(per(tFile), "filecopy-µs")
			b.ReportMetric(per(tUpg), "replay-upgrade-µs")
			b.ReportMetric(per(tSimple), "replay-simple-µs")
			b.ReportMetric(per(tShared)/per(tUpg), "clone/replay")
		})
	}
}

// BenchmarkBuild measures the one-off cost of building a template (replay
// through internal/upgrade into a file, snapshot) at 1 and 50 files.
func BenchmarkBuild(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 50} {
		b.Run(fmt.Sprintf("history=%d", n), func(b *testing.B) {
			dir, key := history(b, n)
			for b.Loop() {
				if _, err := sqlitesnap.New(ctx, templates.Migrator{Hash: key, Migrate: upgradeBuild(dir)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
