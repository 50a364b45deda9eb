package devdb_test

import (
	"errors"
	"github.com/weber-framework/weber/ent/migrate"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/devdb"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// ensured creates the database with its schema and returns whether it exists.
func ensured(t *testing.T, u *dbconn.URL, env string) {
	t.Helper()
	if _, err := devdb.Ensure(t.Context(), u, devdb.EnsureOptions{Tables: migrate.Tables, Env: env}); err != nil {
		t.Fatal(err)
	}
}

func exists(t *testing.T, u *dbconn.URL) bool {
	t.Helper()
	ok, err := dbconn.Exists(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestDropRefusesWithoutConfirmation(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		u := newURL(t, b)
		ensured(t, u, "")
		asked := false
		for name, opts := range map[string]devdb.DropOptions{
			"no terminal": {IsTerminal: false, Confirm: func(string) (string, error) { asked = true; return devdb.Name(u), nil }},
			"wrong name":  {IsTerminal: true, Confirm: func(string) (string, error) { return "something-else", nil }},
		} {
			_, err := devdb.Drop(t.Context(), u, opts)
			if !errors.Is(err, devdb.ErrNotConfirmed) {
				t.Errorf("%s: Drop = %v, want ErrNotConfirmed", name, err)
			}
			if !exists(t, u) {
				t.Fatalf("%s: the database is gone after a refused drop", name)
			}
		}
		if asked {
			t.Errorf("Drop asked for confirmation without a terminal")
		}
	})
}

func TestDropConfirmed(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		u := newURL(t, b)
		ensured(t, u, "")
		var prompt string
		res, err := devdb.Drop(t.Context(), u, devdb.DropOptions{IsTerminal: true, Confirm: func(p string) (string, error) {
			prompt = p
			return devdb.Name(u) + "\n", nil
		}})
		if err != nil {
			t.Fatalf("Drop: %v", err)
		}
		if !res.Existed || !res.Dropped {
			t.Errorf("Drop = %+v, want existed and dropped", res)
		}
		if !strings.Contains(prompt, devdb.Name(u)) {
			t.Errorf("prompt %q does not name the database", prompt)
		}
		if exists(t, u) {
			t.Errorf("the database still exists after the drop")
		}
		again, err := devdb.Drop(t.Context(), u, devdb.DropOptions{Yes: true})
		if err != nil || again.Existed || again.Dropped {
			t.Errorf("dropping a missing database = %+v, %v; want nothing to drop", again, err)
		}
	})
}

func TestDropYesRemovesSQLiteCompanions(t *testing.T) {
	t.Parallel()
	u, err := dbconn.Parse("sqlite://" + filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	ensured(t, u, "")
	// Keep a connection open so that -wal and -shm exist.
	db := open(t, u)
	insertUsers(t, db, dialect.SQLite, 1)
	for _, s := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(u.Database + s); err != nil {
			t.Fatalf("precondition: %v", err)
		}
	}
	res, err := devdb.Drop(t.Context(), u, devdb.DropOptions{Yes: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) < 3 {
		t.Errorf("Drop removed %v, want the file, -wal and -shm", res.Files)
	}
	for _, s := range []string{"", "-wal", "-shm"} {
		if _, err := os.Lstat(u.Database + s); !os.IsNotExist(err) {
			t.Errorf("%s still exists after drop (%v)", u.Database+s, err)
		}
	}
}

func TestDropRefusesProduction(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		u := newURL(t, b)
		ensured(t, u, "production")
		_, err := devdb.Drop(t.Context(), u, devdb.DropOptions{Yes: true})
		var pe *devdb.ProductionError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "--force-production") {
			t.Fatalf("Drop of a production database = %v, want a ProductionError naming --force-production", err)
		}
		if !exists(t, u) {
			t.Fatalf("the production database is gone after a refused drop")
		}
		if _, err := devdb.Drop(t.Context(), u, devdb.DropOptions{Yes: true, ForceProduction: true}); err != nil {
			t.Fatalf("forced drop: %v", err)
		}
		if exists(t, u) {
			t.Errorf("the database still exists after a forced drop")
		}
	})
}

func TestDropRefusesWhatIsNotSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	real := filepath.Join(dir, "real.db")
	u, err := dbconn.Parse("sqlite://" + real)
	if err != nil {
		t.Fatal(err)
	}
	ensured(t, u, "")
	text := filepath.Join(dir, "notes.txt")
	if err := writeFile(text, "not a database at all, just some notes\n"); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "folder.db")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{text, link, folder} {
		v, err := dbconn.Parse("sqlite://" + path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := devdb.Drop(t.Context(), v, devdb.DropOptions{Yes: true}); err == nil {
			t.Errorf("Drop(%s) succeeded, want a refusal", path)
		}
		if _, err := os.Lstat(path); err != nil {
			t.Errorf("%s is gone after a refused drop", path)
		}
	}
	if _, err := os.Stat(real); err != nil {
		t.Errorf("the symbolic link's target is gone: %v", err)
	}
}

// A system database is refused whatever the options, before anything
// connects: the URLs point at port 1, where no server listens, so a
// refusal that came after connecting would show as "connection refused".
func TestDropRefusesSystemDatabases(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"mysql://root:pw@127.0.0.1:1/mysql", "mysql://root:pw@127.0.0.1:1/sys",
		"mysql://root:pw@127.0.0.1:1/performance_schema", "mysql://root:pw@127.0.0.1:1/information_schema",
		"postgres://u:pw@127.0.0.1:1/postgres", "postgres://u:pw@127.0.0.1:1/template0", "postgres://u:pw@127.0.0.1:1/template1",
	} {
		u, err := dbconn.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		_, err = devdb.Drop(t.Context(), u, devdb.DropOptions{Yes: true, ForceProduction: true})
		var se *dbconn.SystemDatabaseError
		if !errors.As(err, &se) {
			t.Errorf("Drop(%s, Yes, ForceProduction) = %v; want a *dbconn.SystemDatabaseError", u.Redacted(), err)
		}
	}
}

// Ensure with a lower environment keeps a production mark and says so;
// Drop then still refuses.
func TestEnsureKeepsAProductionMark(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		u := newURL(t, b)
		ensured(t, u, "production")
		res, err := devdb.Ensure(t.Context(), u, devdb.EnsureOptions{Tables: migrate.Tables, Env: "staging"})
		if err != nil {
			t.Fatal(err)
		}
		if !res.EnvKept || res.Env != "production" || res.EnvPrevious != "production" {
			t.Errorf("Ensure(staging) on production: env %q kept %v previous %q; want production kept", res.Env, res.EnvKept, res.EnvPrevious)
		}
		_, err = devdb.Drop(t.Context(), u, devdb.DropOptions{Yes: true})
		var pe *devdb.ProductionError
		if !errors.As(err, &pe) {
			t.Fatalf("Drop after Ensure(staging) = %v; want a *ProductionError", err)
		}
	})
}
