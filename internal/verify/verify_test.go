package verify_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"

	"github.com/google/go-cmp/cmp"
	entmigrate "github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/internal/fingerprint"
	"github.com/weber-framework/weber/internal/testdb/liveschematest"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"github.com/weber-framework/weber/internal/upgrade"
	"github.com/weber-framework/weber/internal/verify"
	"github.com/weber-framework/weber/migrations/data"
)

// projectDir is the project's own migration history.
var projectDir = filepath.Join("..", "..", "migrations")

// newestVersion is the version of the newest file in the project's history
// of the dialect, the version verify starts from when a test adds one file.
func newestVersion(t *testing.T, folder string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(projectDir, folder, "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no history in %s: %v", filepath.Join(projectDir, folder), err)
	}
	slices.Sort(files)
	v, _, _ := strings.Cut(filepath.Base(files[len(files)-1]), "_")
	return v
}

// history copies the project's history of the dialect into a temporary
// root and appends the extra files (name -> content), rehashing atlas.sum.
func history(t *testing.T, folder string, extra ...string) string {
	t.Helper()
	root := t.TempDir()
	dst := filepath.Join(root, folder)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(projectDir, folder)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if err := os.WriteFile(filepath.Join(dst, extra[i]), []byte(extra[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := migrate.NewLocalDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := dir.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.WriteSumFile(dir, sum); err != nil {
		t.Fatal(err)
	}
	return root
}

func devURLs(t *testing.T, folder string) map[string]string {
	t.Helper()
	if folder == "sqlite" {
		return nil
	}
	return map[string]string{folder: liveschematest.ServerURL(t, folder)}
}

func run(t *testing.T, opts verify.Options) *verify.DialectReport {
	t.Helper()
	if opts.DataMigrations == nil {
		opts.DataMigrations = data.Migrations() // the project's, for its history
	}
	rep, err := verify.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Dialects) != 1 {
		t.Fatalf("%d dialect reports", len(rep.Dialects))
	}
	d := rep.Dialects[0]
	if d.Skipped {
		t.Fatalf("skipped: %+v", d.Steps)
	}
	return d
}

func dump(t *testing.T, d *verify.DialectReport) {
	t.Helper()
	for _, s := range d.Steps {
		t.Logf("%-4s %s: %s", s.Status, s.Name, s.Detail)
	}
}

// step returns the first step whose name starts with prefix.
func step(t *testing.T, d *verify.DialectReport, prefix string) verify.Step {
	t.Helper()
	for _, s := range d.Steps {
		if strings.HasPrefix(s.Name, prefix) {
			return s
		}
	}
	dump(t, d)
	t.Fatalf("no step %q", prefix)
	return verify.Step{}
}

func addColumn(folder string) string {
	switch folder {
	case "postgres":
		return `ALTER TABLE "users" ADD COLUMN "nickname" character varying NULL;` + "\n"
	case "mysql":
		return "ALTER TABLE `users` ADD COLUMN `nickname` varchar(50) NULL;\n"
	}
	return "ALTER TABLE `users` ADD COLUMN `nickname` text NULL;\n"
}

// TestProjectHistory: the project's own history, checked against its models.
func TestProjectHistory(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		folder := be.Name
		d := run(t, verify.Options{Root: history(t, folder, "20261207000000_add_nickname.sql", addColumn(folder)), Dialects: []string{folder},
			DevURLs: devURLs(t, folder), Rows: 20})
		if !d.Passed() {
			dump(t, d)
			t.Fatal("a clean add-column migration failed verify")
		}
		from := newestVersion(t, folder)
		if d.From != from || len(d.Files) != 1 || d.Files[0] != "20261207000000_add_nickname.sql" {
			t.Errorf("from %q files %v", d.From, d.Files)
		}
		if s := step(t, d, "fill the tables"); !strings.Contains(s.Detail, "users 20") || !strings.Contains(s.Detail, "post_tags 20") {
			t.Errorf("fill: %s", s.Detail)
		}
		if s := step(t, d, "apply 20261207000000_add_nickname.sql"); !strings.Contains(s.Detail, "users.nickname") {
			t.Errorf("apply: %s", s.Detail)
		}
		for _, name := range []string{"no row lost after the upgrade", "untouched values unchanged after the upgrade", "foreign keys hold after the upgrade", "downgrade to " + from, "no row lost after the downgrade", "upgrade again", "no row lost after upgrading again"} {
			if s := step(t, d, name); s.Status != verify.Pass {
				t.Errorf("%s: %s %s", name, s.Status, s.Detail)
			}
		}
		if s := step(t, d, "final schema equals the models"); s.Status != verify.Skip {
			t.Errorf("models step without models: %s", s.Status)
		}
	})
}

// TestProjectHistoryMatchesModels: verify on the history exactly as
// committed, with the models: the final schema must equal them; and a
// history that adds a column the models lack fails that step.
func TestProjectHistoryMatchesModels(t *testing.T) {
	t.Parallel()
	d := run(t, verify.Options{Root: projectDir, Dialects: []string{"sqlite"}, Tables: entmigrate.Tables, Rows: 10})
	if s := step(t, d, "final schema equals the models"); s.Status != verify.Pass {
		t.Errorf("project history vs models: %s %s", s.Status, s.Detail)
	}
	if !d.Passed() {
		dump(t, d)
		t.Error("the project's own history fails verify")
	}
	d = run(t, verify.Options{Root: history(t, "sqlite", "20261207000000_add_nickname.sql", addColumn("sqlite")), Dialects: []string{"sqlite"}, Tables: entmigrate.Tables, Rows: 10})
	if s := step(t, d, "final schema equals the models"); s.Status != verify.Fail || !strings.Contains(s.Detail, "nickname") {
		t.Errorf("models step = %s %s, want a failure naming nickname", s.Status, s.Detail)
	}
}

// TestCatchesRewrittenValues: a migration that rewrites values of a column
// it has no business touching passes every schema check, and verify
// catches it.
func TestCatchesRewrittenValues(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		folder := be.Name
		d := run(t, verify.Options{Root: history(t, folder, "20261207000000_add_nickname.sql", addColumn(folder)+"UPDATE users SET name = 'x';\n"),
			Dialects: []string{folder}, DevURLs: devURLs(t, folder), Rows: 20, NoReverse: true})
		s := step(t, d, "untouched values unchanged after the upgrade")
		if s.Status != verify.Fail || d.Passed() {
			dump(t, d)
			t.Fatal("verify let a value rewrite through")
		}
		var got []string
		for _, f := range s.Findings {
			got = append(got, fmt.Sprintf("%s %s.%s: %d", f.Kind, f.Table, f.Column, f.Count))
		}
		if diff := cmp.Diff([]string{fmt.Sprintf("%s users.name: 20", fingerprint.ValueChanged)}, got); diff != "" {
			t.Errorf("findings (-want +got):\n%s", diff)
		}
		if !strings.Contains(s.Detail, "20 of 20 values of users.name changed") {
			t.Errorf("detail: %s", s.Detail)
		}
	})
}

// TestDeclaredTouchPasses: the same rewrite, declared in the file, passes.
func TestDeclaredTouchPasses(t *testing.T) {
	t.Parallel()
	d := run(t, verify.Options{Root: history(t, "sqlite", "20261207000000_names.sql", "-- weber:touches users.name\nUPDATE users SET name = 'x';\n"),
		Dialects: []string{"sqlite"}, Rows: 10, NoReverse: true})
	if !d.Passed() {
		dump(t, d)
		t.Error("a declared rewrite failed verify")
	}
}

// TestCatchesDeletedRows: a DELETE in a migration loses rows.
func TestCatchesDeletedRows(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		folder := be.Name
		d := run(t, verify.Options{Root: history(t, folder, "20261207000000_cleanup.sql", "DELETE FROM post_tags WHERE post_id <= 5;\nDELETE FROM posts WHERE id <= 5;\n"),
			Dialects: []string{folder}, DevURLs: devURLs(t, folder), Rows: 20, NoReverse: true})
		s := step(t, d, "no row lost after the upgrade")
		if s.Status != verify.Fail {
			dump(t, d)
			t.Fatal("verify let a DELETE through")
		}
		var posts *fingerprint.Finding
		for i, f := range s.Findings {
			if f.Table == "posts" && f.Kind == fingerprint.RowsLost {
				posts = &s.Findings[i]
			}
		}
		if posts == nil {
			t.Fatalf("findings %+v: none for the rows posts lost", s.Findings)
		}
		type lost struct{ Count, Before, After int64 }
		if diff := cmp.Diff(lost{5, 20, 15}, lost{posts.Count, posts.Before, posts.After}); diff != "" {
			t.Errorf("the rows posts lost (-want +got):\n%s", diff)
		}
		if !strings.Contains(s.Detail, "table posts lost 5 of its 20 rows") {
			t.Errorf("detail: %s", s.Detail)
		}
	})
}

// TestDroppedColumn: dropping a column that holds data fails, unless the
// file marks it intended or data loss is allowed.
func TestDroppedColumn(t *testing.T) {
	t.Parallel()
	drop := "ALTER TABLE `users` DROP COLUMN `bio`;\n"
	d := run(t, verify.Options{Root: history(t, "sqlite", "20261207000000_drop_bio.sql", drop), Dialects: []string{"sqlite"}, Rows: 20, NoReverse: true})
	s := step(t, d, "untouched values unchanged after the upgrade")
	if s.Status != verify.Fail || !strings.Contains(s.Detail, "column users.bio was dropped with values in") {
		dump(t, d)
		t.Errorf("dropped column: %s %s", s.Status, s.Detail)
	}
	d = run(t, verify.Options{Root: history(t, "sqlite", "20261207000000_drop_bio.sql", "-- atlas:nolint destructive\n"+drop), Dialects: []string{"sqlite"}, Rows: 20, NoReverse: true})
	if !d.Passed() {
		dump(t, d)
		t.Error("a drop marked intended failed verify")
	}
	d = run(t, verify.Options{Root: history(t, "sqlite", "20261207000000_drop_bio.sql", drop), Dialects: []string{"sqlite"}, Rows: 20, NoReverse: true, AllowDataLoss: true})
	if !d.Passed() {
		dump(t, d)
		t.Error("a drop with AllowDataLoss failed verify")
	}
}

// TestFailingFile: a file that does not apply fails its step, naming it.
func TestFailingFile(t *testing.T) {
	t.Parallel()
	d := run(t, verify.Options{Root: history(t, "sqlite", "20261207000000_bad.sql", "ALTER TABLE nope ADD COLUMN x integer;\n"), Dialects: []string{"sqlite"}, Rows: 5})
	s := step(t, d, "apply 20261207000000_bad.sql")
	if s.Status != verify.Fail || !strings.Contains(s.Detail, "nope") || d.Passed() {
		t.Errorf("failing file: %s %s", s.Status, s.Detail)
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := verify.Run(ctx, verify.Options{Root: filepath.Join(t.TempDir(), "nope")}); err == nil || !strings.Contains(err.Error(), "--dir") {
		t.Errorf("missing dir: %v", err)
	}
	root := history(t, "sqlite")
	if _, err := verify.Run(ctx, verify.Options{Root: root, From: "123"}); err == nil || !strings.Contains(err.Error(), "20261127011300") {
		t.Errorf("unknown --from: %v", err)
	}
	// A server dialect without a dev URL is skipped, saying what to set.
	if err := os.MkdirAll(filepath.Join(root, "postgres"), 0o755); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Run(ctx, verify.Options{Root: history(t, "postgres"), Dialects: []string{"postgres"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := rep.Dialects[0]; !d.Skipped || !strings.Contains(d.Steps[0].Detail, "WEBER_DEV_POSTGRES_URL") {
		t.Errorf("no dev URL: %+v", d)
	}
}

// TestSeedFile: the project's own seed data replaces generation.
func TestSeedFile(t *testing.T) {
	t.Parallel()
	seed := filepath.Join(t.TempDir(), "seed.sql")
	if err := os.WriteFile(seed, []byte("INSERT INTO users (created_at, updated_at, name, email) VALUES ('2024-01-01 00:00:00', '2024-01-01 00:00:00', 'Ada', 'ada@example.com');\n"+
		"INSERT INTO users (created_at, updated_at, name, email, bio) VALUES ('2024-01-02 00:00:00', '2024-01-02 00:00:00', 'Grace', 'grace@example.com', 'COBOL');\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := run(t, verify.Options{Root: history(t, "sqlite", "20261207000000_drop_bio.sql", "ALTER TABLE `users` DROP COLUMN `bio`;\n"), SeedFile: seed, NoReverse: true})
	if s := step(t, d, "fill the tables"); !strings.Contains(s.Detail, "2 statements of seed data") {
		t.Errorf("fill: %s", s.Detail)
	}
	s := step(t, d, "untouched values unchanged after the upgrade")
	if s.Status != verify.Fail || !strings.Contains(s.Detail, "column users.bio was dropped with values in 1 of 2 rows") {
		t.Errorf("drop over seed data: %s %s", s.Status, s.Detail)
	}
}

// TestDataLossIntent: a loss the file declares with weber:data-loss (rows
// deleted, a column dropped) passes every comparison, the down-and-up
// round's included; --allow-data-loss passes a dropped table through that
// round too (issue 9 item 9); an undeclared DELETE still fails, naming the
// directive that would declare it.
func TestDataLossIntent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, sql string
		allow     bool
		pass      bool
	}{
		{"drop table allowed", "DROP TABLE post_tags;\n", true, true},
		{"delete declared", "-- weber:data-loss post_tags\nDELETE FROM post_tags WHERE post_id <= 5;\n", false, true},
		{"drop column declared", "-- weber:data-loss users.bio\nALTER TABLE users DROP COLUMN bio;\n", false, true},
		{"drop table declared", "-- weber:data-loss post_tags\nDROP TABLE post_tags;\n", false, true},
		{"delete undeclared", "DELETE FROM post_tags WHERE post_id <= 5;\n", false, false},
	}
	for _, folder := range liveschematest.Dialects {
		for _, c := range cases {
			t.Run(folder+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				d := run(t, verify.Options{Root: history(t, folder, "20261207000000_loss.sql", c.sql), Dialects: []string{folder}, DevURLs: devURLs(t, folder),
					Rows: 20, AllowDataLoss: c.allow})
				if d.Passed() != c.pass {
					dump(t, d)
					t.Fatalf("passed = %v, want %v", d.Passed(), c.pass)
				}
				if !c.pass {
					if s := step(t, d, "no row lost after the upgrade"); !strings.Contains(s.Detail, "say so with `-- weber:data-loss post_tags` in that file, or pass --allow-data-loss") {
						t.Errorf("the failure does not name the directive: %s", s.Detail)
					}
					return
				}
				if strings.HasPrefix(c.name, "drop table") {
					// The round ran: the table came back empty from the
					// downgrade and that loss was accepted, not skipped.
					if s := step(t, d, "no row lost after the downgrade"); s.Status != verify.Pass || !strings.Contains(s.Detail, "post_tags lost 20") {
						dump(t, d)
						t.Errorf("down-and-up round: %s %s", s.Status, s.Detail)
					}
				}
			})
		}
	}
}

// rewriting is a one-batch Go data migration running update on users.
func rewriting(update string) map[string]upgrade.DataMigration {
	ms := data.Migrations()
	ms["rewrite"] = upgrade.DataMigration{Batch: func(ctx context.Context, b upgrade.DataBatch) (upgrade.DataBatchDone, error) {
		var res sql.Result
		return upgrade.DataBatchDone{Done: true}, b.Driver.Exec(ctx, update, []any{}, &res)
	}}
	return ms
}

// Issue 11 item 2: verify rehearses Go data migrations, and proves that
// they change only the columns their `-- weber:touches` declares.
func TestGoDataMigrationRehearsed(t *testing.T) {
	t.Parallel()
	file := "-- weber:go rewrite\n-- weber:touches users.bio\n\n"
	d := run(t, verify.Options{Root: history(t, "sqlite", "20261207000000_rewrite.sql", file),
		Dialects: []string{"sqlite"}, Rows: 10, NoReverse: true, DataMigrations: rewriting("UPDATE users SET bio = 'x'")})
	if !d.Passed() {
		dump(t, d)
		t.Fatal("a Go data migration changing only its declared column failed verify")
	}
	d = run(t, verify.Options{Root: history(t, "sqlite", "20261207000000_rewrite.sql", file),
		Dialects: []string{"sqlite"}, Rows: 10, NoReverse: true, DataMigrations: rewriting("UPDATE users SET bio = 'x', role = 'admin'")})
	s := step(t, d, "untouched values unchanged after the upgrade")
	if s.Status != verify.Fail || !strings.Contains(s.Detail, "users.role changed although no migration file touches the column") {
		dump(t, d)
		t.Errorf("verify let a Go data migration change an undeclared column: %s", s.Detail)
	}
}
