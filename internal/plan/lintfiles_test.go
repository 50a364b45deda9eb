package plan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// historyWith copies the project's history for the dialect into a temp
// folder, adds the files (name -> content) and rehashes atlas.sum.
func historyWith(t *testing.T, dialect string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), dialect)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(projectRoot, dialect))); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := migdir.Rehash(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// projectFiles counts the .sql files of the project's history for the
// dialect, so tests need no update when the project gains a revision.
func projectFiles(t *testing.T, dialect string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(projectRoot, dialect, "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no history in %s: %v", filepath.Join(projectRoot, dialect), err)
	}
	return len(files)
}

// lintOne lints the newest file of a history made by historyWith.
func lintOne(t *testing.T, dialect, devURL, content string) *LintReport {
	t.Helper()
	dir := historyWith(t, dialect, map[string]string{"20261211000000_change.sql": content})
	rep, err := LintFiles(context.Background(), LintOptions{Dir: dir, DevURL: devURL, Versions: []string{"20261211000000"}})
	if err != nil {
		t.Fatalf("LintFiles(%s): %v", dialect, err)
	}
	if len(rep.Files) != 1 || rep.Files[0].Name != "20261211000000_change.sql" {
		t.Fatalf("%s: linted %+v, want only 20261211000000_change.sql", dialect, rep.Files)
	}
	if want := projectFiles(t, dialect) + 1; rep.Replayed != want {
		t.Errorf("%s: replayed %d files, want %d", dialect, rep.Replayed, want)
	}
	return rep
}

// findingAt returns the finding with the code on the line, or fails.
func findingAt(t *testing.T, rep *LintReport, code string, line int) Finding {
	t.Helper()
	all := rep.Findings()
	i := slices.IndexFunc(all, func(f Finding) bool { return f.Code == code && f.Line == line })
	if i < 0 {
		t.Fatalf("%s: no %s finding on line %d in %+v", rep.Dialect, code, line, all)
	}
	return all[i]
}

func TestLintFilesDropColumnIsAnError(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d, urls := b.Name, map[string]string{b.Name: b.DevURL()}
		rep := lintOne(t, d, urls[d], "-- a hand-written change\nALTER TABLE users DROP COLUMN bio;\n")
		f := findingAt(t, rep, "DS103", 2)
		want := lintFinding{File: "20261211000000_change.sql", Line: 2, Analyzer: "destructive", Severity: SeverityError, Error: true,
			Explained: true, Alternative: true}
		if diff := cmp.Diff(want, lintFindingOf(f, []string{"DROP COLUMN bio"}, []string{`"bio"`})); diff != "" {
			t.Errorf("finding %+v: want a destructive error with its file, statement, message, explanation and alternative (-want +got):\n%s", f, diff)
		}
		if errs := rep.Errors(); len(errs) != 1 {
			t.Errorf("Errors() = %+v, want the one DS103", errs)
		}
		if s := f.String(); !strings.HasPrefix(s, "20261211000000_change.sql line 2: DS103 ") {
			t.Errorf("String() = %q", s)
		}
	})
}

func TestLintFilesNolintMarksOneStatementIntended(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d, urls := b.Name, map[string]string{b.Name: b.DevURL()}
		rep := lintOne(t, d, urls[d], strings.Join([]string{
			"ALTER TABLE posts DROP COLUMN published_at;",
			"-- atlas:nolint destructive",
			"ALTER TABLE users DROP COLUMN bio;",
			"ALTER TABLE posts DROP COLUMN body;",
			"-- atlas:nolint data_depend",
			"ALTER TABLE users DROP COLUMN role;",
			"-- atlas:nolint DS103",
			"ALTER TABLE posts DROP COLUMN status;",
		}, "\n")+"\n")
		for _, tc := range []struct {
			line     int
			intended bool
		}{
			{1, false}, // before the directive
			{3, true},  // right below it
			{4, false}, // the next statement is not covered
			{6, false}, // a directive for another analyzer
			{8, true},  // a directive naming the code
		} {
			f := findingAt(t, rep, "DS103", tc.line)
			if f.Intended != tc.intended || f.IsError() == tc.intended {
				t.Errorf("line %d: intended=%v error=%v, want intended=%v", tc.line, f.Intended, f.IsError(), tc.intended)
			}
		}
		if n := len(rep.Errors()); n != 3 {
			t.Errorf("%d errors, want 3: %+v", n, rep.Errors())
		}
	})
}

func TestLintFilesFileLevelNolint(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d, urls := b.Name, map[string]string{b.Name: b.DevURL()}
		rep := lintOne(t, d, urls[d], "-- atlas:nolint destructive\n\nALTER TABLE users DROP COLUMN bio;\nALTER TABLE posts DROP COLUMN body;\n")
		for _, line := range []int{3, 4} {
			if f := findingAt(t, rep, "DS103", line); !f.Intended || f.Severity != SeverityIntended {
				t.Errorf("line %d: %+v, want intended by the file's header", line, f)
			}
		}
		if errs := rep.Errors(); len(errs) != 0 {
			t.Errorf("Errors() = %+v, want none", errs)
		}
	})
}

// notNullSQLiteRebuild is Atlas's rebuild of tags with a new NOT NULL
// column.
const notNullSQLiteRebuild = "PRAGMA foreign_keys = off;\n" +
	"CREATE TABLE `new_tags` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `name` text NOT NULL, `description` text NULL, `slug` text NOT NULL);\n" +
	"INSERT INTO `new_tags` (`id`, `name`, `description`) SELECT `id`, `name`, `description` FROM `tags`;\n" +
	"DROP TABLE `tags`;\n" +
	"ALTER TABLE `new_tags` RENAME TO `tags`;\n" +
	"CREATE UNIQUE INDEX `tags_name_key` ON `tags` (`name`);\n" +
	"PRAGMA foreign_keys = on;\n"

// notNullFile adds a NOT NULL column without a default to a table that
// existed before the file: SQLite cannot ALTER it in, so its file rebuilds
// the table the way Atlas plans it (that rebuild's DROP TABLE is no
// destructive finding).
func notNullFile(dialect string) (content string, line int) {
	switch dialect {
	case SQLite:
		return notNullSQLiteRebuild, 2
	case MySQL:
		return "ALTER TABLE `tags` ADD COLUMN `slug` varchar(50) NOT NULL;\n", 1
	}
	return `ALTER TABLE "tags" ADD COLUMN "slug" character varying(50) NOT NULL;` + "\n", 1
}

func TestLintFilesNotNullWithoutDefaultIsAWarning(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d, urls := b.Name, map[string]string{b.Name: b.DevURL()}
		content, line := notNullFile(d)
		rep := lintOne(t, d, urls[d], content)
		all := rep.Findings()
		i := slices.IndexFunc(all, func(f Finding) bool { return f.Code == "MF103" || f.Code == "MY101" })
		if i < 0 {
			t.Fatalf("findings %+v, want MF103 (or MySQL's MY101)", all)
		}
		f := all[i]
		want := lintFinding{File: f.File, Line: line, Analyzer: "data_depend", Severity: SeverityWarning, Explained: true, Alternative: f.Alternative != ""}
		if diff := cmp.Diff(want, lintFindingOf(f, nil, []string{"slug"})); diff != "" {
			t.Errorf("finding %+v, want a data_depend warning about slug (-want +got):\n%s", f, diff)
		}
		if errs := rep.Errors(); len(errs) != 0 {
			t.Errorf("Errors() = %+v, want none (the rebuild's DROP TABLE is not a drop)", errs)
		}
	})
}

func TestLintFilesRenameIsIncompatibleNotDestructive(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d, urls := b.Name, map[string]string{b.Name: b.DevURL()}
		rep := lintOne(t, d, urls[d], "ALTER TABLE users RENAME COLUMN bio TO about;\nALTER TABLE tags RENAME TO labels;\n")
		findingAt(t, rep, "BC102", 1)
		findingAt(t, rep, "BC101", 2)
		if errs := rep.Errors(); len(errs) != 0 {
			t.Errorf("Errors() = %+v: a rename keeps the data", errs)
		}
	})
}

// The project's own history lints clean on every dialect available.
func TestLintFilesProjectHistoryIsClean(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d, urls := b.Name, map[string]string{b.Name: b.DevURL()}
		dir := filepath.Join(projectRoot, d)
		rep, err := LintFiles(context.Background(), LintOptions{Dir: dir, DevURL: urls[d]})
		if err != nil {
			t.Fatal(err)
		}
		sqls, _ := filepath.Glob(filepath.Join(dir, "*.sql"))
		if len(sqls) == 0 || len(rep.Files) != len(sqls) || rep.Replayed != len(sqls) {
			t.Fatalf("linted %d files, replayed %d, want all %d", len(rep.Files), rep.Replayed, len(sqls))
		}
		for _, f := range rep.Files {
			if f.Statements == 0 && !strings.Contains(f.Name, "_split_user_names") { // a Go data migration has none
				t.Errorf("%s: no statements seen", f.Name)
			}
		}
		if all := rep.Findings(); len(all) != 0 {
			t.Errorf("findings in migrations/%s: %+v", d, all)
		}
	})
}

func TestLintFilesSelection(t *testing.T) {
	t.Parallel()
	dir := historyWith(t, SQLite, map[string]string{
		"20261211000000_a.sql": "ALTER TABLE users DROP COLUMN bio;\n",
		"20261212000000_b.sql": "ALTER TABLE posts DROP COLUMN body;\n",
	})
	ctx := context.Background()
	names := func(rep *LintReport) (out []string) {
		for _, f := range rep.Files {
			out = append(out, f.Name)
		}
		return out
	}
	n := projectFiles(t, SQLite)
	rep, err := LintFiles(ctx, LintOptions{Dir: dir})
	if err != nil || len(rep.Files) != n+2 || len(rep.Errors()) != 2 {
		t.Fatalf("all: %v, %v, err %v", names(rep), rep.Errors(), err)
	}
	rep, err = LintFiles(ctx, LintOptions{Dir: dir, Latest: 1})
	if err != nil || !slices.Equal(names(rep), []string{"20261212000000_b.sql"}) || rep.Replayed != n+2 {
		t.Fatalf("latest 1: %v (replayed %d), err %v", names(rep), rep.Replayed, err)
	}
	rep, err = LintFiles(ctx, LintOptions{Dir: dir, Versions: []string{"20261211000000_a.sql"}})
	if err != nil || !slices.Equal(names(rep), []string{"20261211000000_a.sql"}) || rep.Replayed != n+1 {
		t.Fatalf("by file name: %v (replayed %d), err %v", names(rep), rep.Replayed, err)
	}
	if _, err := LintFiles(ctx, LintOptions{Dir: dir, Versions: []string{"20261211000001"}}); err == nil || !strings.Contains(err.Error(), "did you mean 20261211000000") {
		t.Errorf("unknown version: %v, want the nearest suggested", err)
	}
	if _, err := LintFiles(ctx, LintOptions{Dir: dir, Versions: []string{"20261211000000"}, Latest: 1}); err == nil {
		t.Error("versions and latest together: no error")
	}
}

func TestLintFilesRefusesABrokenFolder(t *testing.T) {
	t.Parallel()
	dir := historyWith(t, SQLite, map[string]string{"20261211000000_a.sql": "ALTER TABLE users DROP COLUMN bio;\n"})
	if err := os.WriteFile(filepath.Join(dir, "20261211000000_a.sql"), []byte("ALTER TABLE users DROP COLUMN role;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LintFiles(context.Background(), LintOptions{Dir: dir})
	if !errors.Is(err, migdir.ErrSumMismatch) || !strings.Contains(err.Error(), "20261211000000_a.sql") {
		t.Fatalf("LintFiles on an edited file: %v, want an atlas.sum error naming it", err)
	}
}

func TestLintFilesReportsAFileThatDoesNotApply(t *testing.T) {
	t.Parallel()
	dir := historyWith(t, SQLite, map[string]string{"20261211000000_a.sql": "-- x\nALTER TABLE users ADD COLUMN nick text;\nALTER TABLE nowhere DROP COLUMN bio;\n"})
	_, err := LintFiles(context.Background(), LintOptions{Dir: dir})
	var re *ReplayError
	if !errors.As(err, &re) {
		t.Fatalf("LintFiles: %v, want a ReplayError", err)
	}
	type at struct {
		File            string
		Statement, Line int
	}
	if diff := cmp.Diff(at{"20261211000000_a.sql", 2, 3}, at{re.File, re.Statement, re.Line}); diff != "" {
		t.Fatalf("LintFiles: %v (-want +got):\n%s", err, diff)
	}
}

// Scoped inspection (only the tables a statement names) sees the same
// changes, statement by statement, as inspecting the whole schema after
// every statement, including the statements that must fall back to a
// full inspection.
func TestLintFilesScopedInspectionMatchesFull(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d, urls := b.Name, map[string]string{b.Name: b.DevURL()}
		users, dropIndex := "Users", "DROP INDEX audit_note;"
		if d == MySQL {
			users, dropIndex = "users", "DROP INDEX audit_note ON audit;"
		}
		content := strings.Join([]string{
			"CREATE TABLE audit (id integer NOT NULL PRIMARY KEY, note varchar(100) NULL, user_id integer NULL);",
			"CREATE INDEX audit_note ON audit (note);",
			"INSERT INTO audit (id, note) VALUES (1, 'x');",
			"ALTER TABLE " + users + " DROP COLUMN bio;",
			"ALTER TABLE audit ADD COLUMN kind varchar(20) NOT NULL DEFAULT 'x';",
			dropIndex,
			"CREATE UNIQUE INDEX audit_kind ON audit (kind);",
			"ALTER TABLE users RENAME COLUMN role TO kind;",
			"ALTER TABLE audit RENAME TO audits;",
			"ALTER TABLE audits ADD COLUMN n integer NOT NULL DEFAULT 0;",
			"DROP TABLE audits;",
		}, "\n") + "\n"
		if d == SQLite {
			content += notNullSQLiteRebuild
		}
		// post_tags' foreign key follows the renamed column.
		content += "ALTER TABLE tags RENAME COLUMN id TO tag_id;\nALTER TABLE post_tags ADD COLUMN weight integer NULL;\n"
		dir := historyWith(t, d, map[string]string{"20261211000000_mixed.sql": content})
		md, err := migdir.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		files := historyFiles(md)
		run := func(full, noBatch bool) ([]string, []Finding) {
			db, cleanup, err := OpenScratch(context.Background(), d, urls[d])
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			var seen []string
			l := &fileLinter{folder: d, selected: map[string]bool{"20261211000000_mixed.sql": true}, full: full, noBatch: noBatch,
				log: discardLogger(),
				trace: func(file string, i int, changes []schema.Change) {
					seen = append(seen, fmt.Sprintf("%d: %s", i+1, strings.Join(describeChanges(changes), ", ")))
				}}
			out, err := l.run(context.Background(), db, files, "")
			if err != nil {
				t.Fatal(err)
			}
			return seen, out[0].Findings
		}
		scoped, sf := run(false, true)
		full, ff := run(true, true)
		batched, bf := run(false, false)
		if !slices.Equal(bf, ff) {
			t.Errorf("findings differ:\nbatched %+v\nfull    %+v", bf, ff)
		}
		// The batch of statements 1 and 2 is inspected once, before
		// statement 4: both changes are credited to statement 1.
		if !slices.Contains(batched, "1: ADD TABLE audit") || !slices.Contains(batched, "2: ") {
			t.Errorf("batched inspection saw\n%s\nwant the table and its index on statement 1", strings.Join(batched, "\n"))
		}
		if !slices.Equal(scoped, full) {
			t.Errorf("scoped inspection saw\n%s\nfull inspection saw\n%s", strings.Join(scoped, "\n"), strings.Join(full, "\n"))
		}
		if !slices.Equal(sf, ff) {
			t.Errorf("findings differ:\nscoped %+v\nfull   %+v", sf, ff)
		}
		for _, want := range []string{"4: DROP COLUMN users.bio", "8: RENAME COLUMN users.role TO kind", "9: RENAME TABLE audit TO audits", "11: DROP TABLE audits"} {
			if !slices.ContainsFunc(scoped, func(s string) bool { return strings.HasPrefix(s, want) }) {
				t.Errorf("no %q in\n%s", want, strings.Join(scoped, "\n"))
			}
		}
		findingAt(t, &LintReport{Files: []LintedFile{{Findings: sf}}}, "DS103", 4)
	})
}

func historyFiles(md *migdir.Dir) []migrate.File {
	out := make([]migrate.File, len(md.Files))
	for i, f := range md.Files {
		out[i] = migrate.NewLocalFile(f.Name, f.Bytes)
	}
	return out
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// db lint reports Weber's live-traffic rules (WL codes) with the risk and
// the safe way, for hand-written files too, and the nolint directive
// silences them per statement.
func TestLintFilesReportsLiveTrafficRules(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	for _, d := range dialects {
		if d == SQLite {
			continue
		}
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			stmt, code := "CREATE INDEX users_bio ON users (bio);", "WL101"
			if d == MySQL {
				stmt, code = "ALTER TABLE users ADD COLUMN nick varchar(20) NULL, ALGORITHM=COPY;", "WL202"
			}
			again := strings.NewReplacer("users_bio", "users_bio2", "nick", "nick2").Replace(stmt)
			rep := lintOne(t, d, urls[d], "-- hand-written\n"+stmt+"\n-- atlas:nolint "+code+"\n"+again+"\n")
			f := findingAt(t, rep, code, 2)
			want := lintFinding{File: f.File, Line: f.Line, Analyzer: "live", Severity: f.Severity, Explained: true, Alternative: true}
			if diff := cmp.Diff(want, lintFindingOf(f, nil, nil)); diff != "" {
				t.Errorf("finding %+v, want a live-traffic warning with its explanation and alternative (-want +got):\n%s", f, diff)
			}
			if g := findingAt(t, rep, code, 4); !g.Intended {
				t.Errorf("the statement marked `atlas:nolint %s` is not intended: %+v", code, g)
			}
		})
	}
}
