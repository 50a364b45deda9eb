package weberctl

// A history of 50 files is squashed through file 40, through the binary on
// every backend: databases at file 40 and at file 45 upgrade to the end
// without re-running anything, a fresh database upgrades through the
// squashed file, and all three end with the schema the old history built.
// One that stopped at file 30 is refused with the way out, and the squash
// is refused past what a production database has applied.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/histgen"
)

// histVersion is the version histgen gives file i.
func histVersion(i int) string { return fmt.Sprintf("%014d", 20260101000000+int64(i)) }

func TestE2ESquashFifty(t *testing.T) {
	skipShort(t)
	for _, b := range configuredE2EBackends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir := filepath.Join(root, "migrations")
			folder := filepath.Join(dir, b.name)
			if err := os.MkdirAll(folder, 0o755); err != nil {
				t.Fatal(err)
			}
			u0, err := dbconn.Parse(b.newURL(t, t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			if err := histgen.Write(folder, u0.Dialect, 50); err != nil {
				t.Fatal(err)
			}
			env := append(devEnv(), "WEBER_DIALECTS="+b.name)
			// run runs the binary on the database url in the project.
			run := func(url string, args ...string) (string, error) {
				return loopWeberctl(t.Context(), binary, root, append(env, "WEBER_DATABASE_URL="+url), append(args, "--dir", dir)...)
			}
			newDB := func(to int) string {
				url := b.newURL(t, t.TempDir())
				teamEnsure(t, url)
				args := []string{"db", "upgrade"}
				if to > 0 {
					args = append(args, "--to", histVersion(to))
				}
				if _, err := run(url, args...); err != nil {
					t.Fatal(err)
				}
				return url
			}
			schema := func(url string) string {
				s, err := run(url, "db", "schema", "--live")
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			reference := schema(newDB(0))
			if !loopContainsAll(reference, "t001", "t049", "c050") {
				t.Fatalf("the live schema of the full old history lacks its tables:\n%s", reference)
			}
			at30, at40, at45 := newDB(30), newDB(40), newDB(45)

			// A production database at file 30 forbids squashing through 40.
			if _, err := run(at30, "db", "mark", "--env", "production"); err != nil {
				t.Fatal(err)
			}
			if _, err := run(at30, "db", "squash", "--through", histVersion(40)); err == nil || !strings.Contains(err.Error(), "production database") {
				t.Fatalf("squash past what production applied: want a refusal, got %v", err)
			}
			if got := len(loopGlob(folder, "*.sql")); got != 50 {
				t.Fatalf("a refused squash left %d files, want 50", got)
			}
			if _, err := run(at40, "db", "mark", "--env", "production"); err != nil {
				t.Fatal(err)
			}
			out, err := run(at40, "db", "squash", "--through", histVersion(40), "--json")
			if err != nil {
				t.Fatal(err)
			}
			var v squashView
			if err := json.Unmarshal([]byte(out), &v); err != nil || len(v.Dialects) != 1 || len(v.Dialects[0].Removed) != 40 ||
				v.First != histVersion(1) || v.Through != histVersion(40) {
				t.Fatalf("db squash --json did not squash files 1-40 (%v):\n%s", err, out)
			}
			files := loopGlob(folder, "*.sql")
			if len(files) != 11 || files[0] != histVersion(40)+"_squashed.sql" {
				t.Fatalf("after the squash the folder holds %v: want the squashed file and files 41-50", files)
			}
			head, _ := os.ReadFile(filepath.Join(folder, files[0]))
			if want := "-- weber:squashes " + histVersion(1) + ".." + histVersion(40) + "\n"; !strings.HasPrefix(string(head), want) {
				t.Fatalf("the squashed file does not start with %q:\n%s", want, head)
			}

			fresh := b.newURL(t, t.TempDir())
			teamEnsure(t, fresh)
			for name, url := range map[string]string{"at file 40": at40, "at file 45": at45, "fresh": fresh} {
				squashUpgrade(t, run, name, url, reference, schema)
			}
			_, err = run(at30, "db", "upgrade")
			if err == nil || !strings.Contains(err.Error(), "before the squash") {
				t.Errorf("a database at file 30 upgraded across the squash: want a refusal naming the way out, got %v", err)
			}
		})
	}
}

// squashUpgrade upgrades a database across the squash and checks that it
// ran the squashed file only when fresh, ends with the reference schema,
// and that status finds it up to date and clean.
func squashUpgrade(t *testing.T, run func(string, ...string) (string, error), name, url, reference string, schema func(string) string) {
	t.Helper()
	out, err := run(url, "db", "upgrade", "--json")
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if name != "fresh" && strings.Contains(out, "_squashed.sql") {
		t.Errorf("%s: the upgrade ran the squashed file again:\n%s", name, out)
	}
	if name == "fresh" && !strings.Contains(out, "_squashed.sql") {
		t.Errorf("%s: the upgrade did not run the squashed file:\n%s", name, out)
	}
	if got := schema(url); got != reference {
		t.Errorf("%s: the live schema after the upgrade differs from the one the old history builds:\n%s\n---\n%s", name, got, reference)
	}
	st, err := run(url, "db", "status", "--skip-models", "--json")
	if err != nil {
		t.Fatalf("%s: db status: %v", name, err)
	}
	var sv statusView
	if err := json.Unmarshal([]byte(st), &sv); err != nil || !sv.History.UpToDate || !sv.Live.Clean {
		t.Errorf("%s: status after the upgrade is not up to date and clean (%v):\n%s", name, err, st)
	}
}
