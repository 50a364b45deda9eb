package dbconn

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestSQLiteSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u, err := Parse("sqlite://" + filepath.Join(t.TempDir(), "sub", "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	created, err := EnsureDatabase(ctx, u)
	if err != nil || !created {
		t.Fatalf("EnsureDatabase = %v, %v; want created", created, err)
	}
	if again, err := EnsureDatabase(ctx, u); err != nil || again {
		t.Fatalf("second EnsureDatabase = %v, %v; want nothing to do", again, err)
	}
	db, err := Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var fk int
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestSQLiteMemoryIsPrivate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	open := func() *URL {
		u, err := Parse("sqlite://:memory:")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	a, err := Open(ctx, open())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, open())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.ExecContext(ctx, "CREATE TABLE t (x int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ExecContext(ctx, "CREATE TABLE t (x int)"); err != nil {
		t.Fatalf("a second in-memory database sees the first one's table: %v", err)
	}
}

func TestSQLiteDrop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "app.db")
	u, _ := Parse("sqlite://" + path)
	if _, err := EnsureDatabase(ctx, u); err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, s := range []string{"-wal", "-shm"} {
		if err := os.WriteFile(path+s, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dropped, err := DropDatabase(ctx, u)
	if err != nil || !dropped {
		t.Fatalf("DropDatabase = %v, %v", dropped, err)
	}
	for _, s := range []string{"", "-wal", "-shm"} {
		if _, err := os.Stat(path + s); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists after drop", path+s)
		}
	}
	if dropped, err := DropDatabase(ctx, u); err != nil || dropped {
		t.Errorf("dropping a missing database = %v, %v; want false, nil", dropped, err)
	}
}

func TestSQLiteDropRefusesWhatIsNotADatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("my precious notes, not a database"), 0o644)
	link := filepath.Join(dir, "link.db")
	real := filepath.Join(dir, "real.db")
	os.WriteFile(real, nil, 0o644)
	os.Symlink(real, link)
	sub := filepath.Join(dir, "folder.db")
	os.Mkdir(sub, 0o755)
	for path, want := range map[string]string{notes: "not an SQLite database", link: "symbolic link", sub: "directory"} {
		u, _ := Parse("sqlite://" + path)
		_, err := DropDatabase(ctx, u)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DropDatabase(%s) = %v, want an error saying %q", path, err, want)
		}
		if _, err := os.Lstat(path); err != nil {
			t.Errorf("%s was removed: %v", path, err)
		}
	}
}

// serverURLs returns the test servers configured in the environment. Under
// CI=true every server is promised: a missing one fails the test. (This
// package's own tests cannot use testserver, which imports dbconn.)
func serverURLs(t *testing.T) map[string]*URL {
	out := map[string]*URL{}
	for name, env := range map[string]string{"postgres": "WEBER_TEST_POSTGRES_URL", "mysql": "WEBER_TEST_MYSQL_URL"} {
		raw := os.Getenv(env)
		if raw == "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s: CI promised %s but it is not set", name, env)
			}
			t.Logf("%s not run: no server: set %s", name, env)
			continue
		}
		u, err := Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", env, err)
		}
		out[name] = u
	}
	if len(out) == 0 {
		t.Skip("set WEBER_TEST_POSTGRES_URL or WEBER_TEST_MYSQL_URL to run against a server")
	}
	return out
}

func TestServerEnsureAndDrop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, server := range serverURLs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// A neighbour whose name shares a prefix must survive the drop.
			target := server.WithDatabase(RandomName("weber_test_") + "-x")
			neighbour := server.WithDatabase(target.Database + "x")
			t.Cleanup(func() {
				DropDatabase(context.Background(), target)
				DropDatabase(context.Background(), neighbour)
			})
			if _, err := EnsureDatabase(ctx, neighbour); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			results := make([]bool, 2)
			errs := make([]error, 2)
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = EnsureDatabase(ctx, target)
				}()
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil {
				t.Fatalf("concurrent EnsureDatabase: %v, %v", errs[0], errs[1])
			}
			if results[0] == results[1] {
				t.Errorf("concurrent EnsureDatabase created = %v, %v; want exactly one creator", results[0], results[1])
			}
			db, err := Open(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			if dropped, err := DropDatabase(ctx, target); err != nil || !dropped {
				t.Fatalf("DropDatabase = %v, %v", dropped, err)
			}
			if ok, err := Exists(ctx, target); err != nil || ok {
				t.Errorf("after drop Exists = %v, %v", ok, err)
			}
			if ok, err := Exists(ctx, neighbour); err != nil || !ok {
				t.Errorf("the neighbour database was dropped too: Exists = %v, %v", ok, err)
			}
		})
	}
}

func TestOpenRefusesAFileThatIsNotSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "notes.db")
	os.WriteFile(path, []byte("my precious notes, not a database at all"), 0o644)
	u, _ := Parse("sqlite://" + path)
	_, err := Open(context.Background(), u)
	if !errors.Is(err, ErrNotSQLite) {
		t.Fatalf("Open = %v, want ErrNotSQLite", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "my precious notes, not a database at all" {
		t.Errorf("the file was changed: %q", b)
	}
}

// The first connections to a new SQLite file race to switch it to WAL, and
// SQLite reports the loser as SQLITE_BUSY without waiting: Open must wait
// and retry, so that concurrent `db ensure` processes all succeed.
func TestConcurrentFirstOpensOfANewSQLiteFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for round := range 20 {
		u, _ := Parse("sqlite://" + filepath.Join(t.TempDir(), "new.db"))
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				if _, err := EnsureDatabase(ctx, u); err != nil {
					errs[i] = err
					return
				}
				db, err := Open(ctx, u)
				if err == nil {
					_, err = db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS t (x int)")
					db.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, opener %d: %v", round, i, err)
			}
		}
	}
}

// A server reached through its unix socket: postgres://USER:PASS@/DB?host=DIR
// and mysql://USER:PASS@/DB?socket=PATH. The socket's location is asked of
// the test server over TCP, so the test runs wherever the server runs.
func TestUnixSocketURLs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, server := range serverURLs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, err := Open(ctx, server)
			if err != nil {
				t.Fatal(err)
			}
			var socket, port string
			q := "SELECT @@socket, CAST(@@port AS CHAR)"
			if name == "postgres" {
				q = "SELECT current_setting('unix_socket_directories'), current_setting('port')"
			}
			err = db.QueryRowContext(ctx, q).Scan(&socket, &port)
			db.Close()
			if err != nil || socket == "" {
				t.Skipf("the server has no unix socket (%q, %v)", socket, err)
			}
			if _, err := os.Stat(socket); err != nil {
				t.Skipf("the server's socket %s is not on this machine: %v", socket, err)
			}
			// The same user and password as the TCP URL, through the socket.
			userinfo := server.u.User.String()
			var sock string
			if name == "postgres" {
				dir := strings.TrimSpace(strings.Split(socket, ",")[0])
				sock = "postgres://" + userinfo + "@/" + server.Database + "?host=" + dir + "&port=" + port
			} else {
				sock = "mysql://" + userinfo + "@/" + server.Database + "?socket=" + socket
			}
			u, err := Parse(sock)
			if err != nil {
				t.Fatal(err)
			}
			if pw, ok := server.u.User.Password(); ok && !strings.Contains(u.Redacted(), ":xxxxx@/") || strings.Contains(u.Redacted(), ":"+pw+"@") {
				t.Errorf("Redacted() = %q, want the password hidden", u.Redacted())
			}
			sdb, err := Open(ctx, u)
			if err != nil {
				t.Fatalf("Open(%s): %v", u, err)
			}
			defer sdb.Close()
			var one int
			if err := sdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("query over the socket: %d, %v", one, err)
			}
			if got := u.Host(); !strings.Contains(got, "/") {
				t.Errorf("Host() = %q, want the socket path", got)
			}
		})
	}
}

// CreateSQLiteFile never creates a folder: a mistyped path is an error
// wrapping ErrNoFolder, and nothing appears on disk.
func TestCreateSQLiteFileNeedsTheFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	u, err := Parse("sqlite://" + filepath.Join(dir, "no", "such", "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateSQLiteFile(u); !errors.Is(err, ErrNoFolder) || !strings.Contains(err.Error(), "mkdir -p") {
		t.Fatalf("CreateSQLiteFile in a missing folder = %v; want ErrNoFolder naming the fix", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); !os.IsNotExist(err) {
		t.Fatalf("CreateSQLiteFile created a folder: %v", err)
	}
	ok, _ := Parse("sqlite://" + filepath.Join(dir, "app.db"))
	if created, err := CreateSQLiteFile(ok); err != nil || !created {
		t.Fatalf("CreateSQLiteFile in an existing folder = %v, %v; want created", created, err)
	}
	if created, err := CreateSQLiteFile(ok); err != nil || created {
		t.Fatalf("CreateSQLiteFile of an existing file = %v, %v; want nothing to do", created, err)
	}
}

// Weber's PostgreSQL sessions name themselves, so that a DBA looking at
// pg_stat_activity (or db upgrade naming who blocks it) sees "weberctl";
// a name given in the URL wins.
func TestPostgresSessionsNameThemselves(t *testing.T) {
	t.Parallel()
	raw := os.Getenv("WEBER_TEST_POSTGRES_URL")
	if raw == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("postgres: CI promised WEBER_TEST_POSTGRES_URL but it is not set")
		}
		t.Skip("postgres: set WEBER_TEST_POSTGRES_URL to run")
	}
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	for url, want := range map[string]string{raw: "weberctl", raw + sep + "application_name=nightly": "nightly"} {
		u, err := Parse(url)
		if err != nil {
			t.Fatal(err)
		}
		db, err := Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = db.QueryRow("SELECT current_setting('application_name')").Scan(&got)
		db.Close()
		if err != nil || got != want {
			t.Errorf("application_name = %q (%v), want %q", got, err, want)
		}
	}
}
