package dblock

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// testDB is a fresh database of one backend. raw is its URL with the
// password, for the helper process.
type testDB struct {
	raw string
	u   *dbconn.URL
}

// newDB creates a fresh, uniquely named database (testserver.NewURL: an
// SQLite file in a temp folder, or weber_test_<random> on the server,
// dropped after the test). It opens no pool: each test opens its own.
func newDB(t *testing.T, b testserver.Backend) testDB {
	t.Helper()
	return newNamedDB(t, b, nil)
}

func newNamedDB(t *testing.T, b testserver.Backend, o *testserver.Options) testDB {
	t.Helper()
	u := testserver.NewURL(t, b, o)
	if _, err := dbconn.EnsureDatabase(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	raw, err := b.URLOf(u.Database)
	if err != nil {
		t.Fatal(err)
	}
	return testDB{raw: raw, u: u}
}

// openPool opens a pool of the caller's own, closed after the test.
func openPool(t *testing.T, u *dbconn.URL) *sql.DB {
	t.Helper()
	db, err := dbconn.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustAcquire(t *testing.T, ctx context.Context, db *sql.DB, u *dbconn.URL, timeout time.Duration) *Lock {
	t.Helper()
	l, err := Acquire(ctx, db, u, timeout)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	t.Cleanup(func() { l.Release() })
	return l
}

// checkTimeout checks that err is a one-line, password-free ErrTimeout that
// names the database and the flag that raises the timeout.
func checkTimeout(t *testing.T, err error, u *dbconn.URL) {
	t.Helper()
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{u.Redacted(), "--lock-timeout", "held by"} {
		if !strings.Contains(msg, want) {
			t.Errorf("timeout error lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, ":weber@") || strings.Contains(msg, "\n") {
		t.Errorf("timeout error shows the password or spans lines: %q", msg)
	}
}

func TestSecondAcquireTimesOutUntilReleased(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		ctx := context.Background()
		d := newDB(t, b)
		db1, db2 := openPool(t, d.u), openPool(t, d.u)

		l1 := mustAcquire(t, ctx, db1, d.u, 0)

		start := time.Now()
		_, err := Acquire(ctx, db2, d.u, 300*time.Millisecond)
		checkTimeout(t, err, d.u)
		if waited := time.Since(start); waited < 300*time.Millisecond {
			t.Errorf("gave up after %s, before the 300ms timeout", waited)
		}

		start = time.Now()
		_, err = Acquire(ctx, db2, d.u, 0)
		checkTimeout(t, err, d.u)
		if waited := time.Since(start); waited > 3*time.Second {
			t.Errorf("timeout 0 took %s: it must try once", waited)
		}
		if !strings.Contains(err.Error(), "did not wait") {
			t.Errorf("timeout-0 error does not say it did not wait: %v", err)
		}

		if err := l1.Release(); err != nil {
			t.Fatalf("Release: %v", err)
		}
		l2 := mustAcquire(t, ctx, db2, d.u, 0)
		if err := l2.Release(); err != nil {
			t.Fatalf("Release: %v", err)
		}
	})
}

func TestWaiterGetsTheLockWhenItIsReleased(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		ctx := context.Background()
		d := newDB(t, b)
		l1 := mustAcquire(t, ctx, openPool(t, d.u), d.u, 0)
		db2 := openPool(t, d.u)

		released := make(chan time.Time, 1)
		time.AfterFunc(400*time.Millisecond, func() {
			released <- time.Now()
			l1.Release()
		})
		l2 := mustAcquire(t, ctx, db2, d.u, 20*time.Second)
		got := time.Now()
		at := <-released
		if got.Before(at) {
			t.Fatalf("the waiter got the lock at %s, before it was released at %s", got, at)
		}
		if lag := got.Sub(at); lag > 3*time.Second {
			t.Errorf("the waiter took %s after the release to get the lock", lag)
		}
		l2.Release()
	})
}

func TestReleaseTwiceAndAfterCancel(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b)
		db := openPool(t, d.u)
		ctx, cancel := context.WithCancel(context.Background())
		l, err := Acquire(ctx, db, d.u, 0)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := l.Release(); err != nil {
			t.Fatalf("Release after the context was cancelled: %v", err)
		}
		if err := l.Release(); err != nil {
			t.Fatalf("second Release: %v", err)
		}
		var nilLock *Lock
		if err := nilLock.Release(); err != nil {
			t.Fatalf("Release on nil: %v", err)
		}
		// The release really happened: another pool gets the lock at once.
		l2 := mustAcquire(t, context.Background(), openPool(t, d.u), d.u, 0)
		l2.Release()
	})
}

func TestDifferentDatabasesDoNotBlockEachOther(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		ctx := context.Background()
		a, other := newDB(t, b), newDB(t, b)
		mustAcquire(t, ctx, openPool(t, a.u), a.u, 0)
		l := mustAcquire(t, ctx, openPool(t, other.u), other.u, 0)
		l.Release()
	})
}

// TestOneConnectionPool is the deadlock Atlas's PostgreSQL lock has: with a
// pool limited to one connection, the lock must not take that connection
// away from the migration it protects.
func TestOneConnectionPool(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b)
		db := openPool(t, d.u)
		db.SetMaxOpenConns(1)
		// A regression fails on this deadline instead of hanging the suite.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()

		l, err := Acquire(ctx, db, d.u, 2*time.Second)
		if err != nil {
			t.Fatalf("Acquire on a one-connection pool: %v", err)
		}
		// The schema change the lock protects runs through the same pool.
		for _, stmt := range []string{
			"CREATE TABLE dblock_probe (id INTEGER PRIMARY KEY)",
			"INSERT INTO dblock_probe (id) VALUES (1)",
		} {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s while holding the lock: %v", stmt, err)
			}
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM dblock_probe").Scan(&n); err != nil || n != 1 {
			t.Fatalf("count = %d, %v", n, err)
		}
		// A second Acquire through the same one-connection pool waits and
		// times out rather than deadlocking.
		_, err = Acquire(ctx, db, d.u, 200*time.Millisecond)
		checkTimeout(t, err, d.u)
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		if err := db.PingContext(ctx); err != nil {
			t.Fatalf("the pool is unusable after Release: %v", err)
		}
	})
}

func TestCancelWhileWaiting(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b)
		mustAcquire(t, context.Background(), openPool(t, d.u), d.u, 0)
		db2 := openPool(t, d.u)

		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		start := time.Now()
		_, err := Acquire(ctx, db2, d.u, time.Minute)
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
			t.Fatalf("want context.Canceled (not ErrTimeout), got %v", err)
		}
		if waited := time.Since(start); waited > 3*time.Second {
			t.Errorf("Acquire returned %s after the cancel", waited)
		}
		if !strings.Contains(err.Error(), d.u.Redacted()) || strings.Contains(err.Error(), ":weber@") {
			t.Errorf("error must name the database without its password: %v", err)
		}

		// A context cancelled before the call fails at once, too.
		_, err = Acquire(ctx, db2, d.u, time.Minute)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled context: want context.Canceled, got %v", err)
		}
	})
}

const helperEnv = "WEBER_DBLOCK_HELPER_URL"

// TestHelperProcess is not a test: the cross-process test runs this binary
// again with helperEnv set, and this function then takes the lock, reports
// it on stdout and holds it until killed (or until its stdin closes).
func TestHelperProcess(t *testing.T) {
	raw := os.Getenv(helperEnv)
	if raw == "" {
		t.Skip("the child process of TestKilledHolderFreesTheLock")
	}
	ctx := context.Background()
	u, err := dbconn.Parse(raw)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	db, err := dbconn.Open(ctx, u)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	l, err := Acquire(ctx, db, u, 20*time.Second)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	fmt.Printf("locked %d %s\n", os.Getpid(), os.TempDir())
	io.Copy(io.Discard, os.Stdin)
	l.Release()
	os.Exit(0)
}

// TestKilledHolderFreesTheLock: another process, with another TMPDIR, holds
// the lock; this one cannot take it; kill -9 the holder and the lock is free
// within seconds, with no manual unlock.
func TestKilledHolderFreesTheLock(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		ctx := context.Background()
		d := newDB(t, b)
		db := openPool(t, d.u)

		childTmp := filepath.Join(t.TempDir(), "child-tmp")
		if err := os.Mkdir(childTmp, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+d.raw, "TMPDIR="+childTmp)
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
		var waitOnce sync.Once
		kill := func() {
			waitOnce.Do(func() {
				cmd.Process.Kill()
				cmd.Wait()
			})
		}
		t.Cleanup(func() { stdin.Close(); kill() })

		lines := make(chan string, 16)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		var got string
	wait:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("the helper exited without taking the lock (last line %q)", got)
				}
				got = line
				if strings.HasPrefix(line, "locked ") {
					break wait
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the helper did not take the lock within 30s")
			}
		}
		var pid int
		var tmp string
		if _, err := fmt.Sscanf(got, "locked %d %s", &pid, &tmp); err != nil {
			t.Fatalf("helper said %q: %v", got, err)
		}
		if pid != cmd.Process.Pid {
			t.Fatalf("helper pid %d, started %d", pid, cmd.Process.Pid)
		}
		if tmp != childTmp || tmp == os.TempDir() {
			t.Fatalf("the helper's TMPDIR is %s; want %s, unlike ours (%s)", tmp, childTmp, os.TempDir())
		}

		_, err = Acquire(ctx, db, d.u, 200*time.Millisecond)
		checkTimeout(t, err, d.u)
		// The message names the holder where the engine can tell.
		switch {
		case b.Name == "postgres":
			if want := fmt.Sprintf("pid %d on", pid); !strings.Contains(err.Error(), want) {
				t.Errorf("timeout error does not name the holder %q: %v", want, err)
			}
		case b.Name == "mysql":
			if !strings.Contains(err.Error(), "MySQL connection id") {
				t.Errorf("timeout error does not name the holder's connection: %v", err)
			}
		case fileExists("/proc/locks"):
			if want := fmt.Sprintf("pid %d", pid); !strings.Contains(err.Error(), want) {
				t.Errorf("timeout error does not name the holder %q: %v", want, err)
			}
		}

		if b.Name == "sqlite" {
			// The lock does not get in SQLite's way: another process can
			// still read and write while it is held.
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if _, err := db.ExecContext(wctx, "CREATE TABLE probe (id INTEGER PRIMARY KEY)"); err != nil {
				t.Fatalf("writing while another process holds the lock: %v", err)
			}
			if _, err := db.ExecContext(wctx, "INSERT INTO probe (id) VALUES (1)"); err != nil {
				t.Fatalf("writing while another process holds the lock: %v", err)
			}
		}

		kill() // SIGKILL: no Release, no deferred clean-up in the holder
		start := time.Now()
		l, err := Acquire(ctx, db, d.u, 15*time.Second)
		if err != nil {
			t.Fatalf("after killing the holder: %v", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %s to get the lock after the holder died", took)
		}
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
	})
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestReleaseReportsALostSession: when the lock's session dies while the
// lock is held (the server restarts, a DBA kills it), the lock was freed
// early and Release must say so instead of reporting success.
func TestReleaseReportsALostSession(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		ctx := context.Background()
		d := newDB(t, b)
		db := openPool(t, d.u)
		l := mustAcquire(t, ctx, db, d.u, 0)

		var kill string
		switch b.Name {
		case "postgres":
			kill = `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted
				AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
		case "mysql":
			var id int64
			if err := db.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?)", mysqlLockName(d.u.Database)).Scan(&id); err != nil {
				t.Fatalf("finding the lock's session: %v", err)
			}
			kill = fmt.Sprintf("KILL %d", id)
		}
		if _, err := db.ExecContext(ctx, kill); err != nil {
			t.Fatalf("killing the lock's session: %v", err)
		}
		// The lock is free again: another Acquire gets it.
		l2 := mustAcquire(t, ctx, openPool(t, d.u), d.u, 5*time.Second)
		defer l2.Release()

		err := l.Release()
		if err == nil {
			t.Fatal("Release reported success for a lock whose session was killed")
		}
		if msg := err.Error(); !strings.Contains(msg, "schema change ran meanwhile") || !strings.Contains(msg, d.u.Redacted()) || strings.Contains(msg, "\n") {
			t.Errorf("Release error does not explain the lost lock on one line: %q", msg)
		}
	}, testserver.Except(testserver.SQLite, "a file lock has no session to lose"))
}

func TestMySQLLongDatabaseName(t *testing.T) {
	t.Parallel()
	b := testserver.Lookup(t, "mysql")
	ctx := context.Background()
	name := testserver.NewName()
	name += strings.Repeat("x", 63-len(name)) // the longest name dbconn accepts
	if len(mysqlPrefix+name) <= mysqlMaxName {
		t.Fatal("the name is not long enough to need hashing")
	}
	d := newNamedDB(t, b, &testserver.Options{Name: name})
	l := mustAcquire(t, ctx, openPool(t, d.u), d.u, 0)
	_, err := Acquire(ctx, openPool(t, d.u), d.u, 0)
	checkTimeout(t, err, d.u)
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestMySQLLockName(t *testing.T) {
	t.Parallel()
	// The names are part of the contract between weberctl versions: two
	// releases running at once must still exclude each other.
	if got, want := mysqlLockName("app"), "weber_migrate:app"; got != want {
		t.Errorf("mysqlLockName(app) = %q, want %q", got, want)
	}
	long1 := strings.Repeat("a", 60) + "1"
	long2 := strings.Repeat("a", 60) + "2"
	n1, n2 := mysqlLockName(long1), mysqlLockName(long2)
	if len(n1) > mysqlMaxName || len(n2) > mysqlMaxName {
		t.Errorf("lock names longer than %d: %q, %q", mysqlMaxName, n1, n2)
	}
	if n1 == n2 {
		t.Errorf("two long names share the lock name %q", n1)
	}
	if n1 != mysqlLockName(long1) || !strings.HasPrefix(n1, mysqlPrefix) {
		t.Errorf("lock name %q is not stable or lacks the prefix", n1)
	}
	if want := "weber_migrate:sha256:f0b89547f3c4f898e110867991d702f274d6f9fe242"; n1 != want {
		t.Errorf("mysqlLockName(long) = %q, want %q", n1, want)
	}
}

func TestGetLockResult(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v       sql.NullInt64
		ok, err bool
	}{
		{v: sql.NullInt64{Int64: 1, Valid: true}, ok: true},
		{v: sql.NullInt64{Int64: 0, Valid: true}},
		{v: sql.NullInt64{}, err: true}, // NULL is an error, never the lock
		{v: sql.NullInt64{Int64: 7, Valid: true}, err: true},
	} {
		ok, err := getLockResult(tc.v)
		if ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("getLockResult(%+v) = %v, %v; want ok=%v err=%v", tc.v, ok, err, tc.ok, tc.err)
		}
	}
}

func TestPostgresKey(t *testing.T) {
	t.Parallel()
	// Part of the contract between weberctl versions, like the MySQL name.
	if got, want := pgKey("weber"), pgKey("weber"); got != want {
		t.Fatal("pgKey is not deterministic")
	}
	if pgKey("a") == pgKey("b") {
		t.Error("two databases share a key")
	}
	if got, want := pgKey("weber"), int64(fnvWant("weber:migrate:weber")); got != want {
		t.Errorf("pgKey(weber) = %d, want %d", got, want)
	}
}

// fnvWant is FNV-1a 64 written out, so that the test pins the algorithm.
func fnvWant(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func TestInMemorySQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem := func(raw string) (*sql.DB, *dbconn.URL) {
		t.Helper()
		u, err := dbconn.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return openPool(t, u), u
	}
	db1, u1 := mem("sqlite://:memory:")
	db2, u2 := mem("sqlite://:memory:")

	l := mustAcquire(t, ctx, db1, u1, 0)
	_, err := Acquire(ctx, db1, u1, 100*time.Millisecond)
	checkTimeout(t, err, u1)
	// Another in-memory database is another database.
	l2 := mustAcquire(t, ctx, db2, u2, 0)
	l2.Release()
	l.Release()
	mustAcquire(t, ctx, db1, u1, 0).Release()

	// Pools opening the same named in-memory database share its lock.
	name := "dblock-" + strings.TrimPrefix(testserver.NewName(), testserver.Prefix)
	dbA, uA := mem("sqlite://:memory:?_name=" + name)
	dbB, uB := mem("sqlite://:memory:?_name=" + name)
	la := mustAcquire(t, ctx, dbA, uA, 0)
	_, err = Acquire(ctx, dbB, uB, 0)
	checkTimeout(t, err, uB)
	la.Release()
	mustAcquire(t, ctx, dbB, uB, 0).Release()

	memLocks.Lock()
	defer memLocks.Unlock()
	for key := range memLocks.m {
		if key == any(db1) || key == any(db2) || key == "sqlite-memory:"+name {
			t.Errorf("lock entry %v outlived its holders", key)
		}
	}
}

func TestSQLiteFileErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDB(t, testserver.Backend{Name: "sqlite"})
	db := openPool(t, d.u)

	missing, err := dbconn.Parse("sqlite://" + filepath.Join(t.TempDir(), "missing.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(ctx, db, missing, 0)
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "db ensure") {
		t.Errorf("missing file: want an error saying to run db ensure, got %v", err)
	}
	if fileExists(missing.Database) {
		t.Error("Acquire created the missing database file")
	}

	if _, err := Acquire(ctx, nil, d.u, 0); err == nil {
		t.Error("Acquire accepted a nil *sql.DB")
	}
}
