package engine_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/engine"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// writeFolder writes a dialect folder with the files (name, body) and
// their atlas.sum, as `weberctl db revision` does.
func writeFolder(t *testing.T, dia string, files ...string) string {
	t.Helper()
	name, err := migdir.Folder(dia)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "migrations", name)
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	ld, err := migrate.NewLocalDir(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(files); i += 2 {
		if err := ld.WriteFile(files[i], []byte(files[i+1])); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := ld.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.WriteSumFile(ld, sum); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestNewRefusesBadConfig checks that what cannot work fails in New, with
// a message naming the field and the fix, before any operation runs.
func TestNewRefusesBadConfig(t *testing.T) {
	u, err := engine.ParseURL("sqlite://" + filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := engine.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := writeFolder(t, dialect.SQLite)
	cases := []struct {
		name string
		db   *sql.DB
		cfg  engine.Config
		want string
	}{
		{"nil database", nil, engine.Config{URL: u, Dir: dir}, "no database given"},
		{"no URL", db, engine.Config{Dir: dir}, "no database URL in Config.URL"},
		{"no folder", db, engine.Config{URL: u}, "no migration folder in Config.Dir"},
		{"unknown dialect", db, engine.Config{URL: &engine.URL{Dialect: "oracle"}, Dir: dir}, "oracle"},
		{"negative statement timeout", db, engine.Config{URL: u, Dir: dir, DDL: engine.DDLPolicy{StatementTimeout: -1}}, "Config.DDL: the statement timeout"},
		{"dev server of another dialect", db, engine.Config{URL: u, Dir: dir, DevURL: "postgres://u@localhost/dev"}, "Config.DevURL is a postgres URL"},
		{"dev URL that does not parse", db, engine.Config{URL: u, Dir: dir, DevURL: "localhost:5432"}, "Config.DevURL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eng, err := engine.New(c.db, c.cfg)
			if err == nil {
				t.Fatalf("New = %v, nil; want an error containing %q", eng, c.want)
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("New error = %q; want one line containing %q", err, c.want)
			}
		})
	}
	if _, err := engine.New(db, engine.Config{URL: u, Dir: dir}); err != nil {
		t.Fatalf("New with a valid config: %v", err)
	}
}

// TestEngineLifecycle runs one engine through a database's life on every
// backend: status, upgrade, history, drift, a refused upgrade, downgrade.
func TestEngineLifecycle(t *testing.T) {
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		ctx := context.Background()
		db, u := testserver.NewEmpty(t, b, nil)
		dir := writeFolder(t, u.Dialect,
			"1_users.sql", "CREATE TABLE users (id integer PRIMARY KEY, name varchar(50));\n",
			"2_posts.sql", "CREATE TABLE posts (id integer PRIMARY KEY);\n")
		eng, err := engine.New(db, engine.Config{URL: u, Dir: dir, DevURL: devURL(b)})
		if err != nil {
			t.Fatal(err)
		}
		st, err := eng.Status(ctx)
		if err != nil || len(st.Pending) != 2 || st.HasHistory {
			t.Fatalf("Status before = %+v, %v; want 2 pending, no history", st, err)
		}
		res, err := eng.Upgrade(ctx, engine.UpgradeOptions{To: "1"})
		if err != nil || len(res.Files) != 1 || res.After != "1" || len(res.Remaining) != 1 {
			t.Fatalf("Upgrade --to 1 = %+v, %v; want 1 file applied, at 1, 1 remaining", res, err)
		}
		if res, err = eng.Upgrade(ctx, engine.UpgradeOptions{}); err != nil || res.After != "2" {
			t.Fatalf("Upgrade = %+v, %v; want at 2", res, err)
		}
		revs, err := eng.History(ctx)
		if err != nil || len(revs) != 2 || revs[1].Version != "2" {
			t.Fatalf("History = %v, %v; want versions 1 and 2", revs, err)
		}
		rep, err := eng.Drift(ctx)
		if err != nil || !rep.Clean || rep.Replayed != 2 {
			t.Fatalf("Drift = %+v, %v; want clean after replaying 2 files", rep, err)
		}
		_, err = eng.Upgrade(ctx, engine.UpgradeOptions{To: "1"})
		if engine.KindOf(err) != engine.KindTarget || !strings.HasPrefix(err.Error(), "upgrade: --to 1 is behind") {
			t.Fatalf("Upgrade --to 1 at 2 = %v (kind %q); want a KindTarget refusal of the upgrade", err, engine.KindOf(err))
		}
		down, err := eng.Downgrade(ctx, engine.DowngradeOptions{})
		if err != nil || down.To != "1" || len(down.Reverted) != 1 {
			t.Fatalf("Downgrade = %+v, %v; want back at 1 with one file reverted", down, err)
		}
		if st, err = eng.Status(ctx); err != nil || st.Current != "1" || len(st.Pending) != 1 {
			t.Fatalf("Status after = %+v, %v; want at 1 with 1 pending", st, err)
		}
	})
}

// devURL is the dev server for a backend: WEBER_DEV_<BACKEND>_URL, else
// the test server itself ("" for SQLite).
func devURL(b testserver.Backend) string {
	if b.Name == "sqlite" {
		return ""
	}
	if v := os.Getenv("WEBER_DEV_" + strings.ToUpper(b.Name) + "_URL"); v != "" {
		return v
	}
	return b.URL
}

// TestVerifyRehearsesTheFolder checks that Verify rehearses the engine's
// folder on generated rows, catches a file that loses them, and refuses a
// folder not named after its dialect.
func TestVerifyRehearsesTheFolder(t *testing.T) {
	ctx := context.Background()
	u, err := engine.ParseURL("sqlite://" + filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := engine.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	create := "CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL);\n"
	for _, c := range []struct {
		name, second string
		pass         bool
	}{
		{"a column added keeps every row", "ALTER TABLE users ADD COLUMN bio text NULL;\n", true},
		{"a delete loses rows", "DELETE FROM users WHERE id % 2 = 0;\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFolder(t, dialect.SQLite, "1_users.sql", create, "2_change.sql", c.second)
			eng, err := engine.New(db, engine.Config{URL: u, Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := eng.Verify(ctx, engine.VerifyOptions{Rows: 20})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Passed() != c.pass {
				t.Fatalf("Passed() = %v, want %v; failures %q", rep.Passed(), c.pass, rep.Failures())
			}
		})
	}
	odd := filepath.Join(t.TempDir(), "history")
	if err := os.Mkdir(odd, 0o755); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(db, engine.Config{URL: u, Dir: odd})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Verify(ctx, engine.VerifyOptions{}); err == nil || !strings.Contains(err.Error(), "is not named sqlite") {
		t.Fatalf("Verify of a folder named history = %v; want a refusal naming sqlite", err)
	}
}
