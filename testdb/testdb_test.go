package testdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/dialect"

	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

func createUser(t *testing.T, c *ent.Client, email string) {
	t.Helper()
	if _, err := c.User.Create().SetName("Ada").SetEmail(email).Save(t.Context()); err != nil {
		t.Fatalf("creating user %s: %v", email, err)
	}
}

// Two parallel tests writing the same unique value both succeed: each has
// its own database.
func TestParallelTestsAreIsolated(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		for _, name := range []string{"first", "second"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				db := New(t, OnBackend(b))
				createUser(t, clientOf(db), "same@example.com")
				if n := clientOf(db).User.Query().CountX(t.Context()); n != 1 {
					t.Fatalf("users = %d, want 1: another test's rows are visible", n)
				}
			})
		}
	})
}

// Two databases in one test are two databases, including in-memory SQLite
// ones opened from the same process (no shared :memory:).
func TestEachNewIsAFreshDatabase(t *testing.T) {
	Each(t, func(t *testing.T, a *DB) {
		b := New(t, OnBackend(Backend{Name: a.Dialect.String(), URL: backendURL(a.Dialect.String())}))
		if a.Name == b.Name {
			t.Fatalf("two databases share the name %s", a.Name)
		}
		createUser(t, clientOf(a), "one@example.com")
		if n := clientOf(b).User.Query().CountX(t.Context()); n != 0 {
			t.Fatalf("the second database sees %d users written to the first", n)
		}
		// The schema is in place in both: the unique index works.
		createUser(t, clientOf(b), "one@example.com")
		if _, err := clientOf(a).User.Create().SetName("B").SetEmail("one@example.com").Save(t.Context()); !ent.IsConstraintError(err) {
			t.Fatalf("duplicate email: err = %v, want a constraint error (unique index missing?)", err)
		}
		if a.Dialect != dialect.SQLite && !strings.HasPrefix(a.URL.Database, Prefix) {
			t.Fatalf("database %q does not start with %q", a.URL.Database, Prefix)
		}
	})
}

func backendURL(name string) string {
	for _, b := range Backends() {
		if b.Name == name {
			return b.URL
		}
	}
	return ""
}

// The server database is gone once the test that made it has passed, and
// the database named in the URL is still there.
func TestCleanupDropsTheDatabaseButNeverTheURLs(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		base, err := dbconn.Parse(b.URL)
		if err != nil {
			t.Fatal(err)
		}
		var made *dbconn.URL
		t.Run("inner", func(t *testing.T) {
			db := New(t, OnBackend(b))
			made = db.URL
			createUser(t, clientOf(db), "x@example.com")
			if ok, err := dbconn.Exists(t.Context(), made); err != nil || !ok {
				t.Fatalf("Exists(%s) = %v, %v during the test", made.Redacted(), ok, err)
			}
		})
		if made == nil {
			t.Fatal("the inner test did not run")
		}
		if made.Database == base.Database {
			t.Fatalf("testdb used the URL's own database %q", base.Database)
		}
		if ok, err := dbconn.Exists(t.Context(), made); err != nil || ok {
			t.Fatalf("after the test: Exists(%s) = %v, %v; want it dropped", made.Redacted(), ok, err)
		}
		if ok, err := dbconn.Exists(t.Context(), base); err != nil || !ok {
			t.Fatalf("the URL's own database %s: Exists = %v, %v; it must never be dropped", base.Redacted(), ok, err)
		}
	}, testserver.Except(testserver.SQLite, "an SQLite database has no URL of its own to keep"))
}

// failedTB stands in for a test that has failed, and collects its clean-ups
// so that the test can run them itself.
type failedTB struct {
	testing.TB
	cleanups []func()
}

func (f *failedTB) Failed() bool        { return true }
func (f *failedTB) Cleanup(fn func())   { f.cleanups = append(f.cleanups, fn) }
func (f *failedTB) Logf(string, ...any) {}
func (f *failedTB) Log(...any)          {}
func (f *failedTB) runCleanups()        { runLIFO(f.cleanups) }
func runLIFO(fns []func()) {
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// A failed test's database is kept for inspection.
func TestFailedTestKeepsItsDatabase(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		if b.URL == "" {
			keptInMemory(t)
			return
		}
		f := &failedTB{TB: t}
		db := New(f, OnBackend(b))
		f.runCleanups()
		ctx := context.WithoutCancel(t.Context())
		t.Cleanup(func() { _, _ = dbconn.DropDatabase(ctx, db.URL) })
		if ok, err := dbconn.Exists(t.Context(), db.URL); err != nil || !ok {
			t.Fatalf("a failed test's database %s: Exists = %v, %v; want it kept", db.URL.Redacted(), ok, err)
		}
	})
}

// keptInMemory: a failed test's in-memory SQLite database is copied to a
// file in the temporary directory, holding the test's rows.
func keptInMemory(t *testing.T) {
	t.Helper()
	f := &failedTB{TB: t}
	db := New(f, sqliteMemory())
	createUser(t, clientOf(db), "kept@example.com")
	f.runCleanups()
	path := os.TempDir() + string(os.PathSeparator) + db.Name + ".db"
	t.Cleanup(func() { os.Remove(path) })
	u, err := dbconn.Parse("sqlite://" + path)
	if err != nil {
		t.Fatal(err)
	}
	sdb, err := dbconn.Open(t.Context(), u)
	if err != nil {
		t.Fatalf("the kept copy %s: %v", path, err)
	}
	defer sdb.Close()
	var email string
	if err := sdb.QueryRowContext(t.Context(), "SELECT email FROM users").Scan(&email); err != nil || email != "kept@example.com" {
		t.Fatalf("kept copy holds %q, %v; want the test's row", email, err)
	}
}

// sqliteMemory is the default; the option makes the test read clearly.
func sqliteMemory() Option { return OnBackend(Backend{Name: "sqlite"}) }

// testdb drops only the names it made: never the URL's database, never a
// name without its prefix.
func TestSafeToDrop(t *testing.T) {
	t.Parallel()
	base, err := dbconn.Parse("postgres://u:secret@127.0.0.1:5432/app")
	if err != nil {
		t.Fatal(err)
	}
	own, err := dbconn.Parse("postgres://u:secret@127.0.0.1:5432/" + Prefix + "abc")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		base *dbconn.URL
		name string
		want bool
	}{
		{base, Prefix + "0123456789ab", true},
		{base, "app", false},
		{base, "weber", false},
		{base, Prefix, false},
		{own, Prefix + "abc", false}, // the URL's own database, even with the prefix
	} {
		if got := safeToDrop(tc.base, tc.base.WithDatabase(tc.name)); got != tc.want {
			t.Errorf("safeToDrop(%s, %q) = %v, want %v", tc.base.Redacted(), tc.name, got, tc.want)
		}
	}
}

// Empty gives a database without tables; SQLiteFile puts it on disk.
func TestEmptyAndFile(t *testing.T) {
	t.Parallel()
	db := New(t, Empty(), SQLiteFile())
	if db.URL.Memory {
		t.Fatalf("SQLiteFile gave an in-memory database")
	}
	if _, err := os.Stat(db.Name); err != nil {
		t.Fatalf("the database file: %v", err)
	}
	var n int
	if err := db.SQL.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("Empty database has %d tables (%v), want 0", n, err)
	}
}

// writeHistory writes a one-file migration history for every dialect under
// a new root and returns the root.
func writeHistory(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, folder := range []string{"sqlite", "postgres", "mysql"} {
		dir := filepath.Join(root, folder)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		sqlText := "CREATE TABLE widgets (id integer NOT NULL PRIMARY KEY, label varchar(20) NOT NULL);\n"
		if err := os.WriteFile(filepath.Join(dir, "20260101000000_widgets.sql"), []byte(sqlText), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := migdir.Rehash(dir); err != nil {
			t.Fatalf("hashing %s: %v", dir, err)
		}
	}
	return root
}

func tableExists(t *testing.T, db *DB, table string) bool {
	t.Helper()
	ok, err := dbconn.TableExists(t.Context(), db.SQL, db.Dialect.Ent(), table)
	if err != nil {
		t.Fatalf("looking up table %s: %v", table, err)
	}
	return ok
}

// With a history, the schema is the files replayed, recorded in the
// revision table; without one for the dialect, it is the models.
func TestSchemaFromMigrationFiles(t *testing.T) {
	t.Parallel()
	root := writeHistory(t)
	Each(t, func(t *testing.T, db *DB) {
		if want, _ := migdir.DialectDir(root, db.Dialect.Ent()); db.MigrationsDir != want {
			t.Fatalf("MigrationsDir = %q, want %q", db.MigrationsDir, want)
		}
		if !tableExists(t, db, "widgets") || tableExists(t, db, "users") {
			t.Fatalf("want the files' table widgets and not the models' users")
		}
		var version string
		if err := db.SQL.QueryRowContext(t.Context(), "SELECT version FROM "+revstore.Table).Scan(&version); err != nil || version != "20260101000000" {
			t.Fatalf("revision table holds %q (%v), want the history's version 20260101000000", version, err)
		}
	}, Migrations(root))

	t.Run("no history for the dialect", func(t *testing.T) {
		t.Parallel()
		db := New(t, Migrations(t.TempDir()), Tables(migrate.Tables))
		if db.MigrationsDir != "" || !tableExists(t, db, "users") {
			t.Fatalf("MigrationsDir = %q; want the models' schema when there is no history", db.MigrationsDir)
		}
	})
	t.Run("FromModels", func(t *testing.T) {
		t.Parallel()
		db := New(t, Migrations(root), FromModels(), Tables(migrate.Tables))
		if db.MigrationsDir != "" || !tableExists(t, db, "users") || tableExists(t, db, "widgets") {
			t.Fatalf("FromModels: MigrationsDir = %q; want the models' schema", db.MigrationsDir)
		}
	})
	t.Run("no history and no models fails", func(t *testing.T) {
		t.Parallel()
		f := &fatalTB{TB: t}
		func() {
			defer func() { _ = recover() }()
			New(f, Migrations(t.TempDir()))
		}()
		if !strings.Contains(f.msg, "testdb.Tables(migrate.Tables)") {
			t.Errorf("New without a history or Tables: %q, want a failure naming testdb.Tables", f.msg)
		}
	})
	t.Run("broken history fails", func(t *testing.T) {
		t.Parallel()
		broken := writeHistory(t)
		f := filepath.Join(broken, "sqlite", "20260101000000_widgets.sql")
		if err := os.WriteFile(f, []byte("CREATE TABLE edited (id integer);\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		dir, err := historyDir(broken, dialect.SQLite.Ent())
		if err != nil || dir == "" {
			t.Fatalf("historyDir = %q, %v", dir, err)
		}
		r, err := planSchema(&options{migrations: broken}, dialect.SQLite.Ent())
		if err != nil || r.dir != dir {
			t.Fatalf("planSchema = %+v, %v; want the history in %s", r, err, dir)
		}
		db := New(t, Empty())
		if err := migrateSchema(t.Context(), db.SQL, db.URL, r); err == nil {
			t.Fatal("a history whose atlas.sum does not match was replayed")
		}
	})
}

// Without options the history is looked for at the module root.
func TestModuleRoot(t *testing.T) {
	t.Parallel()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.Contains(string(data), "module github.com/weber-framework/weber") {
		t.Fatalf("module root %s: go.mod %v", root, err)
	}
}

// By default a dialect with a history in the repository's migrations
// folder gets it replayed: the revision table holds every file's version.
func TestRepositoryHistoryIsReplayed(t *testing.T) {
	t.Parallel()
	Each(t, func(t *testing.T, db *DB) {
		dir, err := historyDir("", db.Dialect.Ent())
		if err != nil {
			t.Fatal(err)
		}
		if dir == "" {
			if db.MigrationsDir != "" {
				t.Fatalf("MigrationsDir = %q without a history", db.MigrationsDir)
			}
			t.Skipf("the repository has no %s history yet: the schema came from the models", db.Dialect)
		}
		if db.MigrationsDir != dir {
			t.Fatalf("MigrationsDir = %q, want %q", db.MigrationsDir, dir)
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no files in %s (%v)", dir, err)
		}
		var n int
		if err := db.SQL.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+revstore.Table).Scan(&n); err != nil || n != len(files) {
			t.Fatalf("revision table holds %d rows (%v), want one per file: %d", n, err, len(files))
		}
		// The history builds the models' tables.
		createUser(t, clientOf(db), "history@example.com")
	})
}

// writeHistoryWith writes a migration history for every dialect under a new
// root: the given files, in order, each a version and its SQL.
func writeHistoryWith(t *testing.T, files ...[2]string) string {
	t.Helper()
	root := t.TempDir()
	for _, folder := range []string{"sqlite", "postgres", "mysql"} {
		dir := filepath.Join(root, folder)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f[0]), []byte(f[1]), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := migdir.Rehash(dir); err != nil {
			t.Fatalf("hashing %s: %v", dir, err)
		}
	}
	return root
}

func revisions(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.SQL.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+revstore.Table).Scan(&n); err != nil {
		t.Fatalf("counting revisions: %v", err)
	}
	return n
}

// The schema is built once per process (per server) and history: a second
// database of the same history is a copy of the same template, built by
// nobody.
func TestTemplateIsReused(t *testing.T) {
	t.Parallel()
	root := writeHistoryWith(t, [2]string{"20260201000000_probe.sql", "CREATE TABLE reuse_probe (id integer NOT NULL PRIMARY KEY, label varchar(20) NOT NULL);\n"})
	Each(t, func(t *testing.T, a *DB) {
		r, err := planSchema(&options{migrations: root}, a.Dialect.Ent())
		if err != nil {
			t.Fatal(err)
		}
		b := New(t, OnBackend(Backend{Name: a.Dialect.String(), URL: backendURL(a.Dialect.String())}), Migrations(root))
		if a.Template == "" || a.Template != b.Template || a.Name == b.Name {
			t.Fatalf("two databases of one history: templates %q and %q, names %q and %q; want one template, two databases", a.Template, b.Template, a.Name, b.Name)
		}
		// SQLite templates live in the process, so this process built it,
		// once. A server's template may be left by an earlier run (0).
		n := buildCount(a.Dialect.String(), r.key)
		if n > 1 || (a.Dialect == dialect.SQLite && n != 1) {
			t.Fatalf("the template for %s was built %d times in this process", r.key[:12], n)
		}
		if !tableExists(t, b, "reuse_probe") || revisions(t, b) != 1 {
			t.Fatalf("the copy lacks the history's table or revision")
		}
	}, Migrations(root))
}

// A history with one more file is another schema: another template, with
// the new file applied and recorded.
func TestChangedHistoryGetsANewTemplate(t *testing.T) {
	t.Parallel()
	first := [2]string{"20260301000000_gadgets.sql", "CREATE TABLE gadgets (id integer NOT NULL PRIMARY KEY, label varchar(20) NOT NULL);\n"}
	second := [2]string{"20260301000001_gadget_color.sql", "ALTER TABLE gadgets ADD COLUMN color varchar(20) NULL;\n"}
	oldRoot := writeHistoryWith(t, first)
	newRoot := writeHistoryWith(t, first, second)
	Each(t, func(t *testing.T, old *DB) {
		cur := New(t, OnBackend(Backend{Name: old.Dialect.String(), URL: backendURL(old.Dialect.String())}), Migrations(newRoot))
		if old.Template == cur.Template {
			t.Fatalf("a history with an extra file got the same template %q", cur.Template)
		}
		if revisions(t, old) != 1 || revisions(t, cur) != 2 {
			t.Fatalf("revisions: old history %d, new history %d; want 1 and 2", revisions(t, old), revisions(t, cur))
		}
		if _, err := cur.SQL.ExecContext(t.Context(), "INSERT INTO gadgets (id, label, color) VALUES (1, 'a', 'red')"); err != nil {
			t.Fatalf("the new file's column: %v", err)
		}
		if _, err := old.SQL.ExecContext(t.Context(), "INSERT INTO gadgets (id, label, color) VALUES (1, 'a', 'red')"); err == nil {
			t.Fatal("the old history's database has the new file's column")
		}
	}, Migrations(oldRoot))
}

// In transaction mode nothing is committed: the row a test writes is seen
// by its client, not by other connections during the test, and not by the
// shared database after it.
func TestInTxRollsBack(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		opts := []Option{OnBackend(b), InTx()}
		var holder *DB
		if b.URL != "" {
			// Holds the InTx tests' shared database across the inner test.
			holder = New(t, opts...)
		} else {
			// In memory, a reader waits for a writing transaction; in a
			// file (WAL) it reads the last commit, and the file outlives
			// the inner test.
			opts = append(opts, SQLiteFile())
		}
		var inner *DB
		t.Run("writes", func(t *testing.T) {
			if holder == nil {
				// Registered before New's clean-ups, so it runs after
				// the rollback and before the file is removed.
				_ = t.TempDir()
				t.Cleanup(func() {
					sdb, err := dbconn.Open(context.Background(), inner.URL)
					if err != nil {
						t.Fatal(err)
					}
					defer sdb.Close()
					var n int
					if err := sdb.QueryRow("SELECT COUNT(*) FROM users").Scan(&n); err != nil || n != 0 {
						t.Errorf("after the InTx test: %d users in its database (%v), want 0 (rolled back)", n, err)
					}
				})
			}
			inner = New(t, opts...)
			if inner.Tx == nil {
				t.Fatal("InTx gave no transaction")
			}
			createUser(t, clientOf(inner), "tx@example.com")
			if n := clientOf(inner).User.Query().CountX(t.Context()); n != 1 {
				t.Fatalf("the test's own client sees %d users, want 1", n)
			}
			var n int
			if err := inner.SQL.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM users").Scan(&n); err != nil || n != 0 {
				t.Fatalf("outside the transaction: %d users (%v), want 0: the write was committed", n, err)
			}
		})
		if inner == nil {
			t.Fatal("the inner test did not run")
		}
		if holder == nil {
			return // checked in the inner test's clean-up
		}
		if inner.Name != holder.Name {
			t.Fatalf("InTx tests got databases %s and %s; want one shared database", inner.Name, holder.Name)
		}
		var n int
		if err := holder.SQL.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("after the InTx test: %d users in its database, want 0 (rolled back)", n)
		}
	})
}

// Empty and InTx do not mix.
func TestInTxRefusesEmpty(t *testing.T) {
	t.Parallel()
	f := &fatalTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		New(f, Empty(), InTx())
	}()
	if !strings.Contains(f.msg, "InTx and Empty") {
		t.Fatalf("New(Empty(), InTx()) = %q, want a refusal", f.msg)
	}
}

// fatalTB records Fatalf and stops the caller with a panic.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

// clientOf is Weber's example client on a test database.
func clientOf(db *DB) *ent.Client { return ent.NewClient(ent.Driver(db.Driver)) }
