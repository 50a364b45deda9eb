package plan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlite"
	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"github.com/google/go-cmp/cmp"
	entmigrate "github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// dialectsUnderTest returns the dialects to run on, for tests that handle
// several at once (one subtest per dialect is testserver.Each): SQLite
// always, PostgreSQL and MySQL when their dev servers are configured. A
// missing one is logged by name, and fails the test under CI=true, where
// every server is promised.
func dialectsUnderTest(t *testing.T) ([]string, map[string]string) {
	t.Helper()
	urls := map[string]string{}
	dialects := []string{SQLite}
	for _, d := range []string{Postgres, MySQL} {
		v := os.Getenv(DevURLVariable(d))
		if v == "" {
			v = os.Getenv(strings.Replace(DevURLVariable(d), "_DEV_", "_TEST_", 1))
		}
		switch {
		case v != "":
			urls[d] = v
			dialects = append(dialects, d)
		case testserver.InCI():
			t.Fatalf("%s: CI=true promises every server, but %s is not set", d, DevURLVariable(d))
		default:
			t.Logf("%s not run: no server: set %s", d, DevURLVariable(d))
		}
	}
	return dialects, urls
}

// models returns a deep copy of the project's models, for a test to edit.
func models(t *testing.T) []*entschema.Table {
	t.Helper()
	tables, err := entschema.CopyTables(entmigrate.Tables)
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

func table(t *testing.T, tables []*entschema.Table, name string) *entschema.Table {
	t.Helper()
	for _, tb := range tables {
		if tb.Name == name {
			return tb
		}
	}
	t.Fatalf("no table %q in the models", name)
	return nil
}

// clock returns a Now that starts at start and moves a minute per call.
func clock(start time.Time) func() time.Time {
	return func() time.Time {
		now := start
		start = start.Add(time.Minute)
		return now
	}
}

// revise runs Revise on root for the dialects and fails the test on error.
func revise(t *testing.T, root string, dialects []string, urls map[string]string, tables []*entschema.Table, name string, allow bool, now func() time.Time) *ReviseResult {
	t.Helper()
	res, err := Revise(context.Background(), ReviseOptions{
		Root: root, Dialects: dialects, DevURLs: urls, Name: name,
		AllowDestructive: allow, Tables: tables, Now: now,
	})
	if err != nil {
		t.Fatalf("Revise(%s): %v", name, err)
	}
	return res
}

func sqlFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func validate(t *testing.T, dir string) {
	t.Helper()
	ld, err := migrate.NewLocalDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.Validate(ld); err != nil {
		t.Fatalf("migrate.Validate(%s): %v", dir, err)
	}
}

func allSQL(r DialectResult) string {
	var b strings.Builder
	for _, s := range r.Statements {
		b.WriteString(s.SQL + ";\n")
	}
	return b.String()
}

func TestReviseWritesInitialThenNothing(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	root := t.TempDir()
	start := time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)
	res := revise(t, root, dialects, urls, models(t), "Initial!", false, clock(start))
	if !res.Written || res.Version != "20261127010203" || res.Name != "initial" {
		t.Fatalf("first revision: written=%v version=%q name=%q", res.Written, res.Version, res.Name)
	}
	for _, d := range res.Dialects {
		want := filepath.Join(root, d.Dialect, "20261127010203_initial.sql")
		if d.File != want {
			t.Errorf("%s: file %q, want %q", d.Dialect, d.File, want)
		}
		if !strings.Contains(allSQL(d), "CREATE TABLE") || len(d.LeftOut) != 0 {
			t.Errorf("%s: statements %q, left out %v", d.Dialect, allSQL(d), d.LeftOut)
		}
		validate(t, filepath.Join(root, d.Dialect))
	}
	again := revise(t, root, dialects, urls, models(t), "again", false, clock(start.Add(time.Hour)))
	if again.Written || again.Version != "" {
		t.Fatalf("second revision wrote %q", again.Version)
	}
	for _, d := range again.Dialects {
		if len(d.Statements) != 0 || d.File != "" || len(d.LeftOut) != 0 {
			t.Errorf("%s: second revision planned %q, file %q, left out %v", d.Dialect, allSQL(d), d.File, d.LeftOut)
		}
		if n := len(sqlFiles(t, filepath.Join(root, d.Dialect))); n != 1 {
			t.Errorf("%s: %d files after a revision with no change, want 1", d.Dialect, n)
		}
		if d.Replayed != 1 {
			t.Errorf("%s: replayed %d files, want 1", d.Dialect, d.Replayed)
		}
	}
}

func TestReviseAddFieldWritesSameVersionEverywhere(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	root := t.TempDir()
	now := clock(time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC))
	revise(t, root, dialects, urls, models(t), "initial", false, now)

	tables := models(t)
	users := table(t, tables, "users")
	users.Columns = append(users.Columns, &entschema.Column{Name: "nickname", Type: field.TypeString, Size: 50, Nullable: true})
	res := revise(t, root, dialects, urls, tables, "Add nickname", false, now)
	if !res.Written || res.Name != "add_nickname" {
		t.Fatalf("written=%v name=%q", res.Written, res.Name)
	}
	for _, d := range res.Dialects {
		if filepath.Base(d.File) != res.Version+"_add_nickname.sql" {
			t.Errorf("%s: wrote %q, want version %s", d.Dialect, d.File, res.Version)
		}
		sqlText := strings.ToUpper(allSQL(d))
		if !strings.Contains(sqlText, "ADD COLUMN") || !strings.Contains(sqlText, "NICKNAME") || strings.Contains(sqlText, "DROP") {
			t.Errorf("%s: statements %q, want one ADD COLUMN nickname", d.Dialect, allSQL(d))
		}
		body, err := os.ReadFile(d.File)
		if err != nil || !strings.Contains(string(body), "nickname") {
			t.Errorf("%s: file content %q (%v)", d.Dialect, body, err)
		}
		validate(t, filepath.Join(root, d.Dialect))
	}
	// The models now match the history: nothing more to write.
	if again := revise(t, root, dialects, urls, tables, "x", false, now); again.Written {
		t.Fatalf("revision after the add wrote %s", again.Version)
	}
}

func TestReviseVersionIsAfterTheNewestFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	now := clock(time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC))
	first := revise(t, root, []string{SQLite}, nil, models(t), "initial", false, now)
	tables := models(t)
	tags := table(t, tables, "tags")
	tags.Columns = append(tags.Columns, &entschema.Column{Name: "color", Type: field.TypeString, Nullable: true})
	// A clock behind the history still yields a later version.
	res := revise(t, root, []string{SQLite}, nil, tables, "color", false, func() time.Time {
		return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	})
	if res.Version != "20261127010001" {
		t.Fatalf("version %s after %s, want 20261127010001", res.Version, first.Version)
	}
}

func TestReviseWritesOnlyDialectsThatChanged(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	if len(dialects) < 2 {
		t.Skip("needs a second dialect: set WEBER_DEV_POSTGRES_URL or WEBER_DEV_MYSQL_URL")
	}
	root := t.TempDir()
	now := clock(time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC))
	revise(t, root, dialects, urls, models(t), "initial", false, now)
	tables := models(t)
	tags := table(t, tables, "tags")
	tags.Columns = append(tags.Columns, &entschema.Column{Name: "color", Type: field.TypeString, Nullable: true})
	// SQLite gets the change first, alone.
	revise(t, root, []string{SQLite}, nil, tables, "color", false, now)
	res := revise(t, root, dialects, urls, tables, "color", false, now)
	if !res.Written {
		t.Fatal("nothing written for the dialects behind")
	}
	for _, d := range res.Dialects {
		switch {
		case d.Dialect == SQLite && (d.File != "" || len(d.Statements) > 0):
			t.Errorf("sqlite was up to date but got %q", d.File)
		case d.Dialect != SQLite && filepath.Base(d.File) != res.Version+"_color.sql":
			t.Errorf("%s: file %q, want version %s", d.Dialect, d.File, res.Version)
		}
		validate(t, filepath.Join(root, d.Dialect))
	}
	if n := len(sqlFiles(t, filepath.Join(root, SQLite))); n != 2 {
		t.Errorf("sqlite has %d files, want 2", n)
	}
}

func TestReviseLeavesOutDropsUnlessAllowed(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	root := t.TempDir()
	now := clock(time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC))
	revise(t, root, dialects, urls, models(t), "initial", false, now)

	tables := models(t)
	users := table(t, tables, "users")
	users.Columns = slices.DeleteFunc(users.Columns, func(c *entschema.Column) bool { return c.Name == "bio" })
	users.Indexes = nil // drops user_created_at
	res := revise(t, root, dialects, urls, tables, "drop bio", false, now)
	if res.Written {
		t.Fatalf("a destructive-only change wrote %s without AllowDestructive", res.Version)
	}
	for _, d := range res.Dialects {
		var left []string
		for _, l := range d.LeftOut {
			left = append(left, l.Kind+" "+l.Table+"."+l.Name)
		}
		if !slices.Contains(left, "DROP COLUMN users.bio") || !slices.Contains(left, "DROP INDEX users.user_created_at") {
			t.Errorf("%s: left out %v, want DROP COLUMN users.bio and DROP INDEX users.user_created_at", d.Dialect, left)
		}
		if len(d.Statements) != 0 {
			t.Errorf("%s: planned %q", d.Dialect, allSQL(d))
		}
	}
	ahead, err := ModelsAhead(context.Background(), SQLite, filepath.Join(root, SQLite), "", tables)
	if err != nil || !ahead.Ahead() || !ahead.Empty() {
		t.Fatalf("ModelsAhead: ahead=%v empty=%v err=%v", ahead != nil && ahead.Ahead(), ahead != nil && ahead.Empty(), err)
	}

	res = revise(t, root, dialects, urls, tables, "drop bio", true, now)
	if !res.Written {
		t.Fatal("AllowDestructive wrote nothing")
	}
	for _, d := range res.Dialects {
		body, err := os.ReadFile(d.File)
		if err != nil {
			t.Fatal(err)
		}
		content := string(body)
		if !strings.Contains(content, "-- atlas:nolint destructive\n") {
			t.Errorf("%s: no nolint directive in\n%s", d.Dialect, content)
		}
		if !strings.Contains(strings.ToUpper(content), "DROP") {
			t.Errorf("%s: no DROP in\n%s", d.Dialect, content)
		}
		var ds103 *Finding
		for i, f := range d.Findings {
			if f.Code == "DS103" {
				ds103 = &d.Findings[i]
			}
		}
		if ds103 == nil {
			t.Fatalf("%s: findings %+v, want a DS103", d.Dialect, d.Findings)
		}
		got := lintFindingOf(*ds103, nil, nil)
		want := lintFinding{File: got.File, Line: got.Line, Analyzer: got.Analyzer, Severity: got.Severity, Intended: true, Explained: true, Alternative: true}
		if diff := cmp.Diff(want, got); diff != "" || ds103.Statement == "" {
			t.Errorf("%s: want an intended DS103 with its statement %q and explanation (-want +got):\n%s", d.Dialect, ds103.Statement, diff)
		}
		// The directive stands right above the flagged statement, so Atlas
		// itself would honour it.
		stmts, err := SplitFile(d.Dialect, migrate.NewLocalFile(filepath.Base(d.File), body))
		if err != nil {
			t.Fatal(err)
		}
		marked := 0
		for _, s := range stmts {
			if len(s.Directive("nolint")) > 0 {
				marked++
				if lineAt(content, s.Pos) != ds103.Line {
					t.Errorf("%s: nolint on line %d, finding on line %d", d.Dialect, lineAt(content, s.Pos), ds103.Line)
				}
			}
		}
		if marked != 1 {
			t.Errorf("%s: %d statements marked nolint, want 1", d.Dialect, marked)
		}
		validate(t, filepath.Join(root, d.Dialect))
	}
	if again := revise(t, root, dialects, urls, tables, "x", false, now); again.Written {
		t.Fatalf("revision after the drop wrote %s", again.Version)
	}
}

// A removed NOT NULL column is kept nullable, and a table rebuild on SQLite
// (forced here by a new foreign key) keeps the left-out column's values.
func TestLeftOutColumnSurvivesSQLiteRebuild(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	now := clock(time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC))
	revise(t, root, []string{SQLite}, nil, models(t), "initial", false, now)

	tables := models(t)
	tags := table(t, tables, "tags")
	users := table(t, tables, "users")
	// Drop tags.name (NOT NULL, unique) and add a foreign key column to
	// users: SQLite must rebuild tags.
	tags.Columns = slices.DeleteFunc(tags.Columns, func(c *entschema.Column) bool { return c.Name == "name" })
	owner := &entschema.Column{Name: "owner_id", Type: field.TypeInt, Nullable: true}
	tags.Columns = append(tags.Columns, owner)
	tags.ForeignKeys = append(tags.ForeignKeys, &entschema.ForeignKey{
		Symbol: "tags_users_owner", Columns: []*entschema.Column{owner},
		RefColumns: []*entschema.Column{users.Columns[0]}, RefTable: users, OnDelete: entschema.SetNull,
	})
	res := revise(t, root, []string{SQLite}, nil, tables, "tag owner", false, now)
	d := res.Dialects[0]
	if !res.Written || !slices.ContainsFunc(d.LeftOut, func(l LeftOut) bool {
		return l.String() == "DROP COLUMN tags.name (kept as nullable so the application can insert without it)"
	}) {
		t.Fatalf("written=%v left out=%v", res.Written, d.LeftOut)
	}

	ctx := context.Background()
	db, cleanup, err := OpenScratch(ctx, SQLite, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cleanup() })
	files, err := ReadHistory(filepath.Join(root, SQLite))
	if err != nil || len(files) != 2 {
		t.Fatalf("history: %d files, %v", len(files), err)
	}
	if _, err := Replay(ctx, db, SQLite, files[:1], ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO tags (name) VALUES ('go'), ('sql')"); err != nil {
		t.Fatal(err)
	}
	if _, err := Replay(ctx, db, SQLite, files[1:], ""); err != nil {
		t.Fatalf("applying the revision: %v", err)
	}
	var names string
	if err := db.QueryRowContext(ctx, "SELECT group_concat(name, ',') FROM (SELECT name FROM tags ORDER BY id)").Scan(&names); err != nil {
		t.Fatal(err)
	}
	if names != "go,sql" {
		t.Fatalf("tags.name after the rebuild = %q, want go,sql", names)
	}
	// The application, which no longer knows the column, can insert.
	if _, err := db.ExecContext(ctx, "INSERT INTO tags (owner_id) VALUES (NULL)"); err != nil {
		t.Fatalf("insert without the left-out column: %v", err)
	}
}

func TestReviseFailingDialectWritesNothing(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	now := clock(time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC))
	revise(t, root, []string{SQLite}, nil, models(t), "initial", false, now)
	// postgres has a broken history: its plan fails, so sqlite must not be
	// written either.
	pg := filepath.Join(root, Postgres)
	if err := os.MkdirAll(pg, 0o755); err != nil {
		t.Fatal(err)
	}
	ld, _ := migrate.NewLocalDir(pg)
	if err := ld.WriteFile("20260101000000_x.sql", []byte("CREATE TABLE x (id int);\n")); err != nil {
		t.Fatal(err)
	}
	// no atlas.sum: refused while reading, before any server is needed
	tables := models(t)
	users := table(t, tables, "users")
	users.Columns = append(users.Columns, &entschema.Column{Name: "x", Type: field.TypeInt, Nullable: true})
	_, err := Revise(context.Background(), ReviseOptions{Root: root, Dialects: []string{SQLite, Postgres},
		DevURLs: map[string]string{Postgres: "postgres://u:secret@127.0.0.1:1/db"}, Tables: tables, Now: now})
	if err == nil {
		t.Fatal("Revise into a folder without atlas.sum succeeded")
	}
	if diff := cmp.Diff(message{}, messageOf(err.Error(), []string{"no atlas.sum"}, "secret")); diff != "" {
		t.Fatalf("err = %v (-want +got):\n%s", err, diff)
	}
	if n := len(sqlFiles(t, filepath.Join(root, SQLite))); n != 1 {
		t.Fatalf("sqlite has %d files after a failed revision, want 1", n)
	}
}

func TestReviseRefusesEditedHistory(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	now := clock(time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC))
	res := revise(t, root, []string{SQLite}, nil, models(t), "initial", false, now)
	f := res.Dialects[0].File
	b, _ := os.ReadFile(f)
	if err := os.WriteFile(f, append(b, []byte("-- edited\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Revise(context.Background(), ReviseOptions{Root: root, Dialects: []string{SQLite}, Tables: models(t), Now: now})
	if err == nil || !strings.Contains(err.Error(), filepath.Base(f)) || !strings.Contains(err.Error(), "edited") {
		t.Fatalf("err = %v", err)
	}
}

func TestMissingDevURLSaysWhatToSet(t *testing.T) {
	t.Parallel()
	_, err := Revise(context.Background(), ReviseOptions{Root: t.TempDir(), Dialects: []string{"sqlite", "mysql"}, Tables: models(t)})
	var me *MissingDevURLError
	if !errors.As(err, &me) || me.Dialect != MySQL {
		t.Fatalf("err = %v, want a *MissingDevURLError for mysql", err)
	}
	if diff := cmp.Diff(message{}, messageOf(err.Error(), []string{"WEBER_DEV_MYSQL_URL", "--dialect sqlite"})); diff != "" {
		t.Fatalf("err = %v (-want +got):\n%s", err, diff)
	}
	if _, _, err := OpenScratch(context.Background(), Postgres, ""); !strings.Contains(fmt.Sprint(err), "WEBER_DEV_POSTGRES_URL") {
		t.Fatalf("OpenScratch: %v", err)
	}
}

func TestSanitizeName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                  "change",
		"Add Users!":        "add_users",
		"  tags--and__ids ": "tags_and_ids",
		"ümlaut":            "mlaut",
		"../../etc/passwd":  "etc_passwd",
		"DROP TABLE; --":    "drop_table",
	} {
		if got := SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDevDBServersAreDropped checks that scratch databases are created on
// the server and removed by cleanup, even after the context is cancelled.
func TestDevDBServersAreDropped(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	for _, d := range dialects {
		if d == SQLite {
			continue
		}
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			db, cleanup, err := OpenScratch(ctx, d, urls[d])
			if err != nil {
				t.Fatal(err)
			}
			var name string
			q := "SELECT current_database()"
			if d == MySQL {
				q = "SELECT DATABASE()"
			}
			if err := db.QueryRowContext(ctx, q).Scan(&name); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(name, "weber_dev_") {
				t.Fatalf("scratch database %q", name)
			}
			cancel()
			if err := cleanup(); err != nil {
				t.Fatalf("cleanup after cancel: %v", err)
			}
			u, _ := dbconn.Parse(urls[d])
			if ok, err := dbconn.Exists(context.Background(), u.WithDatabase(name)); err != nil || ok {
				t.Fatalf("scratch database %s still exists (%v)", name, err)
			}
		})
	}
}

// TestReplayIsLinearAndCorrect replays a long generated history and checks
// the result; the file count is modest to keep the suite fast.
func TestReplayIsLinearAndCorrect(t *testing.T) {
	t.Parallel()
	const n = 400
	dir := t.TempDir()
	files := writeBenchHistory(t, dir, n)
	ctx := context.Background()
	db, cleanup, err := OpenScratch(ctx, SQLite, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cleanup() })
	got, err := Replay(ctx, db, SQLite, files, "")
	if err != nil || got != n {
		t.Fatalf("Replay = %d, %v; want %d files", got, err, n)
	}
	var tables int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'bench_%'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != (n-1+1)/2 {
		t.Fatalf("%d bench tables after replay, want %d", tables, (n-1+1)/2)
	}
	// upTo stops at that version.
	db2, cleanup2, err := OpenScratch(ctx, SQLite, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cleanup2() })
	if got, err := Replay(ctx, db2, SQLite, files, files[9].Version()); err != nil || got != 10 {
		t.Fatalf("Replay upTo 10th = %d, %v", got, err)
	}
	// The models plus the generated tables match the history.
	p, err := Models(ctx, db, SQLite, benchTables(t, n), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() || len(p.LeftOut) != 0 {
		t.Fatalf("plan over the generated history: %d statements %v, left out %v", len(p.Statements), p.Statements, p.LeftOut)
	}
}

func TestReplayErrorNamesFileStatementAndLine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, cleanup, err := OpenScratch(ctx, SQLite, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cleanup() })
	files := []migrate.File{
		migrate.NewLocalFile("1_a.sql", []byte("CREATE TABLE a (id int);\n")),
		migrate.NewLocalFile("2_b.sql", []byte("CREATE TABLE b (id int);\n\n-- broken\nCREATE TABLE a (id int);\n")),
	}
	_, err = Replay(ctx, db, SQLite, files, "")
	var re *ReplayError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a *ReplayError", err)
	}
	type at struct {
		File            string
		Statement, Line int
		Message         message
	}
	if diff := cmp.Diff(at{File: "2_b.sql", Statement: 2, Line: 4}, at{re.File, re.Statement, re.Line, messageOf(err.Error(), nil)}); diff != "" {
		t.Fatalf("err = %v (-want +got):\n%s", err, diff)
	}
}

// execAll is a tiny helper for tests that need raw SQL.
func execAll(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// The SQLite inspection shim must see exactly what Atlas's own query sees.
func TestSQLiteQuerierInspectsTheSame(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, cleanup, err := OpenScratch(ctx, SQLite, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cleanup() })
	files, err := ReadHistory(projectRoot + "/" + SQLite)
	if err != nil || len(files) == 0 {
		t.Fatalf("project history: %v", err)
	}
	if _, err := Replay(ctx, db, SQLite, files, ""); err != nil {
		t.Fatal(err)
	}
	fast, err := openAtlas(SQLite, db)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	a, err := InspectTables(ctx, fast)
	if err != nil {
		t.Fatal(err)
	}
	b, err := InspectTables(ctx, slow)
	if err != nil {
		t.Fatal(err)
	}
	count := func(s *schema.Schema) (n int) {
		for _, tb := range s.Tables {
			n += len(tb.Indexes)
		}
		return n
	}
	if count(a) != count(b) || count(a) < 3 {
		t.Fatalf("indexes: %d through the shim, %d through Atlas", count(a), count(b))
	}
	changes, err := slow.SchemaDiff(b, a)
	if err != nil || len(changes) != 0 {
		t.Fatalf("the shim's inspection differs: %v %v", changes, err)
	}
	var rewritten int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM pragma_index_list('users')"+fastIndexJoin).Scan(&rewritten); err != nil || rewritten != 2 {
		t.Fatalf("rewritten query: %d rows, %v", rewritten, err)
	}
}

func TestReviseLeavesOutDroppedTables(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	root := t.TempDir()
	now := clock(time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC))
	revise(t, root, dialects, urls, models(t), "initial", false, now)
	tables := slices.DeleteFunc(models(t), func(tb *entschema.Table) bool { return tb.Name == "post_tags" })
	res := revise(t, root, dialects, urls, tables, "drop post tags", false, now)
	if res.Written {
		t.Fatalf("dropping a table without AllowDestructive wrote %s", res.Version)
	}
	for _, d := range res.Dialects {
		if len(d.LeftOut) != 1 || d.LeftOut[0].String() != "DROP TABLE post_tags" {
			t.Errorf("%s: left out %v, want DROP TABLE post_tags", d.Dialect, d.LeftOut)
		}
	}
	res = revise(t, root, dialects, urls, tables, "drop post tags", true, now)
	for _, d := range res.Dialects {
		body, _ := os.ReadFile(d.File)
		if !strings.Contains(string(body), "-- atlas:nolint destructive\nDROP TABLE") {
			t.Errorf("%s: want a marked DROP TABLE in\n%s", d.Dialect, body)
		}
		if !slices.ContainsFunc(d.Findings, func(f Finding) bool { return f.Code == "DS102" && f.Intended }) {
			t.Errorf("%s: findings %v, want an intended DS102", d.Dialect, d.Findings)
		}
		var destructive []string
		for _, s := range d.Statements {
			if s.Destructive {
				destructive = append(destructive, s.SQL)
			}
		}
		if len(destructive) != 1 || !strings.HasPrefix(destructive[0], "DROP TABLE") {
			t.Errorf("%s: destructive statements %q, want one DROP TABLE", d.Dialect, destructive)
		}
	}
}

// A data-dependent change is reported with its risk and alternative, but
// does not stop the revision.
func TestLintReportsNotNullWithoutDefault(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	ctx := context.Background()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			db, cleanup, err := OpenScratch(ctx, d, urls[d])
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cleanup() })
			files, err := ReadHistory(filepath.Join(projectRoot, d))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Replay(ctx, db, d, files, ""); err != nil {
				t.Fatal(err)
			}
			tables := models(t)
			users := table(t, tables, "users")
			users.Columns = append(users.Columns, &entschema.Column{Name: "level", Type: field.TypeInt})
			p, err := Models(ctx, db, d, tables, Options{})
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(p.Findings, func(f Finding) bool { return f.Code == "MF103" || f.Code == "MY101" })
			if i < 0 {
				t.Fatalf("findings %v, want MF103 or MY101", p.Findings)
			}
			f := p.Findings[i]
			got := lintFindingOf(f, []string{"level"}, nil)
			want := lintFinding{File: f.File, Line: max(f.Line, 1), Analyzer: f.Analyzer, Severity: f.Severity, Error: got.Error, Explained: true, Alternative: true}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("finding %+v: want a warning on its line, with its statement and explanation (-want +got):\n%s", f, diff)
			}
			if p.Empty() || len(p.Content) == 0 {
				t.Fatal("a data-dependent finding stopped the plan")
			}
		})
	}
}
