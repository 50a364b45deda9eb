package dblock

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// The PostgreSQL lock through a transaction-pooling PgBouncer
// (WEBER_TEST_PGBOUNCER_URL): a session lock would land on whichever server
// connection the pooler lent for one statement, stay there when the
// connection went back to the pool, and be granted again to the next client
// the pooler lent that connection to. These tests hold the lock through the
// pooler and check that it still excludes, frees itself when its holder
// dies, and leaves nothing behind on the pooler's server connections.

// pooledDB is a fresh database with its URL through the pooler and direct.
type pooledDB struct {
	pooled testDB
	direct *dbconn.URL
}

// newPooledDB creates a database on the PostgreSQL server behind the pooler
// and returns its URL through the pooler and its URL on the server itself.
func newPooledDB(t *testing.T) pooledDB {
	t.Helper()
	pooler := testserver.PgBouncer(t)
	direct := testserver.Lookup(t, "postgres")
	d := newDB(t, pooler)
	raw, err := direct.URLOf(d.u.Database)
	if err != nil {
		t.Fatal(err)
	}
	u, err := dbconn.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return pooledDB{pooled: d, direct: u}
}

// Two lock holders through the pooler exclude each other, and a holder
// through the pooler excludes one on a direct connection (and back): a
// fleet may mix both.
func TestPgBouncerLockExcludes(t *testing.T) {
	t.Parallel()
	d := newPooledDB(t)
	ctx := context.Background()
	pooled, direct := d.pooled.u, d.direct

	l1 := mustAcquire(t, ctx, openPool(t, pooled), pooled, 0)
	// Other clients of the pooler run statements meanwhile, so that the
	// pooler lends its idle server connections around.
	busy := openPool(t, pooled)
	for range 20 {
		if _, err := busy.ExecContext(ctx, "SELECT 1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []*dbconn.URL{pooled, pooled, direct} {
		_, err := Acquire(ctx, openPool(t, u), u, 200*time.Millisecond)
		checkTimeout(t, err, u)
		if !strings.Contains(err.Error(), fmt.Sprintf("pid %d on", os.Getpid())) {
			t.Errorf("the timeout error does not name this process as the holder: %v", err)
		}
	}
	if err := l1.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}

	l2 := mustAcquire(t, ctx, openPool(t, direct), direct, 0)
	_, err := Acquire(ctx, openPool(t, pooled), pooled, 200*time.Millisecond)
	checkTimeout(t, err, pooled)
	if err := l2.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
	l3 := mustAcquire(t, ctx, openPool(t, pooled), pooled, 0)
	if err := l3.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
}

// A waiter through the pooler gets the lock once the holder releases it.
func TestPgBouncerWaiterGetsTheLock(t *testing.T) {
	t.Parallel()
	d := newPooledDB(t)
	ctx := context.Background()
	u := d.pooled.u
	l1 := mustAcquire(t, ctx, openPool(t, u), u, 0)
	released := make(chan time.Time, 1)
	time.AfterFunc(400*time.Millisecond, func() {
		released <- time.Now()
		l1.Release()
	})
	l2 := mustAcquire(t, ctx, openPool(t, u), u, 20*time.Second)
	if got, at := time.Now(), <-released; got.Before(at) {
		t.Fatalf("the waiter got the lock at %s, before it was released at %s", got, at)
	}
	if err := l2.Release(); err != nil {
		t.Fatal(err)
	}
}

// Cancelling the context Acquire was given (SIGINT during an upgrade) does
// not free the lock: the caller still finishes or rolls back its file under
// it, and only Release frees it. Direct and through the pooler.
func TestCancelAfterAcquireKeepsTheLock(t *testing.T) {
	t.Parallel()
	d := newPooledDB(t)
	for name, u := range map[string]*dbconn.URL{"direct": d.direct, "pgbouncer": d.pooled.u} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			l, err := Acquire(ctx, openPool(t, u), u, 0)
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			time.Sleep(100 * time.Millisecond) // database/sql rolls back a cancelled transaction asynchronously
			_, err = Acquire(context.Background(), openPool(t, u), u, 0)
			checkTimeout(t, err, u)
			if err := l.Release(); err != nil {
				t.Fatalf("Release after cancel: %v", err)
			}
			l2 := mustAcquire(t, context.Background(), openPool(t, u), u, 0)
			l2.Release()
		})
	}
}

// The lock leaves no session state on the pooler's server connections:
// while it is held one server session carries the lock's name; after
// Release none does, and no server session still holds an advisory lock.
func TestPgBouncerLockLeavesNoSessionState(t *testing.T) {
	t.Parallel()
	d := newPooledDB(t)
	ctx := context.Background()
	u := d.pooled.u
	server := openPool(t, d.direct)
	count := func(query string) int {
		t.Helper()
		var n int
		if err := server.QueryRowContext(ctx, query, u.Database).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	named := `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'weber lock%'`
	locks := `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
		AND database = (SELECT oid FROM pg_database WHERE datname = $1)`

	l := mustAcquire(t, ctx, openPool(t, u), u, 0)
	if n := count(named); n != 1 {
		t.Errorf("%d server sessions named after the lock while it is held, want 1", n)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	// The pooler keeps its server connections: the next clients get them.
	busy := openPool(t, u)
	for range 10 {
		if _, err := busy.ExecContext(ctx, "SELECT 1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(named); n != 0 {
		t.Errorf("%d server sessions still named after the lock after Release", n)
	}
	if n := count(locks); n != 0 {
		t.Errorf("%d advisory locks still held after Release", n)
	}
}

// The holder of the lock through the pooler is killed (kill -9): the pooler
// drops the server connection its transaction was open on, and the next
// Acquire gets the lock within seconds.
func TestPgBouncerKilledHolderFreesTheLock(t *testing.T) {
	t.Parallel()
	d := newPooledDB(t)
	ctx := context.Background()
	u := d.pooled.u
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+d.pooled.raw)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	locked := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "locked ") {
				locked <- sc.Text()
			}
		}
		close(locked)
	}()
	select {
	case line, ok := <-locked:
		if !ok {
			t.Fatal("the helper exited without taking the lock")
		}
		t.Log(line)
	case <-time.After(30 * time.Second):
		t.Fatal("the helper did not take the lock within 30s")
	}
	_, err = Acquire(ctx, openPool(t, u), u, 200*time.Millisecond)
	checkTimeout(t, err, u)

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	start := time.Now()
	l, err := Acquire(ctx, openPool(t, u), u, 15*time.Second)
	if err != nil {
		t.Fatalf("after killing the holder: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s to get the lock after the holder died", took)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

// A pool limited to one connection through the pooler: the lock takes a
// connection of its own, and the migration runs on the pool's.
func TestPgBouncerOneConnectionPool(t *testing.T) {
	t.Parallel()
	d := newPooledDB(t)
	u := d.pooled.u
	db := openPool(t, u)
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := Acquire(ctx, db, u, 2*time.Second)
	if err != nil {
		t.Fatalf("Acquire on a one-connection pool: %v", err)
	}
	for _, stmt := range []string{"CREATE TABLE dblock_probe (id INTEGER PRIMARY KEY)", "INSERT INTO dblock_probe (id) VALUES (1)"} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s while holding the lock: %v", stmt, err)
		}
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

// The lock's open transaction holds back no snapshot: CREATE INDEX
// CONCURRENTLY, which waits for every transaction older than its own
// snapshot, completes on another connection while the lock is held (the
// migration it protects runs such files). Directly and through the pooler.
func TestLockLetsConcurrentIndexBuildsFinish(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, d testDB) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db := openPool(t, d.u)
		l := mustAcquire(t, ctx, db, d.u, 0)
		for _, stmt := range []string{"CREATE TABLE probe (id integer)", "CREATE INDEX CONCURRENTLY probe_id ON probe (id)"} {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s while the lock is held: %v", stmt, err)
			}
		}
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("direct", func(t *testing.T) {
		t.Parallel()
		check(t, newDB(t, testserver.Lookup(t, "postgres")))
	})
	t.Run("pgbouncer", func(t *testing.T) {
		t.Parallel()
		check(t, newPooledDB(t).pooled)
	})
}
