package plan

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"github.com/google/go-cmp/cmp"
	entmigrate "github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/internal/migdir"
)

// checkRoot copies the project's history of each dialect into a temp root.
func checkRoot(t *testing.T, dialects []string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range dialects {
		if err := os.CopyFS(filepath.Join(root, d), os.DirFS(filepath.Join(projectRoot, d))); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func runCheck(t *testing.T, opts CheckOptions) *CheckReport {
	t.Helper()
	rep, err := Check(context.Background(), opts)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if len(rep.Dialects) != len(opts.Dialects) {
		t.Fatalf("Check reported %d dialects, want %d", len(rep.Dialects), len(opts.Dialects))
	}
	if rep.OK != (len(rep.Problems()) == 0) {
		t.Errorf("OK=%v with problems %q", rep.OK, rep.Problems())
	}
	return rep
}

// The CI gate passes on the project's own repository.
func TestCheckProjectPasses(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	rep := runCheck(t, CheckOptions{Root: projectRoot, Dialects: dialects, DevURLs: urls, Tables: entmigrate.Tables})
	if !rep.OK {
		t.Fatalf("problems on the project's own history: %q", rep.Problems())
	}
	for _, d := range rep.Dialects {
		type checked struct {
			HasFiles, AllLinted, ModelsAhead bool
			NotChecked, Integrity            string
		}
		if diff := cmp.Diff(checked{HasFiles: true, AllLinted: true}, checked{d.Files > 0, len(d.Lint) == d.Files, d.ModelsAhead, d.NotChecked, d.Integrity}); diff != "" {
			t.Errorf("%s: want every file linted, models in sync (-want +got):\n%s", d.Dialect, diff)
		}
	}
}

func TestCheckModelsAhead(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	tables, err := entschema.CopyTables(entmigrate.Tables)
	if err != nil {
		t.Fatal(err)
	}
	tags := table(t, tables, "tags")
	tags.Columns = append(tags.Columns, &entschema.Column{Name: "slug", Type: field.TypeString, Nullable: true, Size: 100})
	rep := runCheck(t, CheckOptions{Root: checkRoot(t, dialects), Dialects: dialects, DevURLs: urls, Tables: tables})
	if rep.OK {
		t.Fatal("Check passed with models ahead of the history")
	}
	for _, d := range rep.Dialects {
		if !d.ModelsAhead || len(d.ModelChanges) != 1 || d.ModelChanges[0] != "ADD COLUMN tags.slug" {
			t.Errorf("%s: ahead=%v changes %q, want the one slug column", d.Dialect, d.ModelsAhead, d.ModelChanges)
		}
		if diff := cmp.Diff([][]string{nil}, problemsLacking(d.Problems, d.Dialect+": the models are ahead", "slug", "weberctl db revision")); diff != "" ||
			!strings.HasPrefix(d.Problems[0], d.Dialect+":") {
			t.Errorf("%s: problems %q: want one naming the models ahead, slug and db revision (-want +got, what each lacks):\n%s", d.Dialect, d.Problems, diff)
		}
	}
}

func TestCheckBrokenSum(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	root := checkRoot(t, dialects)
	for _, d := range dialects {
		f := filepath.Join(root, d, "20261127011300_initial.sql")
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, append(b, "-- edited\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep := runCheck(t, CheckOptions{Root: root, Dialects: dialects, DevURLs: urls, Tables: entmigrate.Tables})
	for _, d := range rep.Dialects {
		if diff := cmp.Diff([][]string{nil}, problemsLacking(d.Problems, "20261127011300_initial.sql", "atlas.sum")); diff != "" || d.Integrity == "" {
			t.Errorf("%s: integrity %q, problems %q, want the edited file named (-want +got, what each lacks):\n%s", d.Dialect, d.Integrity, d.Problems, diff)
		}
	}
}

func TestCheckLintError(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	root := t.TempDir()
	for _, d := range dialects {
		dir := historyWith(t, d, map[string]string{
			"20261211000000_drop.sql": "-- atlas:nolint destructive\nALTER TABLE users DROP COLUMN role;\nALTER TABLE users DROP COLUMN bio;\n",
			"20261211000001_back.sql": "ALTER TABLE users ADD COLUMN bio text NULL;\nALTER TABLE users ADD COLUMN role varchar(255) NOT NULL DEFAULT 'member';\n",
		})
		if err := os.Rename(dir, filepath.Join(root, d)); err != nil {
			t.Fatal(err)
		}
	}
	rep := runCheck(t, CheckOptions{Root: root, Dialects: dialects, DevURLs: urls, Tables: entmigrate.Tables})
	for _, d := range rep.Dialects {
		if want := projectFiles(t, d.Dialect) + 2; d.LintErrors != 1 || len(d.Lint) != want {
			t.Errorf("%s: %d lint errors in %d files, want 1 in %d: %+v", d.Dialect, d.LintErrors, len(d.Lint), want, d.Lint)
		}
		i := slices.IndexFunc(d.Problems, func(p string) bool { return strings.Contains(p, "DS103") })
		if i < 0 {
			t.Fatalf("%s: problems %q, want the DS103", d.Dialect, d.Problems)
		}
		p := d.Problems[i]
		for _, want := range []string{d.Dialect + ": ", "20261211000000_drop.sql line 3", `"bio"`, "atlas:nolint destructive"} {
			if !strings.Contains(p, want) {
				t.Errorf("%s: problem %q does not say %q", d.Dialect, p, want)
			}
		}
		if strings.Contains(p, "\n") {
			t.Errorf("%s: problem spans lines: %q", d.Dialect, p)
		}
	}
}

// A kept dialect without a dev database fails the gate; it is never
// skipped silently.
func TestCheckMissingDevURLIsAProblem(t *testing.T) {
	t.Parallel()
	root := checkRoot(t, []string{Postgres})
	rep := runCheck(t, CheckOptions{Root: root, Dialects: []string{Postgres}, Tables: entmigrate.Tables})
	d := rep.Dialects[0]
	type notChecked struct {
		OK, NotChecked bool
		Files          int
		Problems       [][]string // what each lacks
	}
	want := notChecked{NotChecked: true, Files: projectFiles(t, Postgres), Problems: [][]string{nil}}
	if diff := cmp.Diff(want, notChecked{rep.OK, d.NotChecked != "", d.Files, problemsLacking(d.Problems, "WEBER_DEV_POSTGRES_URL")}); diff != "" {
		t.Fatalf("report %+v, want a problem naming WEBER_DEV_POSTGRES_URL (-want +got):\n%s", rep, diff)
	}
}

func TestCheckRejectsBadOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := Check(ctx, CheckOptions{Dialects: []string{SQLite}}); err == nil {
		t.Error("no tables: no error")
	}
	if _, err := Check(ctx, CheckOptions{Dialects: []string{"oracle"}, Tables: entmigrate.Tables}); err == nil {
		t.Error("unknown dialect: no error")
	}
	if _, err := Check(ctx, CheckOptions{Dialects: []string{SQLite, "sqlite3"}, Tables: entmigrate.Tables}); err == nil {
		t.Error("a dialect twice: no error")
	}
}

// A destructive revision written with AllowDestructive lints as intended
// and passes the gate; without its directives the same file fails it.
func TestCheckPassesARevisionMarkedIntended(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	root := checkRoot(t, dialects)
	tables, err := entschema.CopyTables(entmigrate.Tables)
	if err != nil {
		t.Fatal(err)
	}
	users := table(t, tables, "users")
	users.Columns = slices.DeleteFunc(users.Columns, func(c *entschema.Column) bool { return c.Name == "bio" })
	tables = slices.DeleteFunc(tables, func(tb *entschema.Table) bool { return tb.Name == "post_tags" })
	res := revise(t, root, dialects, urls, tables, "drop bio and post tags", true, nil)
	rep := runCheck(t, CheckOptions{Root: root, Dialects: dialects, DevURLs: urls, Tables: tables})
	if !rep.OK {
		t.Fatalf("problems after an intended destructive revision: %q", rep.Problems())
	}
	for _, d := range rep.Dialects {
		var intended []string
		for _, lf := range d.Lint {
			for _, f := range lf.Findings {
				if f.Intended {
					intended = append(intended, f.Code)
				}
			}
		}
		slices.Sort(intended)
		if !slices.Equal(intended, []string{"DS102", "DS103"}) {
			t.Errorf("%s: intended findings %v, want DS102 and DS103: %+v", d.Dialect, intended, d.Lint)
		}
	}
	// The same file without its directives (and rehashed) fails the gate.
	for _, d := range res.Dialects {
		body, err := os.ReadFile(d.File)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(d.File, []byte(strings.ReplaceAll(string(body), "-- atlas:nolint destructive\n", "")), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := migdir.Rehash(filepath.Dir(d.File)); err != nil {
			t.Fatal(err)
		}
	}
	rep = runCheck(t, CheckOptions{Root: root, Dialects: dialects, DevURLs: urls, Tables: tables})
	for _, d := range rep.Dialects {
		if d.LintErrors != 2 || len(d.Problems) != 2 {
			t.Errorf("%s: %d lint errors, problems %q; want DS102 and DS103", d.Dialect, d.LintErrors, d.Problems)
		}
	}
}
