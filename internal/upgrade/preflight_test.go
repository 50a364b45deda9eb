package upgrade

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/preflight"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// devURL is the dev server for the backend's pre-flight check ("" for
// SQLite): WEBER_DEV_<DIALECT>_URL, else the test server.
func devURL(d *tdb) string {
	switch d.dia() {
	case dialect.Postgres:
		if v := os.Getenv("WEBER_DEV_POSTGRES_URL"); v != "" {
			return v
		}
		return os.Getenv("WEBER_TEST_POSTGRES_URL")
	case dialect.MySQL:
		if v := os.Getenv("WEBER_DEV_MYSQL_URL"); v != "" {
			return v
		}
		return os.Getenv("WEBER_TEST_MYSQL_URL")
	}
	return ""
}

var people = file{"1_users.sql", "CREATE TABLE users (id int NOT NULL, name varchar(50), bio varchar(100), PRIMARY KEY (id));\n"}

// populated applies people and fills users with 5 rows: bio set in 3,
// names a, b, a, b, c.
func populated(t *testing.T, d *tdb, extra ...file) string {
	t.Helper()
	dir := writeDir(t, d.dia(), append([]file{people}, extra...)...)
	mustUpgrade(t, d, dir, Options{To: "1"})
	for i, name := range []string{"a", "b", "a", "b", "c"} {
		bio := "NULL"
		if i < 3 {
			bio = fmt.Sprintf("'bio %d'", i)
		}
		if _, err := d.db.Exec(fmt.Sprintf("INSERT INTO users (id, name, bio) VALUES (%d, '%s', %s)", i+1, name, bio)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// unchanged checks that the refused file left nothing behind.
func unchanged(t *testing.T, d *tdb) {
	t.Helper()
	if r := revision(t, d, "2"); r != nil {
		t.Errorf("a refused upgrade recorded version 2: %+v", r)
	}
	if n := count(t, d, "SELECT COUNT(bio) FROM users"); n != 3 {
		t.Errorf("users.bio holds %d values after a refused upgrade, want 3", n)
	}
}

// Scenario "Destructive change": a dropped column that holds data.
func TestPreflightDropColumnWithData(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		drop := file{"2_drop_bio.sql", "ALTER TABLE users DROP COLUMN bio;\n"}
		dir := populated(t, d, drop)
		_, err := upgrade(t, d, dir, Options{DevURL: devURL(d)})
		t.Logf("refusal: %v", err)
		r := wantRefusal(t, err, KindDataLoss, "users.bio", "3 rows", "--allow-data-loss", "2_drop_bio.sql", "statement 1")
		var dl *preflight.DataLossError
		if !errors.As(err, &dl) {
			t.Fatalf("want a DataLossError, got %v", err)
		}
		if diff := cmp.Diff([]string{"drop-column users.bio: 3 rows, blocks"}, risksOf(dl.Risks)); diff != "" {
			t.Errorf("want one drop-column risk of 3 rows (-want +got):\n%s", diff)
		}
		if r.File != "2_drop_bio.sql" {
			t.Errorf("refusal file %q", r.File)
		}
		unchanged(t, d)

		// A dry run reports the risk instead of refusing.
		res := mustUpgrade(t, d, dir, Options{DryRun: true, DevURL: devURL(d)})
		if diff := cmp.Diff([]string{"drop-column users.bio: 3 rows, blocks"}, risksOf(res.Risks)); diff != "" {
			t.Errorf("dry run risks (-want +got):\n%s", diff)
		}
		if res.PreflightSkipped != "" {
			t.Errorf("dry run: the pre-flight was skipped: %s", res.PreflightSkipped)
		}
		unchanged(t, d)

		res = mustUpgrade(t, d, dir, Options{AllowDataLoss: true})
		if len(res.Files) != 1 || res.After != "2" {
			t.Fatalf("with AllowDataLoss: %+v", res)
		}
		if _, err := d.db.Exec("SELECT bio FROM users"); err == nil {
			t.Error("users.bio still exists after the allowed drop")
		}
	})
}

func TestPreflightEmptyColumnDrops(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := populated(t, d, file{"2_drop_bio.sql", "ALTER TABLE users DROP COLUMN bio;\n"})
		if _, err := d.db.Exec("UPDATE users SET bio = NULL"); err != nil {
			t.Fatal(err)
		}
		res := mustUpgrade(t, d, dir, Options{DevURL: devURL(d)})
		if len(res.Files) != 1 || res.After != "2" {
			t.Fatalf("result: %+v", res)
		}
		// The harmless finding is kept as a warning.
		if len(res.Risks) != 1 || res.Risks[0].Rows != 0 || res.Risks[0].Blocks() {
			t.Errorf("risks: %+v", res.Risks)
		}
	})
}

func TestPreflightNotNullWithoutDefault(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		body := "ALTER TABLE users ADD COLUMN age int NOT NULL;\n"
		if d.dia() == dialect.SQLite {
			// SQLite cannot ADD a NOT NULL column without a default: Atlas
			// rebuilds the table.
			body = "CREATE TABLE new_users (id int NOT NULL, name varchar(50), bio varchar(100), age int NOT NULL, PRIMARY KEY (id));\n" +
				"INSERT INTO new_users (id, name, bio) SELECT id, name, bio FROM users;\n" +
				"DROP TABLE users;\n" +
				"ALTER TABLE new_users RENAME TO users;\n"
		}
		dir := populated(t, d, file{"2_age.sql", body})
		_, err := upgrade(t, d, dir, Options{DevURL: devURL(d)})
		wantRefusal(t, err, KindDataLoss, "users.age", "NOT NULL", "5 rows", "--allow-data-loss")
		unchanged(t, d)
		if _, err := d.db.Exec("SELECT age FROM users"); err == nil {
			t.Error("users.age exists after a refused upgrade")
		}
	})
}

func TestPreflightUniqueOverDuplicates(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := populated(t, d, file{"2_unique_name.sql", "CREATE TABLE other (id int NOT NULL, PRIMARY KEY (id));\nCREATE UNIQUE INDEX users_name ON users (name);\n"})
		_, err := upgrade(t, d, dir, Options{DevURL: devURL(d)})
		wantRefusal(t, err, KindDataLoss, "users(name)", "2 values", "4 rows", "statement 2", "--allow-data-loss")
		unchanged(t, d)
		if tableExists(t, d, "other") {
			t.Error("statement 1 of the refused file ran")
		}
		// Remove the duplicates: the same file applies.
		if _, err := d.db.Exec("UPDATE users SET name = " + concatID(d.dia())); err != nil {
			t.Fatal(err)
		}
		if res := mustUpgrade(t, d, dir, Options{DevURL: devURL(d)}); res.After != "2" {
			t.Errorf("after removing duplicates: %+v", res)
		}
	})
}

func concatID(dia string) string {
	if dia == dialect.MySQL {
		return "CONCAT(name, id)"
	}
	return "name || id"
}

// A fresh database runs a history full of DROPs and ALTERs without any dev
// database: there are no rows to lose.
func TestPreflightSkippedOnEmptyTarget(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(), people,
			file{"2_drop_bio.sql", "ALTER TABLE users DROP COLUMN bio;\nCREATE UNIQUE INDEX users_name ON users (name);\n"})
		res := mustUpgrade(t, d, dir, Options{}) // no DevURL
		if res.After != "2" || len(res.Risks) != 0 {
			t.Errorf("result: %+v", res)
		}
	})
}

// A server without a dev database: refused only when a statement looks
// risky and the database holds rows; the message says what to set.
func TestPreflightNoDevServer(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := populated(t, d, file{"2_drop_bio.sql", "ALTER TABLE users DROP COLUMN bio;\n"})
		_, err := upgrade(t, d, dir, Options{})
		env := "WEBER_DEV_" + strings.ToUpper(d.dia()) + "_URL"
		wantRefusal(t, err, KindPreflight, env, "--dev-url", "--allow-data-loss", "statement 1 of 2_drop_bio.sql")
		if !errors.Is(err, preflight.ErrNoDev) {
			t.Errorf("%v does not wrap preflight.ErrNoDev", err)
		}
		unchanged(t, d)
		res := mustUpgrade(t, d, dir, Options{DryRun: true})
		if !strings.Contains(res.PreflightSkipped, env) {
			t.Errorf("dry run: PreflightSkipped %q", res.PreflightSkipped)
		}

		// A harmless file on a database holding rows needs no dev server.
		d2 := newDB(t, d.name)
		dir2 := populated(t, d2, file{"2_tags.sql", "CREATE TABLE tags (id int NOT NULL, PRIMARY KEY (id));\nCREATE INDEX users_name ON users (name);\n"})
		if res := mustUpgrade(t, d2, dir2, Options{}); res.After != "2" {
			t.Errorf("harmless file: %+v", res)
		}
	}, testserver.Except(testserver.SQLite, "the pre-flight needs no dev server on SQLite (it copies the database)"))
}

func TestRiskyStatement(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		sql   string
		risky bool
	}{
		{"CREATE TABLE t (id int NOT NULL, PRIMARY KEY (id))", false},
		{"CREATE TABLE `t` (`id` int NOT NULL, `u` varchar(5) UNIQUE, `p` int REFERENCES x (id))", false},
		{"-- a comment\nCREATE TABLE t (id int PRIMARY KEY)", false},
		{"CREATE INDEX t_name ON t (name)", false},
		{"INSERT INTO t (id, name) VALUES (1, 'x')", false},
		{"ALTER TABLE t ADD COLUMN x int", false},
		{"alter table t modify x int", true},
		{"DROP TABLE t", true},
		{"DROP INDEX t_name", true},
		{"RENAME TABLE a TO b", true},
		{"CREATE UNIQUE INDEX t_name ON t (name)", true},
		{"create unique index concurrently t_name on t (name)", true},
		{"CREATE /* x */ UNIQUE INDEX t_name ON t (name)", true},
		{"ALTER TABLE `users` ADD COLUMN `bio` varchar(100) NULL", false},
		{"ALTER TABLE \"users\" ADD COLUMN \"n\" numeric(10,2) NULL DEFAULT 0", false},
		{"alter table users add bio text", false},
		{"ALTER TABLE users ADD COLUMN age int NOT NULL", true},
		{"ALTER TABLE users ADD COLUMN a int, DROP COLUMN b", true},
		{"ALTER TABLE users ADD COLUMN a int, ALTER COLUMN b SET NOT NULL", true},
		{"ALTER TABLE users ADD COLUMN e varchar(5) UNIQUE", true},
		{"ALTER TABLE users ADD CONSTRAINT u UNIQUE (name)", true},
		{"ALTER TABLE users ADD UNIQUE INDEX u (name)", true},
		{"ALTER TABLE users ADD PRIMARY KEY (id)", true},
		{"ALTER TABLE posts ADD COLUMN user_id int NULL REFERENCES users (id)", true},
		{"ALTER TABLE users ADD COLUMN t int GENERATED ALWAYS AS (id * 2) STORED", true},
		{"ALTER TABLE users ADD (a int NOT NULL)", true},
	} {
		if got := riskyStatement(c.sql); got != c.risky {
			t.Errorf("riskyStatement(%q) = %v, want %v", c.sql, got, c.risky)
		}
	}
}

// An in-memory SQLite database has a single connection, which Upgrade pins:
// the check must not wait for it.
func TestPreflightInMemorySQLite(t *testing.T) {
	t.Parallel()
	u, err := dbconn.Parse("sqlite://:memory:")
	if err != nil {
		t.Fatal(err)
	}
	db, err := dbconn.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d := &tdb{name: "sqlite", u: u, db: db}
	dir := populated(t, d, file{"2_drop_bio.sql", "ALTER TABLE users DROP COLUMN bio;\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = Upgrade(ctx, db, u, dir, Options{})
	wantRefusal(t, err, KindDataLoss, "users.bio", "3 rows")
	unchanged(t, d)
	if _, err := Upgrade(ctx, db, u, dir, Options{AllowDataLoss: true}); err != nil {
		t.Fatal(err)
	}
}

// Scenario "Pools and poolers": a pool limited to one connection does not deadlock the
// check, which reads the target through the pool.
func TestPreflightOneConnectionPool(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := populated(t, d, file{"2_unique_name.sql", "CREATE UNIQUE INDEX users_name ON users (name);\n"})
		d.db.SetMaxOpenConns(1)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := Upgrade(ctx, d.db, d.u, dir, Options{DevURL: devURL(d)})
		wantRefusal(t, err, KindDataLoss, "users(name)", "4 rows")
		if res, err := Upgrade(ctx, d.db, d.u, dir, Options{DryRun: true, DevURL: devURL(d)}); err != nil || len(res.Risks) != 1 {
			t.Fatalf("dry run: %v %+v", err, res)
		}
	})
}
