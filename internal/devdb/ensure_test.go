package devdb_test

import (
	"context"
	"errors"
	"github.com/weber-framework/weber/ent/migrate"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/devdb"
	"github.com/weber-framework/weber/internal/envmark"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"github.com/weber-framework/weber/internal/upgrade"
	"github.com/weber-framework/weber/migrations/data"
)

func TestEnsureCreatesThenNothingToDo(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		u := newURL(t, b)
		ctx := t.Context()
		res, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables})
		if err != nil {
			t.Fatalf("first ensure: %v", err)
		}
		if !res.DatabaseCreated {
			t.Errorf("first ensure: DatabaseCreated = false, want true")
		}
		for _, want := range []string{"users", "posts", "tags", "post_tags"} {
			if !slices.Contains(res.Tables, want) {
				t.Errorf("first ensure created tables %v, missing %s", res.Tables, want)
			}
		}
		if len(res.Statements) == 0 {
			t.Errorf("first ensure ran no statements")
		}
		if res.NothingToDo() {
			t.Errorf("first ensure reports nothing to do")
		}

		again, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables})
		if err != nil {
			t.Fatalf("second ensure: %v", err)
		}
		if !again.NothingToDo() || len(again.Statements) != 0 {
			t.Errorf("second ensure did something: %+v", again)
		}
	})
}

func TestEnsureReaddsColumnAndKeepsRows(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		u := newURL(t, b)
		ctx := t.Context()
		if _, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables}); err != nil {
			t.Fatal(err)
		}
		db := open(t, u)
		insertUsers(t, db, u.Dialect, 3)
		// Make the database "older" than the models: it lacks users.bio.
		exec(t, db, "ALTER TABLE users DROP COLUMN bio")

		res, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables})
		if err != nil {
			t.Fatalf("ensure on the older database: %v", err)
		}
		if !slices.Equal(res.Columns, []string{"users.bio"}) || len(res.Tables) != 0 {
			t.Errorf("ensure created tables %v columns %v, want only column users.bio", res.Tables, res.Columns)
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE bio IS NULL").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Errorf("users after ensure: %d rows, want 3", n)
		}
	})
}

func TestEnsureKeepsWhatTheModelsLack(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		u := newURL(t, b)
		ctx := t.Context()
		if _, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables}); err != nil {
			t.Fatal(err)
		}
		db := open(t, u)
		insertUsers(t, db, u.Dialect, 2)
		exec(t, db, "ALTER TABLE users ADD COLUMN legacy_code varchar(20)")
		exec(t, db, "UPDATE users SET legacy_code = 'keep-me'")
		exec(t, db, "CREATE TABLE legacy_things (id integer PRIMARY KEY)")
		exec(t, db, "ALTER TABLE users DROP COLUMN bio")

		res, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables})
		if err != nil {
			t.Fatalf("ensure: %v", err)
		}
		if !slices.Equal(res.Columns, []string{"users.bio"}) {
			t.Errorf("ensure created columns %v, want [users.bio]", res.Columns)
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE legacy_code = 'keep-me'").Scan(&n); err != nil {
			t.Fatalf("the column the models lack is gone: %v", err)
		}
		if n != 2 {
			t.Errorf("rows keeping legacy_code: %d, want 2", n)
		}
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM legacy_things").Scan(&n); err != nil {
			t.Errorf("the table the models lack is gone: %v", err)
		}
	})
}

func TestEnsureConcurrent(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		u := newURL(t, b)
		var wg sync.WaitGroup
		results := make([]*devdb.EnsureResult, 4)
		errs := make([]error, len(results))
		for i := range results {
			wg.Go(func() {
				results[i], errs[i] = devdb.Ensure(t.Context(), u, devdb.EnsureOptions{Tables: migrate.Tables})
			})
		}
		wg.Wait()
		created := 0
		for i, err := range errs {
			if err != nil {
				t.Fatalf("ensure %d: %v", i, err)
			}
			if slices.Contains(results[i].Tables, "users") {
				created++
			}
		}
		if created != 1 {
			t.Errorf("%d of the concurrent ensures created the users table, want exactly 1", created)
		}
	})
}

func TestEnsureRecordsEnvironment(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		u := newURL(t, b)
		ctx := t.Context()
		if _, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables, Env: "production"}); err != nil {
			t.Fatal(err)
		}
		// A later ensure without an environment must not unmark it.
		if _, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables}); err != nil {
			t.Fatal(err)
		}
		env, err := envmark.Read(ctx, open(t, u), u.Dialect)
		if err != nil {
			t.Fatal(err)
		}
		if env != "production" {
			t.Errorf("recorded environment %q, want production", env)
		}
	})
}

func TestEnsureRefusesNonSQLiteFile(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/notes.db"
	if err := writeFile(path, "these are my notes, not a database\n"); err != nil {
		t.Fatal(err)
	}
	u, err := dbconn.Parse("sqlite://" + path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = devdb.Ensure(t.Context(), u, devdb.EnsureOptions{Tables: migrate.Tables})
	if err == nil || !strings.Contains(err.Error(), "not an SQLite database") {
		t.Fatalf("ensure on a text file: %v, want a refusal", err)
	}
}

func TestEnsureInMemory(t *testing.T) {
	t.Parallel()
	u, err := dbconn.Parse("sqlite://:memory:")
	if err != nil {
		t.Fatal(err)
	}
	res, err := devdb.Ensure(t.Context(), u, devdb.EnsureOptions{Tables: migrate.Tables})
	if err != nil {
		t.Fatalf("ensure in memory: %v", err)
	}
	if !slices.Contains(res.Tables, "users") {
		t.Errorf("ensure in memory created %v", res.Tables)
	}
}

// copyHistory copies the repository's migrations into a temp dir.
func copyHistory(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("..", "..", "migrations")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying the project's migration history: %v", err)
	}
	return dst
}

func TestEnsureAppliesHistoryToAnEmptyDatabase(t *testing.T) {
	t.Parallel()
	dir := copyHistory(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		u := newURL(t, b)
		ctx := t.Context()
		folder, err := migdir.DialectDir(dir, u.Dialect)
		if err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(folder, "*.sql"))
		if len(files) == 0 {
			t.Fatalf("no migration files in %s: the project's history has one folder per dialect", folder)
		}
		// Two at once: the history is applied once, both succeed.
		var wg sync.WaitGroup
		results := make([]*devdb.EnsureResult, 2)
		errs := make([]error, 2)
		for i := range results {
			wg.Go(func() {
				results[i], errs[i] = devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables, Root: dir, DataMigrations: data.Migrations()})
			})
		}
		wg.Wait()
		applied := 0
		for i := range results {
			if errs[i] != nil {
				t.Fatalf("ensure %d: %v", i, errs[i])
			}
			applied += len(results[i].History)
		}
		if applied != len(files) {
			t.Errorf("the ensures applied %d history files between them, want %d", applied, len(files))
		}
		db := open(t, u)
		st, err := upgrade.Status(ctx, db, u, folder)
		if err != nil {
			t.Fatal(err)
		}
		if !st.UpToDate() || st.Applied != len(files) {
			t.Errorf("status after ensure: applied %d of %d, up to date %v, problems %v", st.Applied, len(files), st.UpToDate(), st.Problems)
		}
		// A later ensure on the (no longer empty) database leaves the history alone.
		again, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables, Root: dir, DataMigrations: data.Migrations()})
		if err != nil || len(again.History) != 0 {
			t.Errorf("second ensure: %v, history %v", err, again.History)
		}
	})
}

// A database with tables of its own and no history is refused with an
// *UntrackedError naming them, and nothing is created.
func TestEnsureRefusesAnUntrackedDatabase(t *testing.T) {
	t.Parallel()
	dir := copyHistory(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		u := newURL(t, b)
		if _, err := dbconn.EnsureDatabase(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		db := open(t, u)
		if _, err := db.ExecContext(t.Context(), "CREATE TABLE legacy_orders (id integer PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		_, err := devdb.Ensure(t.Context(), u, devdb.EnsureOptions{Tables: migrate.Tables, Root: dir})
		var ue *devdb.UntrackedError
		if !errors.As(err, &ue) {
			t.Fatalf("Ensure on an untracked database = %v; want an *UntrackedError", err)
		}
		type refused struct {
			Tables   []string
			Baseline bool // the message names --baseline
		}
		if diff := cmp.Diff(refused{[]string{"legacy_orders"}, true}, refused{ue.Tables, strings.Contains(err.Error(), "--baseline")}); diff != "" {
			t.Fatalf("Ensure on an untracked database = %v (-want +got):\n%s", err, diff)
		}
		if ok, err := dbconn.TableExists(t.Context(), db, u.Dialect, "users"); err != nil || ok {
			t.Errorf("a refused Ensure created users (%v, %v)", ok, err)
		}
	})
}

// db ensure's additions wait for a table lock only briefly, so that a
// query of the application queued behind them proceeds: here a SELECT
// that waits at most 4s for its own lock gets it while a transaction
// holds the table for 8s, and ensure completes once that transaction ends.
func TestEnsureStepsAsideForTheApplication(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		u := newURL(t, b)
		ctx := t.Context()
		if _, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables}); err != nil {
			t.Fatal(err)
		}
		db := open(t, u)
		exec(t, db, "ALTER TABLE users DROP COLUMN bio")
		holder, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := holder.ExecContext(ctx, "SELECT COUNT(*) FROM users"); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := devdb.Ensure(context.Background(), u, devdb.EnsureOptions{Tables: migrate.Tables})
			done <- err
		}()
		time.Sleep(500 * time.Millisecond) // the ALTER is queued by now
		app, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer app.Close()
		wait := "SET lock_timeout = '4s'"
		if u.Dialect == "mysql" {
			wait = "SET SESSION lock_wait_timeout = 4"
		}
		if _, err := app.ExecContext(ctx, wait); err != nil {
			t.Fatal(err)
		}
		timer := time.AfterFunc(8*time.Second, func() { _ = holder.Commit() })
		defer timer.Stop()
		var n int
		if err := app.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
			t.Errorf("the application's query queued behind ensure's ALTER and failed: %v", err)
		}
		if err := <-done; err != nil {
			t.Fatalf("ensure after the transaction ended: %v", err)
		}
		var bio int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(bio) FROM users").Scan(&bio); err != nil {
			t.Errorf("users.bio after ensure: %v", err)
		}
	}, testserver.Except(testserver.SQLite, "readers never queue behind a schema change"))
}
