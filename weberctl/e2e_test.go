package weberctl

// The end-to-end suite: it builds the real weberctl binary once and drives
// it as a user would, each command a separate process. SQLite always;
// PostgreSQL and MySQL when WEBER_TEST_POSTGRES_URL / WEBER_TEST_MYSQL_URL
// are set, each test in its own weber_test_* database, dropped afterwards.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// binary is the weberctl built by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run() // the end-to-end tests skip themselves
	}
	tmp, err := os.MkdirTemp("", "weberctl-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binary = filepath.Join(tmp, "weberctl")
	build := exec.Command("go", "build", "-o", binary, "../cmd/weberctl")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building weberctl for the end-to-end tests: %v\n", err)
		return 1
	}
	return m.Run()
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// project is a user's project folder: a working directory holding a copy of
// the repository's migrations, where weberctl runs.
type project struct {
	t   *testing.T
	dir string
	// url is the database the project uses (WEBER_DATABASE_URL).
	url string
	u   *dbconn.URL
	// direct, when not nil, is the database on the server itself while
	// url reaches it through a pooler: the test's own connections use it.
	direct *dbconn.URL
	// env is added to every process's environment.
	env []string
}

// e2eBackend is one engine the suite runs against.
type e2eBackend struct {
	name string
	// newURL returns a database URL that nothing uses yet; the database is
	// dropped when the test ends.
	newURL func(t *testing.T, dir string) string
}

// e2eBackendOf makes the target databases of backend b: on SQLite a file
// under the project's folder, on a server a database from
// testserver.NewURL.
func e2eBackendOf(b testserver.Backend) e2eBackend {
	if b.URL == "" {
		return e2eBackend{name: b.Name, newURL: func(t *testing.T, dir string) string {
			// The project's var/ folder exists, as in a checkout:
			// `db upgrade` never creates folders.
			if err := os.MkdirAll(filepath.Join(dir, "var"), 0o755); err != nil {
				t.Fatal(err)
			}
			return "sqlite://" + filepath.Join(dir, "var", "app.db")
		}}
	}
	return e2eBackend{name: b.Name, newURL: func(t *testing.T, dir string) string {
		t.Helper()
		raw, err := b.URLOf(testserver.NewURL(t, b, nil).Database)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}}
}

// configuredE2EBackends lists SQLite and the servers configured for the run
// (testserver.Backends), for the tests that share one expensive step (a
// build, a revision) across the backends and so loop by hand.
func configuredE2EBackends() []e2eBackend {
	var out []e2eBackend
	for _, b := range testserver.Backends() {
		out = append(out, e2eBackendOf(b))
	}
	return out
}

// skipShort skips end-to-end tests under -short, where no binary is built.
func skipShort(t *testing.T) {
	t.Helper()
	if binary == "" {
		t.Skip("-short: the end-to-end tests build and run the real binary")
	}
}

func newProject(t *testing.T, b e2eBackend) *project {
	t.Helper()
	dir := t.TempDir()
	copyDir(t, filepath.Join("..", "migrations"), filepath.Join(dir, "migrations"))
	url := b.newURL(t, dir)
	u, err := dbconn.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	return &project{t: t, dir: dir, url: url, u: u}
}

// copyDir copies the repository's migrations so that no test touches them.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
}

// command builds a weberctl process in the project, with the project's
// database in WEBER_DATABASE_URL and nothing of the test's own WEBER_*
// environment.
func (p *project) command(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = p.dir
	cmd.Env = cleanEnv(append(append([]string{"WEBER_DATABASE_URL=" + p.url}, p.env...), env...))
	cmd.Stdin = nil // /dev/null: not a terminal
	return cmd
}

func cleanEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "WEBER_") || k == "DATABASE_URL" {
			continue
		}
		env = append(env, kv)
	}
	// No private dev server unless a test asks for one (devserver_e2e_test.go):
	// the tests of "no dev database" advice stay true, and fast.
	env = append(env, "WEBER_DEVSERVER=off")
	return append(env, extra...)
}

// run runs weberctl to completion.
func (p *project) run(args ...string) result {
	p.t.Helper()
	return p.runEnv(nil, args...)
}

func (p *project) runEnv(env []string, args ...string) result {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.t.Context(), 2*time.Minute)
	defer cancel()
	cmd := p.command(ctx, env, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("running weberctl %v: %v", args, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// must runs weberctl and fails the test unless it exits 0.
func (p *project) must(args ...string) result {
	p.t.Helper()
	r := p.run(args...)
	if r.code != 0 {
		p.t.Fatalf("weberctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// open opens the project's database from the test.
func (p *project) open() *sql.DB {
	p.t.Helper()
	u := p.u
	if p.direct != nil {
		u = p.direct
	}
	db, err := dbconn.Open(p.t.Context(), u)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { db.Close() })
	return db
}

func (p *project) exists() bool {
	p.t.Helper()
	ok, err := dbconn.Exists(p.t.Context(), p.u)
	if err != nil {
		p.t.Fatal(err)
	}
	return ok
}

func (p *project) count(db *sql.DB, query string) int {
	p.t.Helper()
	var n int
	if err := db.QueryRowContext(p.t.Context(), query).Scan(&n); err != nil {
		p.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (p *project) insertUsers(db *sql.DB, n int) {
	p.t.Helper()
	q := "INSERT INTO users (name, email, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
	if p.u.Dialect == dialect.Postgres {
		q = "INSERT INTO users (name, email, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)"
	}
	now := time.Now().UTC().Truncate(time.Second)
	for i := range n {
		if _, err := db.ExecContext(p.t.Context(), q, fmt.Sprintf("user %d", i), fmt.Sprintf("u%d@example.com", i), "member", now, now); err != nil {
			p.t.Fatal(err)
		}
	}
}

// folder is the project's migration folder for its dialect.
func (p *project) folder() string {
	switch p.u.Dialect {
	case dialect.SQLite:
		return filepath.Join(p.dir, "migrations", "sqlite")
	case dialect.Postgres:
		return filepath.Join(p.dir, "migrations", "postgres")
	}
	return filepath.Join(p.dir, "migrations", "mysql")
}

// addMigration writes a migration file and re-hashes the folder with the
// binary, as a user would.
func (p *project) addMigration(name, content string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.folder(), name), []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.must("db", "hash", "--dialect", filepath.Base(p.folder()))
}

// historyLen returns the number of revisions `db history --json` lists.
func (p *project) historyLen() int {
	p.t.Helper()
	r := p.must("db", "history", "--json")
	var revs []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &revs); err != nil {
		p.t.Fatalf("db history --json: %v\n%s", err, r.stdout)
	}
	return len(revs)
}

func TestE2EEnsureTwice(t *testing.T) {
	t.Parallel()
	forEachE2EPooled(t, func(t *testing.T, p *project) {
		first := p.must("db", "ensure")
		if !strings.Contains(first.stdout, "Created database") {
			t.Errorf("first ensure did not create the database:\n%s", first.stdout)
		}
		if !strings.Contains(first.stdout, "Applied the migration history") && !strings.Contains(first.stdout, "Created table users") {
			t.Errorf("first ensure created no schema:\n%s", first.stdout)
		}
		second := p.must("db", "ensure")
		if !strings.HasPrefix(second.stdout, "Nothing to do") {
			t.Errorf("second ensure: want nothing to do, got:\n%s", second.stdout)
		}
		// The database ensure built from the history can be upgraded later.
		up := p.must("db", "upgrade")
		if !strings.HasPrefix(up.stdout, "Nothing to do: the database is at version") {
			t.Errorf("upgrade after ensure:\n%s", up.stdout)
		}
	})
}

func TestE2EEnsureConcurrent(t *testing.T) {
	t.Parallel()
	forEachE2EPooled(t, func(t *testing.T, p *project) {
		var wg sync.WaitGroup
		results := make([]result, 2)
		for i := range results {
			wg.Go(func() { results[i] = p.run("db", "ensure", "--json") })
		}
		wg.Wait()
		created := 0
		for i, r := range results {
			if r.code != 0 {
				t.Fatalf("ensure %d: exit %d: %s", i, r.code, r.stderr)
			}
			var res struct {
				DatabaseCreated bool     `json:"database_created"`
				History         []string `json:"history"`
				Tables          []string `json:"tables"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
				t.Fatalf("ensure %d: %v\n%s", i, err, r.stdout)
			}
			if res.DatabaseCreated {
				created++
			}
		}
		if created != 1 {
			t.Errorf("%d processes say they created the database, want exactly 1", created)
		}
		if again := p.must("db", "ensure"); !strings.HasPrefix(again.stdout, "Nothing to do") {
			t.Errorf("ensure after the race:\n%s", again.stdout)
		}
		if files, _ := filepath.Glob(filepath.Join(p.folder(), "*.sql")); p.historyLen() != len(files) {
			t.Errorf("history has %d revisions, the folder %d files: something was applied twice or not at all", p.historyLen(), len(files))
		}
	})
}

func TestE2EDropWithoutYesRefuses(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "ensure")
		db := p.open()
		p.insertUsers(db, 2)
		r := p.run("db", "drop")
		if r.code != 1 || !strings.Contains(r.stderr, "--yes") {
			t.Fatalf("drop without --yes off a terminal: exit %d, stderr %q", r.code, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		if !p.exists() || p.count(db, "SELECT COUNT(*) FROM users") != 2 {
			t.Errorf("a refused drop changed the database")
		}
	})
}

func TestE2EDropYesRemovesEverything(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "ensure")
		var db *sql.DB
		if p.u.Dialect == dialect.SQLite {
			// An open connection that has written keeps -wal and -shm in place.
			db = p.open()
			p.insertUsers(db, 1)
			for _, s := range []string{"-wal", "-shm"} {
				if _, err := os.Stat(p.u.Database + s); err != nil {
					t.Fatalf("precondition: %v", err)
				}
			}
		}
		r := p.must("db", "drop", "--yes")
		if !strings.HasPrefix(r.stdout, "Dropped ") {
			t.Errorf("drop --yes printed %q", r.stdout)
		}
		if p.exists() {
			t.Errorf("the database still exists after drop --yes")
		}
		if p.u.Dialect == dialect.SQLite {
			for _, s := range []string{"", "-wal", "-shm"} {
				if _, err := os.Lstat(p.u.Database + s); !os.IsNotExist(err) {
					t.Errorf("%s still exists after drop --yes", p.u.Database+s)
				}
			}
		}
		if again := p.must("db", "drop", "--yes"); !strings.HasPrefix(again.stdout, "Nothing to drop") {
			t.Errorf("second drop printed %q", again.stdout)
		}
	})
}

func TestE2EProductionRefusesDrop(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		if r := p.runEnv([]string{"WEBER_ENV=production"}, "db", "ensure"); r.code != 0 {
			t.Fatalf("ensure: %s", r.stderr)
		}
		r := p.run("db", "drop", "--yes")
		if r.code != 1 || !strings.Contains(r.stderr, "--force-production") || !strings.Contains(r.stderr, "production") {
			t.Fatalf("drop --yes of a production database: exit %d, stderr %q", r.code, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		if !p.exists() {
			t.Fatal("the production database is gone after a refused drop")
		}
		p.must("db", "drop", "--yes", "--force-production")
		if p.exists() {
			t.Errorf("the database still exists after --force-production")
		}
	})
}

func TestE2EBadURLs(t *testing.T) {
	t.Parallel()
	skipShort(t)
	const secret = "s3cr3t-PW"
	urls := map[string]string{
		"bad escape":     "postgres://weber:" + secret + "%zz@127.0.0.1:5432/app",
		"bad port":       "postgres://weber:" + secret + "@127.0.0.1:99999/app",
		"port not a num": "mysql://weber:" + secret + "@127.0.0.1:abc/app",
		"unknown scheme": "oracle://weber:" + secret + "@127.0.0.1/app",
		"no database":    "postgres://weber:" + secret + "@127.0.0.1:5432/",
		"semicolon name": "postgres://weber:" + secret + "@127.0.0.1:5432/app;DROP",
		"backtick name":  "mysql://weber:" + secret + "@127.0.0.1:3306/app%60x",
		"unreachable pg": "postgres://weber:" + secret + "@127.0.0.1:1/app",
		"unreachable my": "mysql://weber:" + secret + "@127.0.0.1:1/app",
	}
	dir := t.TempDir()
	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkBadURL(t, &project{t: t, dir: dir, url: url})
		})
	}
	// A wrong password, for a role of the test's own (skipped, saying so,
	// on a server that does not check passwords).
	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		testserver.Each(t, func(t *testing.T, b testserver.Backend) {
			checkBadURL(t, &project{t: t, dir: dir, url: testserver.WrongPasswordURL(t, b, secret)})
		}, testserver.Except(testserver.SQLite, "an SQLite URL has no password"))
	})
}

// checkBadURL runs the commands that open the database on p's bad URL:
// each fails with one line, exit 1, without the password.
func checkBadURL(t *testing.T, p *project) {
	t.Helper()
	for _, args := range [][]string{
		{"db", "ensure"},
		{"db", "ensure", "--json"},
		{"db", "drop", "--yes"},
		{"db", "status", "--json"},
		{"db", "upgrade"},
		{"serve", "--addr", "127.0.0.1:0"},
	} {
		r := p.run(args...)
		if r.code != 1 {
			t.Errorf("%v: exit %d, want 1 (stderr %q)", args, r.code, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		if strings.Contains(r.stdout+r.stderr, "s3cr3t") {
			t.Errorf("%v: the password appears: stdout %q stderr %q", args, r.stdout, r.stderr)
		}
	}
	// The same URL given as a flag.
	r := p.run("db", "ensure", "--database-url", p.url)
	if r.code != 1 || strings.Contains(r.stdout+r.stderr, "s3cr3t") {
		t.Errorf("--database-url: exit %d, stderr %q", r.code, r.stderr)
	}
}

// The development loop: a database older than the models (here: the
// column is dropped by hand) gets the column back from `db ensure`, and
// keeps every row.
func TestE2EDevLoopAddsColumnKeepsRows(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "ensure")
		db := p.open()
		p.insertUsers(db, 5)
		if _, err := db.ExecContext(t.Context(), "ALTER TABLE users DROP COLUMN bio"); err != nil {
			t.Fatal(err)
		}
		r := p.must("db", "ensure")
		if !strings.Contains(r.stdout, "Added column users.bio") {
			t.Errorf("ensure on the older database:\n%s", r.stdout)
		}
		if n := p.count(db, "SELECT COUNT(*) FROM users WHERE bio IS NULL"); n != 5 {
			t.Errorf("users after ensure: %d, want 5", n)
		}
	})
}

// serving is a running `weberctl serve`.
type serving struct {
	cmd    *exec.Cmd
	base   string
	stdout *syncBuffer
	stderr *syncBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // its Wait error, once exited is closed
}

// serve starts `weberctl serve` on a free port and waits until it listens.
func (p *project) serve(args ...string) *serving {
	p.t.Helper()
	cmd := p.command(context.Background(), nil, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	s := &serving{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	go func() { s.err = cmd.Wait(); close(s.exited) }()
	p.t.Cleanup(func() {
		_ = cmd.Process.Kill() // fails harmlessly once it has exited
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
		}
	})
	re := regexp.MustCompile(`Serving on (http://\S+) `)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(s.stdout.String()); m != nil {
			s.base = m[1]
			return s
		}
		select {
		case <-s.exited:
			return s
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.t.Fatalf("serve did not start in time\nstdout: %s\nstderr: %s", s.stdout, s.stderr)
	return nil
}

// stop sends SIGTERM and returns the exit code.
func (s *serving) stop(t *testing.T) int {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
		if ee, ok := s.err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if s.err != nil {
			t.Fatal(s.err)
		}
		return 0
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20s of SIGTERM")
	}
	return -1
}

func httpDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestE2EServe(t *testing.T) {
	t.Parallel()
	forEachE2EPooled(t, func(t *testing.T, p *project) {
		if p.u.Dialect != dialect.SQLite {
			// Off the embedded default serve does not create anything.
			p.must("db", "ensure")
		}
		s := p.serve()
		if s.base == "" {
			t.Fatalf("serve exited early\nstdout: %s\nstderr: %s", s.stdout, s.stderr)
		}
		if p.u.Dialect == dialect.SQLite && !p.exists() {
			t.Fatal("serve on SQLite did not create the database")
		}
		if code, body := httpDo(t, "GET", s.base+"/livez", ""); code != 200 {
			t.Errorf("/livez: %d %s", code, body)
		}
		if code, body := httpDo(t, "GET", s.base+"/readyz", ""); code != 200 {
			t.Errorf("/readyz: %d %s", code, body)
		}
		code, body := httpDo(t, "POST", s.base+"/users", `{"name":"Ada","email":"ada@example.com"}`)
		if code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("POST /users: %d %s", code, body)
		}
		code, body = httpDo(t, "GET", s.base+"/users", "")
		if code != 200 || !strings.Contains(body, "ada@example.com") {
			t.Errorf("GET /users: %d %s", code, body)
		}
		// What a cross-site form can send is refused.
		resp, err := http.Post(s.base+"/users", "text/plain", strings.NewReader(`{"name":"Eve","email":"eve@example.com"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("POST /users as text/plain: %d, want 415", resp.StatusCode)
		}
		if code := s.stop(t); code != 0 {
			t.Errorf("serve exited %d after SIGTERM\nstdout: %s\nstderr: %s", code, s.stdout, s.stderr)
		}
		if strings.Contains(s.stdout.String()+s.stderr.String(), "s3cr3t") {
			t.Errorf("serve printed a password")
		}
	})
}

// Off the embedded default, serve refuses pending files unless --migrate;
// with --migrate it applies them and serves.
func TestE2EServeRefusesPendingFiles(t *testing.T) {
	t.Parallel()
	forEachE2EPooled(t, func(t *testing.T, p *project) {
		p.must("db", "ensure")
		p.addMigration("20991231000000_notes.sql", "CREATE TABLE notes (id integer NOT NULL PRIMARY KEY);\n")
		r := p.run("serve", "--addr", "127.0.0.1:0")
		if r.code != 1 || !strings.Contains(r.stderr, "1 migration file is pending") || !strings.Contains(r.stderr, "weberctl db upgrade") {
			t.Fatalf("serve with a pending file: exit %d, stderr %q", r.code, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		s := p.serve("--migrate")
		if s.base == "" {
			t.Fatalf("serve --migrate did not start\nstdout: %s\nstderr: %s", s.stdout, s.stderr)
		}
		if !strings.Contains(s.stdout.String(), "20991231000000_notes.sql") {
			t.Errorf("serve --migrate did not report the file it applied:\n%s", s.stdout)
		}
		if code, body := httpDo(t, "GET", s.base+"/readyz", ""); code != 200 {
			t.Errorf("/readyz after --migrate: %d %s", code, body)
		}
		// A file added while serving makes the app not ready.
		p.addMigration("20991231000001_more.sql", "CREATE TABLE more_notes (id integer NOT NULL PRIMARY KEY);\n")
		if code, body := httpDo(t, "GET", s.base+"/readyz", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "pending") {
			t.Errorf("/readyz with a pending file: %d %s", code, body)
		}
		if code := s.stop(t); code != 0 {
			t.Errorf("serve exited %d after SIGTERM", code)
		}
	}, testserver.Except(testserver.SQLite, "on SQLite, the embedded default, serve brings the schema up to date itself"))
}

func TestE2EUpgradeStatusHistory(t *testing.T) {
	t.Parallel()
	forEachE2EPooled(t, func(t *testing.T, p *project) {
		p.must("db", "ensure")
		db := p.open()
		p.insertUsers(db, 3)
		before := p.historyLen()
		p.addMigration("20991231000000_notes.sql", "CREATE TABLE notes (id integer NOT NULL PRIMARY KEY);\nCREATE TABLE more_notes (id integer NOT NULL PRIMARY KEY);\n")

		st := p.must("db", "status", "--json", "--skip-models")
		var status struct {
			History struct {
				UpToDate bool `json:"up_to_date"`
				Pending  []struct {
					Name string `json:"name"`
				} `json:"pending"`
			} `json:"history"`
		}
		if err := json.Unmarshal([]byte(st.stdout), &status); err != nil {
			t.Fatalf("status --json: %v\n%s", err, st.stdout)
		}
		if status.History.UpToDate || len(status.History.Pending) != 1 || status.History.Pending[0].Name != "20991231000000_notes.sql" {
			t.Errorf("status before the upgrade: %s", st.stdout)
		}

		dry := p.must("db", "upgrade", "--dry-run")
		if !strings.Contains(dry.stdout, "CREATE TABLE notes") {
			t.Errorf("upgrade --dry-run does not show the SQL:\n%s", dry.stdout)
		}
		if p.historyLen() != before {
			t.Fatal("upgrade --dry-run changed the history")
		}
		up := p.must("db", "upgrade")
		if !regexp.MustCompile(`20991231000000_notes\.sql \(2 statements\) \.\.\. done in`).MatchString(up.stdout) ||
			!strings.Contains(up.stdout, "to 20991231000000") {
			t.Errorf("upgrade output:\n%s", up.stdout)
		}
		again := p.must("db", "upgrade")
		if strings.TrimSpace(again.stdout) != "Nothing to do: the database is at version 20991231000000." {
			t.Errorf("second upgrade:\n%s", again.stdout)
		}
		if p.historyLen() != before+1 {
			t.Errorf("history has %d revisions, want %d", p.historyLen(), before+1)
		}
		if n := p.count(db, "SELECT COUNT(*) FROM users"); n != 3 {
			t.Errorf("users after the upgrade: %d, want 3", n)
		}
		hist := p.must("db", "history")
		if !strings.Contains(hist.stdout, "20991231000000") || !strings.Contains(hist.stdout, "2/2") {
			t.Errorf("history:\n%s", hist.stdout)
		}
	})
}

// slowSQL is a statement that takes a few seconds on each engine.
func slowSQL(dia string, seconds int) string {
	switch dia {
	case dialect.Postgres:
		return fmt.Sprintf("SELECT pg_sleep(%d);\n", seconds)
	case dialect.MySQL:
		return fmt.Sprintf("DO SLEEP(%d);\n", seconds)
	}
	// SQLite has no sleep: a recursive count, 1.5 million rows per second asked.
	return fmt.Sprintf("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < %d) SELECT count(*) FROM c;\n", seconds*1500000)
}

// Scenario "Concurrent upgrades": five `db upgrade` processes start together, one file is
// slow. Every file is applied exactly once; the others wait and report
// nothing pending, or fail with a clear "locked" error after a lock
// timeout shorter than the slow file. On SQLite each process has its own
// TMPDIR (Atlas's SQLite lock lives there and would not exclude).
func TestE2EConcurrentUpgrades(t *testing.T) {
	t.Parallel()
	forEachE2EPooled(t, func(t *testing.T, p *project) {
		p.must("db", "ensure")
		p.addMigration("20991231000000_slow.sql", "CREATE TABLE before_slow (id integer NOT NULL PRIMARY KEY);\n"+slowSQL(p.u.Dialect, 3))
		p.addMigration("20991231000001_after.sql", "CREATE TABLE after_slow (id integer NOT NULL PRIMARY KEY);\n")
		before := p.historyLen()

		results := make([]result, 5)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() {
				timeout := "1m"
				if i >= 3 {
					timeout = "1s" // outlasted by the slow file
				}
				tmp := t.TempDir()
				results[i] = p.runEnv([]string{"TMPDIR=" + tmp}, "db", "upgrade", "--lock-timeout", timeout)
			})
		}
		wg.Wait()
		applied, nothing, locked := 0, 0, 0
		for i, r := range results {
			switch {
			case r.code == 0 && strings.Contains(r.stdout, "20991231000000_slow.sql"):
				applied++
			case r.code == 0 && strings.HasPrefix(r.stdout, "Nothing to do"):
				nothing++
			case r.code == 1 && strings.Contains(r.stderr, "lock"):
				_, rest := waitLines(r.stderr) // the notice that it waits
				assertOneErrorLine(t, rest)
				locked++
			default:
				t.Errorf("process %d: exit %d\nstdout: %s\nstderr: %s", i, r.code, r.stdout, r.stderr)
			}
		}
		if applied != 1 {
			t.Errorf("%d processes applied the files, want exactly 1 (nothing to do: %d, locked: %d)", applied, nothing, locked)
		}
		if got := p.historyLen(); got != before+2 {
			t.Errorf("history has %d revisions after the race, want %d", got, before+2)
		}
		t.Logf("applied: %d, nothing to do: %d, lock timeout: %d", applied, nothing, locked)
	})
}

// Scenario "Lock holder killed": kill -9 the process holding the lock in the middle of a
// file; the next upgrade gets the lock within seconds, without a manual
// unlock.
func TestE2EKilledLockHolder(t *testing.T) {
	t.Parallel()
	forEachE2EPooled(t, func(t *testing.T, p *project) {
		p.must("db", "ensure")
		p.addMigration("20991231000000_slow.sql", slowSQL(p.u.Dialect, 20))

		cmd := p.command(context.Background(), nil, "db", "upgrade")
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(out.String(), "20991231000000_slow.sql (") {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("the slow file never started:\n%s", out)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // inside the slow statement
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()

		// The file never completed: make it quick before running it again
		// (allowed: nothing of it is recorded as applied).
		p.addMigration("20991231000000_slow.sql", "CREATE TABLE after_kill (id integer NOT NULL PRIMARY KEY);\n")
		// --lock-timeout bounds the wait: a lock that outlived its holder
		// fails this upgrade with "holds the migration lock".
		r := p.run("db", "upgrade", "--lock-timeout", "10s")
		if strings.Contains(r.stderr, "holds the migration lock") {
			t.Fatalf("the lock of the killed process was not freed: %s", r.stderr)
		}
		if p.u.Dialect == dialect.MySQL && r.code != 0 {
			// The statement ran outside a transaction and its outcome was
			// never recorded: the tool names it and asks.
			if !strings.Contains(r.stderr, "--retry") {
				t.Fatalf("upgrade after the kill: exit %d: %s", r.code, r.stderr)
			}
			p.must("db", "upgrade", "--retry", "--lock-timeout", "10s")
		} else if r.code != 0 {
			t.Fatalf("upgrade after the kill: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		st := p.must("db", "status", "--json", "--skip-models")
		if !strings.Contains(st.stdout, `"up_to_date": true`) {
			t.Errorf("status after recovery:\n%s", st.stdout)
		}
	})
}

// devEnv passes the dev servers of the test environment to weberctl.
func devEnv() []string {
	var env []string
	for _, k := range []string{"WEBER_DEV_POSTGRES_URL", "WEBER_DEV_MYSQL_URL"} {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		} else if v := os.Getenv(strings.Replace(k, "_DEV_", "_TEST_", 1)); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// The deployment loop through the binary: a database built by `db upgrade`
// holding rows; `db revision` writes what the models add to the history;
// `db upgrade` applies it and every row is still there; then a revision
// writes nothing and `db check` passes.
func TestE2ERevisionUpgradeLoop(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.env = devEnv()
		dia := filepath.Base(p.folder())
		if p.u.Dialect != dialect.SQLite {
			// Production engines do not get created by upgrade.
			p.must("db", "ensure", "--dir", t.TempDir()) // no history: database only
			p.must("db", "drop", "--yes")
			if _, err := dbconn.EnsureDatabase(t.Context(), p.u); err != nil {
				t.Fatal(err)
			}
		}
		p.must("db", "upgrade")
		db := p.open()
		p.insertUsers(db, 4)

		rev := p.must("db", "revision", "--name", "loop", "--dialect", dia, "--json")
		var res struct {
			Written bool
		}
		if err := json.Unmarshal([]byte(rev.stdout), &res); err != nil {
			t.Fatalf("revision --json: %v\n%s", err, rev.stdout)
		}
		up := p.must("db", "upgrade")
		if res.Written && !strings.Contains(up.stdout, "_loop.sql") {
			t.Errorf("upgrade did not apply the revision:\n%s", up.stdout)
		}
		if n := p.count(db, "SELECT COUNT(*) FROM users"); n != 4 {
			t.Errorf("users after the upgrade: %d, want 4", n)
		}
		again := p.must("db", "revision", "--name", "again", "--dialect", dia)
		if !strings.HasPrefix(again.stdout, "No difference") {
			t.Errorf("a second revision wrote something:\n%s", again.stdout)
		}
		p.must("db", "check", "--dialect", dia)
		st := p.must("db", "status", "--json")
		if !strings.Contains(st.stdout, `"clean": true`) || !strings.Contains(st.stdout, `"ahead": false`) {
			t.Errorf("status after the loop:\n%s", st.stdout)
		}
	})
}

func TestE2EDowngrade(t *testing.T) {
	t.Parallel()
	forEachE2EPooled(t, func(t *testing.T, p *project) {
		p.env = devEnv()
		p.must("db", "ensure")
		p.addMigration("20991231000000_notes.sql", "CREATE TABLE notes (id integer NOT NULL PRIMARY KEY);\n")
		p.must("db", "upgrade")
		db := p.open()
		if _, err := db.ExecContext(t.Context(), "INSERT INTO notes (id) VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		before := p.historyLen()

		dry := p.must("db", "downgrade", "--dry-run")
		if !strings.Contains(strings.ToUpper(dry.stdout), "DROP TABLE") || p.historyLen() != before {
			t.Errorf("downgrade --dry-run:\n%s", dry.stdout)
		}
		r := p.run("db", "downgrade")
		if r.code != 1 || !strings.Contains(r.stderr, "--allow-data-loss") {
			t.Fatalf("downgrade dropping a table with a row: exit %d, %q", r.code, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		p.must("db", "downgrade", "--allow-data-loss")
		if got := p.historyLen(); got != before-1 {
			t.Errorf("history after the downgrade: %d revisions, want %d", got, before-1)
		}
		st := p.must("db", "status", "--json", "--skip-models")
		if !strings.Contains(st.stdout, "20991231000000_notes.sql") {
			t.Errorf("the reverted file is not pending again:\n%s", st.stdout)
		}
	})
}

// A pending file that would destroy rows is refused, naming the flag, and
// applied with --allow-data-loss.
func TestE2EUpgradeRefusesDataLoss(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.env = devEnv()
		p.must("db", "ensure")
		db := p.open()
		p.insertUsers(db, 2)
		if _, err := db.ExecContext(t.Context(), "UPDATE users SET bio = 'written by hand'"); err != nil {
			t.Fatal(err)
		}
		p.addMigration("20991231000000_drop_bio.sql", "ALTER TABLE users DROP COLUMN bio;\n")
		r := p.run("db", "upgrade")
		if r.code != 1 || !strings.Contains(r.stderr, "--allow-data-loss") {
			t.Fatalf("upgrade dropping a column with data: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		if n := p.count(db, "SELECT COUNT(*) FROM users WHERE bio = 'written by hand'"); n != 2 {
			t.Fatalf("the refused upgrade changed the data: %d rows keep their bio", n)
		}
		dry := p.must("db", "upgrade", "--dry-run")
		if !strings.Contains(dry.stdout, "data loss") {
			t.Errorf("upgrade --dry-run does not show the risk:\n%s", dry.stdout)
		}
		p.must("db", "upgrade", "--allow-data-loss")
		if n := p.count(db, "SELECT COUNT(*) FROM users"); n != 2 {
			t.Errorf("users after dropping the column: %d, want 2", n)
		}
	})
}

// Scenario "Lock holder killed", the polite half: SIGTERM in the middle of a file stops
// the upgrade promptly with one line; the file rolls back (or, on MySQL,
// is recorded as started) and the lock is free for the next upgrade.
func TestE2EInterruptedUpgrade(t *testing.T) {
	t.Parallel()
	forEachE2EPooled(t, func(t *testing.T, p *project) {
		p.must("db", "ensure")
		p.addMigration("20991231000000_slow.sql", "CREATE TABLE half_done (id integer NOT NULL PRIMARY KEY);\n"+slowSQL(p.u.Dialect, 20))

		cmd := p.command(context.Background(), nil, "db", "upgrade")
		stdout, stderr := &syncBuffer{}, &syncBuffer{}
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(stdout.String(), "20991231000000_slow.sql (") {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("the slow file never started:\n%s", stdout)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		sent := time.Now()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		if took := time.Since(sent); took > 10*time.Second {
			t.Errorf("upgrade took %s to stop after SIGTERM", took)
		}
		if err == nil {
			t.Errorf("an interrupted upgrade exited 0")
		}
		assertOneErrorLine(t, stderr.String())
		// The advice is to run the upgrade again, not to fix and rehash.
		// (MySQL records the interrupted statement as unconfirmed: the next
		// upgrade asks whether it ran.)
		msg := stderr.String()
		type advice struct{ Interrupted, RunAgain, Rehash bool }
		got := advice{strings.Contains(msg, "interrupted"),
			strings.Contains(msg, "run `weberctl db upgrade` again") || strings.Contains(msg, "the next upgrade will ask"),
			strings.Contains(msg, "db hash")}
		if diff := cmp.Diff(advice{Interrupted: true, RunAgain: true}, got); diff != "" {
			t.Errorf("the interruption's message %q (-want +got):\n%s", msg, diff)
		}

		if p.u.Dialect != dialect.MySQL {
			// The file's transaction rolled back: nothing of it persists.
			db := p.open()
			var n int
			q := "SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_done'"
			if p.u.Dialect == dialect.Postgres {
				q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'half_done'"
			}
			if err := db.QueryRowContext(t.Context(), q).Scan(&n); err != nil || n != 0 {
				t.Errorf("half of the interrupted file persists (%d, %v)", n, err)
			}
		}
		p.addMigration("20991231000000_slow.sql", "CREATE TABLE half_done (id integer NOT NULL PRIMARY KEY);\n")
		r := p.run("db", "upgrade", "--lock-timeout", "2s")
		if r.code != 0 && p.u.Dialect == dialect.MySQL && strings.Contains(r.stderr, "--retry") {
			r = p.run("db", "upgrade", "--lock-timeout", "2s", "--retry")
		}
		if r.code != 0 {
			t.Fatalf("upgrade after the interruption: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
	})
}

// `db verify` passes on the project's history and catches a file that
// loses rows, which no other check sees.
func TestE2EVerify(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.env = devEnv()
		dia := filepath.Base(p.folder())
		r := p.must("db", "verify", "--dialect", dia, "--json")
		var rep struct {
			Dialects []struct {
				Skipped bool
				Steps   []struct{ Status string }
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Dialects) != 1 || rep.Dialects[0].Skipped {
			t.Fatalf("verify --json: %v\n%s", err, r.stdout)
		}
		p.addMigration("20991231000000_oops.sql", "DELETE FROM users;\n")
		bad := p.run("db", "verify", "--dialect", dia)
		if bad.code != 1 || !strings.Contains(bad.stdout, "FAIL") || !strings.Contains(bad.stderr, "users") {
			t.Fatalf("verify of a file deleting every user: exit %d\nstdout: %s\nstderr: %s", bad.code, bad.stdout, bad.stderr)
		}
		assertOneErrorLine(t, bad.stderr)
	})
}

// A database name that needs quoting (mixed case, a hyphen) is created and
// dropped as itself, and nothing else on the server is touched.
func TestE2EOddDatabaseName(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		base, err := dbconn.Parse(b.URL)
		if err != nil {
			t.Fatal(err)
		}
		name := testserver.Prefix + "Odd-Name_" + strings.TrimPrefix(testserver.NewName(), testserver.Prefix)
		neighbour := testserver.NewURL(t, b, nil)
		if _, err := dbconn.EnsureDatabase(t.Context(), neighbour); err != nil {
			t.Fatal(err)
		}
		odd := testserver.NewURL(t, b, &testserver.Options{Name: name})
		raw, err := b.URLOf(name)
		if err != nil {
			t.Fatal(err)
		}
		p := &project{t: t, dir: t.TempDir(), url: raw, u: odd}
		p.must("db", "ensure", "--dir", t.TempDir())
		if !p.exists() {
			t.Fatalf("ensure did not create %s", name)
		}
		p.must("db", "drop", "--yes")
		if p.exists() {
			t.Errorf("%s still exists after drop", name)
		}
		if ok, err := dbconn.Exists(t.Context(), neighbour); err != nil || !ok {
			t.Errorf("the neighbouring database is gone (%v)", err)
		}
		if ok, err := dbconn.Exists(t.Context(), base); err != nil || !ok {
			t.Errorf("the server's own database is gone (%v)", err)
		}
	}, testserver.Except(testserver.SQLite, "an SQLite database is a file path, not a name to quote"))
}

// `db check` through the binary, as a CI job runs it: it passes on the
// project's history and fails, one stderr line, when the models are ahead
// (the newest file removed from a copy of the history).
func TestE2ECheck(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.env = devEnv()
		dia := filepath.Base(p.folder())
		p.must("db", "check", "--dialect", dia)
		// The newest schema change (the files after it change data only).
		files, err := filepath.Glob(filepath.Join(p.folder(), "*_add_user_name_parts.sql"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no migration file (%v)", err)
		}
		if err := os.Remove(files[len(files)-1]); err != nil {
			t.Fatal(err)
		}
		p.must("db", "hash", "--dialect", dia)
		r := p.run("db", "check", "--dialect", dia)
		// Two problems: the models are ahead of this folder, and the other
		// kept folders still have the file's version.
		want := outcome{Code: 1, StderrLines: 1}
		got := outcomeOf(r, []string{dia + ": the models are ahead of", "is missing from migrations/" + dia}, []string{"weberctl: db check found 2 problems\n"})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("check with the newest file removed (-want +got):\n%s\nstdout: %s\nstderr: %s", diff, r.stdout, r.stderr)
		}
	})
}
