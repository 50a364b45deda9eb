package testserver_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// exists reports whether u's database is there: the file on SQLite.
func exists(t *testing.T, u *dbconn.URL) bool {
	t.Helper()
	if u.Dialect == "sqlite3" {
		_, err := os.Stat(u.Database)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		return err == nil
	}
	ok, err := dbconn.Exists(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// Two databases of one test are distinct and empty, named by the policy,
// and gone once the test has passed.
func TestNewEmptyIsPrivateAndDropped(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		var urls []*dbconn.URL
		t.Run("use", func(t *testing.T) {
			for range 2 {
				db, u := testserver.NewEmpty(t, b, nil)
				urls = append(urls, u)
				if b.URL != "" && !strings.HasPrefix(u.Database, testserver.Prefix) {
					t.Errorf("database %q does not start with %s", u.Database, testserver.Prefix)
				}
				// The same table in both: each database is its own, and empty.
				if _, err := db.ExecContext(t.Context(), "CREATE TABLE t (id int)"); err != nil {
					t.Fatalf("%s: %v", u.Redacted(), err)
				}
				if !exists(t, u) {
					t.Fatalf("%s does not exist", u.Redacted())
				}
			}
			if urls[0].Database == urls[1].Database {
				t.Fatalf("two databases share the name %q", urls[0].Database)
			}
		})
		for _, u := range urls {
			if exists(t, u) {
				t.Errorf("%s is still there after its test passed", u.Redacted())
			}
		}
	})
}

// NewURL names a database that does not exist yet; what the test creates
// under it is removed when the test passes.
func TestNewURLIsNewAndDropped(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		var u *dbconn.URL
		t.Run("use", func(t *testing.T) {
			u = testserver.NewURL(t, b, nil)
			if exists(t, u) {
				t.Fatalf("%s exists before the test made it", u.Redacted())
			}
			if _, err := dbconn.EnsureDatabase(t.Context(), u); err != nil {
				t.Fatal(err)
			}
		})
		if exists(t, u) {
			t.Errorf("%s is still there after its test passed", u.Redacted())
		}
	})
}

// failedTB is a test that has failed: its clean-ups run when asked.
type failedTB struct {
	testing.TB
	cleanups []func()
}

func (f *failedTB) Failed() bool        { return true }
func (f *failedTB) Cleanup(fn func())   { f.cleanups = append(f.cleanups, fn) }
func (f *failedTB) Logf(string, ...any) {}
func (f *failedTB) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// A failed test's server database is kept for inspection.
func TestFailedTestKeepsItsDatabase(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		f := &failedTB{TB: t}
		_, u := testserver.NewEmpty(f, b, nil)
		v := testserver.NewURL(f, b, nil)
		if _, err := dbconn.EnsureDatabase(t.Context(), v); err != nil {
			t.Fatal(err)
		}
		f.runCleanups()
		for _, u := range []*dbconn.URL{u, v} {
			t.Cleanup(func() { _, _ = dbconn.DropDatabase(context.Background(), u) })
			if !exists(t, u) {
				t.Errorf("a failed test's database %s was dropped; want it kept", u.Redacted())
			}
		}
	}, testserver.Except(testserver.SQLite, "an SQLite file goes with the test's temporary directory"))
}

// Only names with the prefix, other than the URL's own, may be dropped.
func TestSafeToDrop(t *testing.T) {
	t.Parallel()
	base, err := dbconn.Parse("postgres://u:secret@127.0.0.1:5432/app")
	if err != nil {
		t.Fatal(err)
	}
	own, err := dbconn.Parse("postgres://u:secret@127.0.0.1:5432/" + testserver.Prefix + "abc")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		base *dbconn.URL
		name string
		want bool
	}{
		{base, testserver.NewName(), true},
		{base, "app", false},
		{base, "weber", false},
		{base, testserver.Prefix, false},
		{own, testserver.Prefix + "abc", false},
	} {
		if got := testserver.SafeToDrop(tc.base, tc.base.WithDatabase(tc.name)); got != tc.want {
			t.Errorf("SafeToDrop(%s, %q) = %v, want %v", tc.base.Redacted(), tc.name, got, tc.want)
		}
	}
}

// URLOf keeps the password and the query, and only swaps the database.
func TestURLOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		b    testserver.Backend
		db   string
		want string
	}{
		{testserver.Backend{Name: "postgres", URL: "postgres://u:s3cret@127.0.0.1:5432/app?sslmode=disable"}, "weber_test_x", "postgres://u:s3cret@127.0.0.1:5432/weber_test_x?sslmode=disable"},
		{testserver.Backend{Name: "mysql", URL: "mysql://u:s3cret@127.0.0.1:3306/app"}, "weber_test_y", "mysql://u:s3cret@127.0.0.1:3306/weber_test_y"},
		{testserver.Backend{Name: "sqlite"}, "/tmp/x/test.db", "sqlite:///tmp/x/test.db"},
	} {
		got, err := tc.b.URLOf(tc.db)
		if err != nil || got != tc.want {
			t.Errorf("URLOf(%q) = %q, %v; want %q", tc.db, got, err, tc.want)
		}
	}
}

// An in-memory SQLite database is private to its test.
func TestMemory(t *testing.T) {
	t.Parallel()
	a, ua := testserver.NewEmpty(t, testserver.Backend{Name: "sqlite"}, &testserver.Options{Memory: true})
	b, _ := testserver.NewEmpty(t, testserver.Backend{Name: "sqlite"}, &testserver.Options{Memory: true})
	if !ua.Memory {
		t.Fatalf("%s is not in memory", ua.Redacted())
	}
	if _, err := a.ExecContext(t.Context(), "CREATE TABLE t (id int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ExecContext(t.Context(), "CREATE TABLE t (id int)"); err != nil {
		t.Fatalf("the second in-memory database is not a new one: %v", err)
	}
}
