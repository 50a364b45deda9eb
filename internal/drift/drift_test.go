package drift_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/internal/drift"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/testdb"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"github.com/weber-framework/weber/internal/upgrade"
)

// history writes a two-file history for each dialect under a temporary
// root: users (with an index on name) and posts (with a foreign key).
func history(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	users := map[string]string{
		"sqlite":   "CREATE TABLE users (id integer PRIMARY KEY AUTOINCREMENT, name varchar(50) NOT NULL, email varchar(100) NULL);\n",
		"postgres": "CREATE TABLE users (id bigserial PRIMARY KEY, name varchar(50) NOT NULL, email varchar(100) NULL);\n",
		"mysql":    "CREATE TABLE users (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(50) NOT NULL, email varchar(100) NULL);\n",
	}
	for folder, u := range users {
		dir := filepath.Join(root, folder)
		write(t, dir, "1_users.sql", u+"CREATE INDEX users_name ON users (name);\n")
		write(t, dir, "2_posts.sql", "CREATE TABLE posts (id int NOT NULL, user_id bigint NULL, PRIMARY KEY (id), CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id));\n")
	}
	return root
}

// write adds a file to dir and re-hashes its atlas.sum.
func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := migdir.Rehash(dir); err != nil {
		t.Fatal(err)
	}
}

// devURL is the dev server for the backend: WEBER_DEV_<DIALECT>_URL, else
// the test server ("" for SQLite).
func devURL(db *testdb.DB) string {
	if db.Dialect.DevURLVar() == "" {
		return ""
	}
	if v := os.Getenv(db.Dialect.DevURLVar()); v != "" {
		return v
	}
	return os.Getenv(db.Dialect.TestURLVar())
}

// populated is a database upgraded through history with a few rows.
func populated(t *testing.T, db *testdb.DB) {
	t.Helper()
	exec(t, db, "INSERT INTO users (name, email) VALUES ('a', 'a@x.org')")
	exec(t, db, "INSERT INTO users (name, email) VALUES ('b', NULL)")
	exec(t, db, "INSERT INTO posts (id, user_id) VALUES (1, 1)")
}

func exec(t *testing.T, db *testdb.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.SQL.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func live(t *testing.T, db *testdb.DB) *drift.Report {
	t.Helper()
	rep, err := drift.Live(context.Background(), db.SQL, db.URL, db.MigrationsDir, devURL(db))
	if err != nil {
		t.Fatalf("drift.Live: %v", err)
	}
	return rep
}

// only checks that the report holds exactly one difference, of kind.
func only(t *testing.T, rep *drift.Report, kind, table, column, index string) drift.Difference {
	t.Helper()
	if rep.Clean || len(rep.Differences) != 1 {
		t.Fatalf("want one %s difference, got clean=%v %v", kind, rep.Clean, rep.Differences)
	}
	d := rep.Differences[0]
	want := drift.Difference{Kind: kind, Table: table, Column: column, Index: index, Detail: d.Detail}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("the difference (-want +got):\n%s", diff)
	}
	t.Logf("reported: %s", d)
	return d
}

func TestLiveClean(t *testing.T) {
	t.Parallel()
	root := history(t)
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		populated(t, db)
		rep := live(t, db)
		want := drift.Report{Dialect: rep.Dialect, Dir: rep.Dir, Version: "2", Replayed: 2, Clean: true}
		if diff := cmp.Diff(want, *rep); diff != "" {
			t.Fatalf("report on an untouched database (-want +got):\n%s", diff)
		}
	}, testdb.Migrations(root))
}

func TestLiveColumnAddedByHand(t *testing.T) {
	t.Parallel()
	root := history(t)
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		populated(t, db)
		exec(t, db, "ALTER TABLE users ADD COLUMN x int")
		d := only(t, live(t, db), drift.ColumnAdded, "users", "x", "")
		if !strings.Contains(strings.ToLower(d.Detail), "int") || !strings.HasSuffix(d.Detail, " NULL") || strings.Contains(d.Detail, "NOT") {
			t.Errorf("detail %q does not give the type and nullability", d.Detail)
		}
		if s := d.String(); s != "column-added users.x ("+d.Detail+")" {
			t.Errorf("String() = %q", s)
		}
	}, testdb.Migrations(root))
}

func TestLiveIndexDroppedByHand(t *testing.T) {
	t.Parallel()
	root := history(t)
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		populated(t, db)
		if db.Dialect == "mysql" {
			exec(t, db, "DROP INDEX users_name ON users")
		} else {
			exec(t, db, "DROP INDEX users_name")
		}
		d := only(t, live(t, db), drift.IndexDropped, "users", "", "users_name")
		if d.Detail != "on (name)" {
			t.Errorf("detail %q", d.Detail)
		}
	}, testdb.Migrations(root))
}

func TestLiveColumnTypeChangedByHand(t *testing.T) {
	t.Parallel()
	root := history(t)
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		populated(t, db)
		switch db.Dialect {
		case "postgres":
			exec(t, db, "ALTER TABLE users ALTER COLUMN email TYPE varchar(200)")
		case "mysql":
			exec(t, db, "ALTER TABLE users MODIFY email varchar(200) NULL")
		default:
			// SQLite has no ALTER COLUMN: a hand-made rebuild, as people do.
			exec(t, db,
				"PRAGMA foreign_keys = off",
				"CREATE TABLE new_users (id integer PRIMARY KEY AUTOINCREMENT, name varchar(50) NOT NULL, email blob NULL)",
				"INSERT INTO new_users (id, name, email) SELECT id, name, email FROM users",
				"DROP TABLE users",
				"ALTER TABLE new_users RENAME TO users",
				"CREATE INDEX users_name ON users (name)",
				"PRAGMA foreign_keys = on")
		}
		d := only(t, live(t, db), drift.ColumnChanged, "users", "email", "")
		if !strings.HasPrefix(d.Detail, "type ") || !strings.Contains(d.Detail, "(100) -> ") || !strings.Contains(d.Detail, map[string]string{"sqlite": "-> blob", "postgres": "(200)", "mysql": "(200)"}[db.Dialect.String()]) {
			t.Errorf("detail %q does not name the types", d.Detail)
		}
	}, testdb.Migrations(root))
}

func TestLiveNullabilityChangedByHand(t *testing.T) {
	t.Parallel()
	root := history(t)
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		switch db.Dialect {
		case "postgres":
			exec(t, db, "ALTER TABLE users ALTER COLUMN email SET NOT NULL")
		case "mysql":
			exec(t, db, "ALTER TABLE users MODIFY email varchar(100) NOT NULL")
		}
		d := only(t, live(t, db), drift.ColumnChanged, "users", "email", "")
		if d.Detail != "NULL -> NOT NULL" {
			t.Errorf("detail %q", d.Detail)
		}
	}, testdb.Migrations(root), testdb.Except("sqlite", "SQLite changes nullability only by a rebuild (covered by the type test)"))
}

func TestLiveTablesAddedAndDroppedByHand(t *testing.T) {
	t.Parallel()
	root := history(t)
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		exec(t, db, "CREATE TABLE audit (id int NOT NULL, PRIMARY KEY (id))", "DROP TABLE posts")
		rep := live(t, db)
		want := []drift.Difference{{Kind: drift.TableAdded, Table: "audit"}, {Kind: drift.TableDropped, Table: "posts"}}
		if diff := cmp.Diff(want, rep.Differences, cmpopts.IgnoreFields(drift.Difference{}, "Detail")); diff != "" {
			t.Fatalf("want audit added and posts dropped (-want +got):\n%s", diff)
		}
	}, testdb.Migrations(root))
}

// A partially applied file is replayed up to the statements that ran.
func TestLivePartialFile(t *testing.T) {
	t.Parallel()
	root := history(t)
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		write(t, db.MigrationsDir, "3_half.sql", "-- atlas:txmode none\n\nCREATE TABLE half (id int NOT NULL, PRIMARY KEY (id));\nINSERT INTO missing VALUES (1);\n")
		if _, err := upgrade.Upgrade(context.Background(), db.SQL, db.URL, db.MigrationsDir, upgrade.Options{}); err == nil {
			t.Fatal("the broken file applied")
		}
		rep := live(t, db)
		want := drift.Report{Dialect: rep.Dialect, Dir: rep.Dir, Version: "3", Replayed: 2, Partial: "3_half.sql", PartialApplied: 1, Clean: true}
		if diff := cmp.Diff(want, *rep); diff != "" {
			t.Fatalf("report (-want +got):\n%s", diff)
		}
	}, testdb.Migrations(root))
}

// The three ways on the project's own history and models.
func TestStatusThreeWays(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		opts := drift.OverviewOptions{DevURL: devURL(db), Tables: migrate.Tables}
		st, err := drift.Overview(ctx, db.SQL, db.URL, db.MigrationsDir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(threeWays{Models: true, Live: true, LiveClean: true, UpToDate: true}, threeWaysOf(st, "")); diff != "" {
			t.Fatalf("status of a freshly upgraded database (-want +got):\n%s", diff)
		}
		if st.Models.Ahead() {
			t.Logf("the models are ahead of the project's history: %v %v", st.Models.Statements, st.Models.LeftOut)
		} else if !st.Clean() {
			t.Errorf("Clean() is false with all three ways clean")
		}

		exec(t, db, "ALTER TABLE users ADD COLUMN nickname varchar(20) NULL")
		st, err = drift.Overview(ctx, db.SQL, db.URL, db.MigrationsDir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if st.Clean() || st.Live == nil {
			t.Fatalf("after a hand-made change: clean %v, live %+v (error %q)", st.Clean(), st.Live, st.LiveError)
		}
		if diff := cmp.Diff([]drift.Difference{{Kind: drift.ColumnAdded, Table: "users", Column: "nickname"}}, st.Live.Differences,
			cmpopts.IgnoreFields(drift.Difference{}, "Detail")); diff != "" {
			t.Fatalf("after a hand-made change (-want +got):\n%s", diff)
		}

		if db.Dialect != "sqlite" {
			st, err = drift.Overview(ctx, db.SQL, db.URL, db.MigrationsDir, drift.OverviewOptions{Tables: migrate.Tables})
			if err != nil {
				t.Fatal(err)
			}
			env := db.Dialect.DevURLVar()
			if diff := cmp.Diff(threeWays{ModelsError: env, LiveError: env, UpToDate: true}, threeWaysOf(st, env)); diff != "" {
				t.Errorf("without a dev server (-want +got):\n%s", diff)
			}
		}
	})
}

// TestLiveDefaultCollationIsNotDrift is issue 9 item 3: a MySQL/MariaDB
// database created with the server's default collation (not the
// utf8mb4_bin Weber creates) reported "schema changed by hand (collation
// utf8mb4_bin -> utf8mb4_general_ci)" right after an upgrade. Both a table
// written without COLLATE (it inherits the database's default) and one
// written the way ent writes it (COLLATE utf8mb4_bin) compare clean.
func TestLiveDefaultCollationIsNotDrift(t *testing.T) {
	t.Parallel()
	b := testserver.Lookup(t, "mysql")
	db, u := testserver.NewEmpty(t, b, nil)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, "ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "mysql")
	write(t, dir, "1_plain.sql", "CREATE TABLE plain (id bigint NOT NULL PRIMARY KEY, name varchar(50) NOT NULL);\n")
	write(t, dir, "2_ent.sql", "CREATE TABLE `ents` (`id` bigint NOT NULL AUTO_INCREMENT, `name` varchar(255) NOT NULL, PRIMARY KEY (`id`)) CHARSET utf8mb4 COLLATE utf8mb4_bin;\n")
	if _, err := upgrade.Upgrade(ctx, db, u, dir, upgrade.Options{}); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	dev := os.Getenv("WEBER_DEV_MYSQL_URL")
	if dev == "" {
		dev = b.URL
	}
	rep, err := drift.Live(ctx, db, u, dir, dev)
	if err != nil {
		t.Fatalf("drift.Live: %v", err)
	}
	if !rep.Clean {
		t.Fatalf("a database with the server's default collation reports drift right after upgrade: %v", rep.Differences)
	}
}

// threeWays is what the tests check of a *drift.OverviewReport: which ways
// ran, their errors (reduced to mention when they contain it), whether the
// live schema is clean and the history up to date.
type threeWays struct {
	Models, Live           bool
	ModelsError, LiveError string
	LiveClean, UpToDate    bool
}

func threeWaysOf(st *drift.OverviewReport, mention string) threeWays {
	reduce := func(s string) string {
		if mention != "" && strings.Contains(s, mention) {
			return mention
		}
		return s
	}
	return threeWays{Models: st.Models != nil, Live: st.Live != nil, ModelsError: reduce(st.ModelsError), LiveError: reduce(st.LiveError),
		LiveClean: st.Live != nil && st.Live.Clean, UpToDate: st.History.UpToDate()}
}
