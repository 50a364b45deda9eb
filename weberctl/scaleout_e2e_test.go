package weberctl

import (
	"context"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
)

// scaleOutCopies is how many `serve --migrate` processes the scale-out test
// starts at once.
const scaleOutCopies = 5

// startServe starts `weberctl serve` on a free port without waiting for it.
func (p *project) startServe(args ...string) *serving {
	p.t.Helper()
	cmd := p.command(context.Background(), nil, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	s := &serving{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	go func() { s.err = cmd.Wait(); close(s.exited) }()
	p.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
		}
	})
	return s
}

// waitServing waits until s listens (its base URL is set) or exits, for up
// to wait; it reports whether s listens.
func (s *serving) waitServing(wait time.Duration) bool {
	re := regexp.MustCompile(`Serving on (http://\S+) `)
	deadline := time.After(wait)
	for {
		if m := re.FindStringSubmatch(s.stdout.String()); m != nil {
			s.base = m[1]
			return true
		}
		select {
		case <-s.exited:
			return false
		case <-deadline:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Issue 15.3, the app scales out: several `serve --migrate` copies start at
// once on one database with pending files (the whole history and a slow
// file). All become ready; exactly one applies the files, under the
// migration lock, while the others wait and find nothing left; each file is
// recorded once. Directly on PostgreSQL and MySQL, and through PgBouncer.
func TestE2EServeScaleOut(t *testing.T) {
	t.Parallel()
	forEachE2EPooled(t, func(t *testing.T, p *project) {
		if p.u.Dialect == dialect.SQLite {
			t.Skip("sqlite: one file on one machine; serve brings it up to date itself (TestE2EServe)")
		}
		target := p.u
		if p.direct != nil {
			target = p.direct
		}
		if _, err := dbconn.EnsureDatabase(t.Context(), target); err != nil {
			t.Fatal(err)
		}
		p.addMigration("20991231000000_slow.sql", "CREATE TABLE scale_out (id integer NOT NULL PRIMARY KEY);\n"+slowSQL(p.u.Dialect, 2))
		files, _ := filepath.Glob(filepath.Join(p.folder(), "*.sql"))

		copies := make([]*serving, scaleOutCopies)
		for i := range copies {
			copies[i] = p.startServe("--migrate", "--lock-timeout", "2m", "--max-open-conns", "3")
		}
		appliers, waited := 0, 0
		for i, s := range copies {
			if !s.waitServing(2 * time.Minute) {
				t.Fatalf("copy %d did not start serving\nstdout: %s\nstderr: %s", i, s.stdout, s.stderr)
			}
			if code, body := httpDo(t, "GET", s.base+"/readyz", ""); code != http.StatusOK {
				t.Errorf("copy %d: /readyz %d %s", i, code, body)
			}
			out := s.stdout.String()
			switch {
			case strings.Contains(out, "20991231000000_slow.sql"):
				appliers++
			case strings.Contains(out, "Nothing to do"):
				waited++
			default:
				t.Errorf("copy %d neither applied the files nor found nothing to do:\n%s", i, out)
			}
		}
		if appliers != 1 || waited != scaleOutCopies-1 {
			t.Errorf("%d copies applied the files and %d found nothing to do; want 1 and %d", appliers, waited, scaleOutCopies-1)
		}
		if got := p.historyLen(); got != len(files) {
			t.Errorf("the revision table records %d files, the folder has %d", got, len(files))
		}
		// One copy writes, another reads it back: they share the database.
		if code, body := httpDo(t, "POST", copies[0].base+"/users", `{"name":"Ada","email":"ada@example.com"}`); code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("POST /users: %d %s", code, body)
		}
		if code, body := httpDo(t, "GET", copies[len(copies)-1].base+"/users", ""); code != 200 || !strings.Contains(body, "ada@example.com") {
			t.Errorf("GET /users on another copy: %d %s", code, body)
		}
		for i, s := range copies {
			if code := s.stop(t); code != 0 {
				t.Errorf("copy %d exited %d after SIGTERM\nstderr: %s", i, code, s.stderr)
			}
		}
	})
}

// --max-open-conns bounds the connections one copy of the app opens,
// however many requests arrive at once: with the users table locked by
// another session, ten requests wait, each on a connection of its own
// unless the pool bounds them, and the server never counts more sessions
// of the app than the bound.
func TestE2EServeMaxOpenConns(t *testing.T) {
	t.Parallel()
	skipShort(t)
	// PostgreSQL alone: the sessions are counted in pg_stat_activity.
	func(p *project) {
		p.must("db", "ensure")
		// serve's sessions carry a name of their own: only they are counted.
		sep := "?"
		if strings.Contains(p.url, "?") {
			sep = "&"
		}
		p.url += sep + "application_name=weber-max-open-conns"
		s := p.serve("--max-open-conns", "2")
		if s.base == "" {
			t.Fatalf("serve exited early\nstdout: %s\nstderr: %s", s.stdout, s.stderr)
		}
		ctx := t.Context()
		locker := p.open()
		tx, err := locker.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() { httpDo(t, "GET", s.base+"/users", "") })
		}
		counter := p.open()
		counter.SetMaxOpenConns(1)
		q := `SELECT COUNT(*), COUNT(*) FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity
			WHERE datname = $1 AND application_name = 'weber-max-open-conns'`
		most, waiting := 0, 0
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			var n, w int
			if err := counter.QueryRowContext(ctx, q, p.u.Database).Scan(&n, &w); err != nil {
				t.Fatal(err)
			}
			most, waiting = max(most, n), max(waiting, w)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if waiting == 0 {
			t.Fatal("no request of the app waited for the locked table: the test proves nothing")
		}
		if most > 2 {
			t.Errorf("serve --max-open-conns 2 held %d connections at once", most)
		}
		if code := s.stop(t); code != 0 {
			t.Errorf("serve exited %d after SIGTERM", code)
		}
	}(newProject(t, e2eBackendOf(testserver.Lookup(t, testserver.Postgres))))
}

// A negative pool limit is refused before anything starts, naming the flag.
func TestE2EServeRefusesNegativePoolLimits(t *testing.T) {
	t.Parallel()
	skipShort(t)
	p := &project{t: t, dir: t.TempDir(), url: "sqlite://var/app.db"}
	for _, args := range [][]string{{"--max-open-conns", "-1"}, {"--conn-max-lifetime", "-5m"}} {
		r := p.run(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, args[0]) || !strings.Contains(r.stderr, "negative") {
			t.Errorf("serve %s: exit %d, stderr %q; want exit 2 naming the flag", strings.Join(args, " "), r.code, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
	}
}
