package plan

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	entmigrate "github.com/weber-framework/weber/ent/migrate"
)

var (
	update        = flag.Bool("update", false, "write a revision of the project's own history (migrations/) when the models are ahead")
	updateVersion = flag.String("version", "", "with -update: the revision's version (yyyymmddHHMMSS), default now")
)

// projectRoot is the project's migration folder, seen from this package.
const projectRoot = "../../migrations"

// TestProjectHistoryInSync is the `db check` guard for Weber's own
// history: a revision over a copy of migrations/ writes nothing on every
// dialect available. With -update it writes the revision into migrations/
// instead (the initial one was made so, named "initial"):
//
//	eval "$(scripts/services.sh env)"; go test ./internal/plan -run TestProjectHistoryInSync -update
func TestProjectHistoryInSync(t *testing.T) {
	dialects, urls := dialectsUnderTest(t)
	if *update {
		name := "initial"
		if files, _ := filepath.Glob(filepath.Join(projectRoot, "*", "*.sql")); len(files) > 0 {
			name = "change"
		}
		now := time.Now
		if *updateVersion != "" {
			v, err := time.Parse(versionFormat, *updateVersion)
			if err != nil {
				t.Fatalf("-version %q: %v", *updateVersion, err)
			}
			now = func() time.Time { return v }
		}
		res, err := Revise(context.Background(), ReviseOptions{Root: projectRoot, Dialects: dialects, DevURLs: urls, Name: name, Tables: entmigrate.Tables, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range res.Dialects {
			t.Logf("%s: file %q, %d statements, left out %v", d.Dialect, d.File, len(d.Statements), d.LeftOut)
		}
		return
	}
	t.Parallel()
	root := t.TempDir()
	for _, d := range dialects {
		src := filepath.Join(projectRoot, d)
		if _, err := os.Stat(src); err != nil {
			t.Fatalf("the project keeps no %s history (%v): run this test with -update", d, err)
		}
		if err := os.CopyFS(filepath.Join(root, d), os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
		validate(t, filepath.Join(root, d))
	}
	res, err := Revise(context.Background(), ReviseOptions{Root: root, Dialects: dialects, DevURLs: urls, Tables: entmigrate.Tables})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Dialects {
		if len(d.Statements) > 0 || len(d.LeftOut) > 0 {
			t.Errorf("%s: the models are ahead of migrations/%s: %q, left out %v; run `weberctl db revision`",
				d.Dialect, d.Dialect, allSQL(d), d.LeftOut)
		}
	}
	if res.Written {
		t.Fatalf("a revision over the project's history wrote %s", res.Version)
	}
}
