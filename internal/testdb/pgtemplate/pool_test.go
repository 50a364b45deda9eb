package pgtemplate

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/templates"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

func testServer(t *testing.T) (*Server, string) {
	t.Helper()
	raw := testserver.Lookup(t, testserver.Postgres).URL // a named skip; a failure under CI=true
	u, err := dbconn.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name, _ := NewCloneName()
	s, err := Open(ctx, u, Options{Namespace: "pool-test-" + name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.DropTemplates(context.Background())
		s.Close()
	})
	tpl, err := s.Ensure(ctx, templates.Migrator{Hash: "0123abcd", Migrate: func(ctx context.Context, db *sql.DB, _ *dbconn.URL) error {
		_, err := db.ExecContext(ctx, "CREATE TABLE t (id int PRIMARY KEY, name text UNIQUE)")
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s, tpl
}

func exists(t *testing.T, s *Server, name string) bool {
	t.Helper()
	ok, err := s.exists(context.Background(), s.db, name)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func waitReady(t *testing.T, p *Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(p.ready) < n {
		if time.Now().After(deadline) {
			t.Fatalf("no spare became ready within 10s (%d of %d)", len(p.ready), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPoolHandsOutFreshSparesAndCleansUp(t *testing.T) {
	t.Parallel()
	s, tpl := testServer(t)
	ctx := context.Background()
	p, err := s.NewPool(ctx, tpl, 2)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range 4 {
		if i > 0 {
			waitReady(t, p, 1) // from the second Get on, a spare is ready
		}
		name, db, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, ClonePrefix) || seen[name] {
			t.Fatalf("Get returned %q: want a new weber_test_ name", name)
		}
		seen[name] = true
		if _, err := db.Exec("INSERT INTO t VALUES (1, 'same')"); err != nil {
			t.Fatalf("each handed-out database must be a fresh copy: %v", err)
		}
		var comment sql.NullString
		s.db.QueryRow("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name).Scan(&comment)
		if comment.Valid {
			t.Fatalf("a handed-out database still carries the spare mark %q", comment.String)
		}
		db.Close()
		if err := s.Drop(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	waitReady(t, p, 2)
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	made := append([]string(nil), p.made...)
	p.mu.Unlock()
	if len(made) < 3 {
		t.Fatalf("the pool made %d spares, want at least 3", len(made))
	}
	for _, n := range made {
		if exists(t, s, n) {
			t.Errorf("spare %s is still on the server after Close", n)
		}
	}
}

func TestPoolFallsBackWhenSpareIsGone(t *testing.T) {
	t.Parallel()
	s, tpl := testServer(t)
	ctx := context.Background()
	p, err := s.NewPool(ctx, tpl, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	first, db, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	defer s.Drop(ctx, first)
	waitReady(t, p, 1)
	p.mu.Lock()
	gone := p.made[0]
	p.mu.Unlock()
	// Something drops the spare behind the pool's back.
	if _, err := s.db.Exec(`DROP DATABASE "` + gone + `" WITH (FORCE)`); err != nil {
		t.Fatal(err)
	}
	name, db, err := p.Get(ctx)
	if err != nil {
		t.Fatalf("Get must clone directly when its spare is gone: %v", err)
	}
	defer s.Drop(ctx, name)
	defer db.Close()
	if name == gone {
		t.Fatal("Get handed out a dropped spare")
	}
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
}

func TestNewPoolDropsOnlyOldUnusedSpares(t *testing.T) {
	t.Parallel()
	s, tpl := testServer(t)
	ctx := context.Background()
	mark := func(name string, at time.Time) {
		t.Helper()
		if _, err := s.db.Exec(`COMMENT ON DATABASE "` + name + `" IS '` + spareComment + strconv.FormatInt(at.Unix(), 10) + `'`); err != nil {
			t.Fatal(err)
		}
	}
	var old, young, busy, kept string
	for _, n := range []*string{&old, &young, &busy, &kept} {
		name, err := s.Clone(ctx, tpl)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Drop(ctx, name)
		*n = name
	}
	// busy: a live process's spare, connected before it is marked old
	// (the other way round, another test process's pool could drop it in
	// between, as it should).
	conn, err := dbconn.Open(ctx, s.URL(busy))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	mark(old, time.Now().Add(-2*SpareMaxAge))
	mark(young, time.Now())
	mark(busy, time.Now().Add(-2*SpareMaxAge))
	// kept: an ordinary clone (a failed test's database), no mark.
	p, err := s.NewPool(ctx, tpl, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if exists(t, s, old) {
		t.Error("an unused spare older than SpareMaxAge was not dropped")
	}
	for _, n := range []string{young, busy, kept} {
		if !exists(t, s, n) {
			t.Errorf("%s was dropped: only old, unused spares may be", n)
		}
	}
	// Without spares, Get clones directly.
	name, db, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	s.Drop(ctx, name)
}
