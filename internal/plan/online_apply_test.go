package plan_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"entgo.io/ent/dialect/entsql"
	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	entmigrate "github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"github.com/weber-framework/weber/internal/upgrade"
)

// Scenarios "Index on a populated table" and "Constraints in two steps":
// the revision that adds an index, a foreign key and a check to existing
// tables applies on a populated PostgreSQL database without blocking its
// writes. While the concurrent build waits for an older transaction, a
// write with a short lock timeout of its own still goes through.
func TestRevisedOnlineFileDoesNotBlockWrites(t *testing.T) {
	t.Parallel()
	dev := os.Getenv("WEBER_DEV_POSTGRES_URL")
	if dev == "" {
		dev = os.Getenv("WEBER_TEST_POSTGRES_URL")
	}
	if dev == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("postgres: CI promised WEBER_DEV_POSTGRES_URL but it is not set")
		}
		t.Skip("postgres: set WEBER_DEV_POSTGRES_URL to run")
	}
	root := t.TempDir()
	tables, err := entschema.CopyTables(entmigrate.Tables)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	rev := func(name string) {
		at = at.Add(time.Minute)
		if _, err := plan.Revise(context.Background(), plan.ReviseOptions{Root: root, Dialects: []string{plan.Postgres},
			DevURLs: map[string]string{plan.Postgres: dev}, Name: name, Tables: tables, Now: func() time.Time { return at }}); err != nil {
			t.Fatalf("revise %s: %v", name, err)
		}
	}
	rev("initial")

	db, u := testserver.NewEmpty(t, testserver.Lookup(t, "postgres"), nil)
	dir := filepath.Join(root, plan.Postgres)
	if _, err := upgrade.Upgrade(context.Background(), db, u, dir, upgrade.Options{}); err != nil {
		t.Fatal(err)
	}
	exec(t, db, `INSERT INTO users (name, email, role, created_at, updated_at)
		SELECT 'u' || g, 'u' || g || '@example.com', 'member', now(), now() FROM generate_series(1, 2000) AS g`)

	var users, posts *entschema.Table
	for _, tb := range tables {
		switch tb.Name {
		case "users":
			users = tb
		case "posts":
			posts = tb
		}
	}
	users.Indexes = append(users.Indexes, &entschema.Index{Name: "user_name", Columns: []*entschema.Column{users.Columns[1]}})
	users.Annotation = &entsql.Annotation{Checks: map[string]string{"users_name_not_blank": "name <> ''"}}
	reviewer := &entschema.Column{Name: "reviewer_id", Type: field.TypeInt, Nullable: true}
	posts.Columns = append(posts.Columns, reviewer)
	posts.ForeignKeys = append(posts.ForeignKeys, &entschema.ForeignKey{Symbol: "posts_users_reviewed", Columns: []*entschema.Column{reviewer},
		RefTable: users, RefColumns: []*entschema.Column{users.PrimaryKey[0]}, OnDelete: entschema.SetNull})
	rev("reviews")

	// A long transaction with an older snapshot, on another table: the
	// ALTERs do not wait for it, the concurrent build does (by design).
	holder, err := db.BeginTx(context.Background(), &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	exec(t, holder, "SELECT COUNT(*) FROM tags")
	done := make(chan error, 1)
	go func() {
		_, err := upgrade.Upgrade(context.Background(), db, u, dir, upgrade.Options{DevURL: dev})
		done <- err
	}()
	waitFor(t, db, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND state = 'active'")
	// The application writes meanwhile, refusing to wait more than 500ms.
	w, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	exec(t, w, "SET lock_timeout = '500ms'")
	exec(t, w, "UPDATE users SET name = name || '!' WHERE id = 7")
	exec(t, w, `INSERT INTO users (name, email, role, created_at, updated_at) VALUES ('new', 'new@example.com', 'member', now(), now())`)
	if err := holder.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	var invalid, notValidated int
	row := db.QueryRow(`SELECT (SELECT COUNT(*) FROM pg_index WHERE NOT indisvalid),
		(SELECT COUNT(*) FROM pg_constraint WHERE NOT convalidated)`)
	if err := row.Scan(&invalid, &notValidated); err != nil || invalid != 0 || notValidated != 0 {
		t.Errorf("after the upgrade: %d INVALID indexes, %d constraints not validated (%v)", invalid, notValidated, err)
	}
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func exec(t *testing.T, q execer, query string) {
	t.Helper()
	if _, err := q.ExecContext(context.Background(), query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func waitFor(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var n int
		if err := db.QueryRow(query).Scan(&n); err == nil && n > 0 {
			return
		}
	}
	t.Fatalf("waited 30s for: %s", query)
}
