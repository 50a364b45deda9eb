package weberctl

// Golden files for the output people and scripts read: `db status`,
// `db upgrade --dry-run` and `db history`, human and --json, on SQLite.
// Run `go test ./cmd/weberctl -run TestGolden -update` to rewrite them
// after an intended change, and review the diff.

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// normalise replaces what changes from run to run: the temp dir, times,
// durations, the version, and the padding that depends on their widths.
func normalise(s, tmp string) string {
	s = strings.ReplaceAll(s, tmp, "$TMP")
	s = strings.ReplaceAll(s, weberVersion(), "$VERSION")
	for _, r := range []struct {
		re   *regexp.Regexp
		with string
	}{
		{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`), "$$TIME"},
		{regexp.MustCompile(`("\w+_ms"): [0-9.e+-]+`), "$1: 0"},
		{regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s)\b`), "$$DUR"},
		{regexp.MustCompile(`(\S)  +`), "$1  "}, // not the indentation
	} {
		s = r.re.ReplaceAllString(s, r.with)
	}
	return s
}

// assertJSONStyle checks the --json contract: snake_case keys, and no
// null but for an absent object ("partial"): an empty list is [].
func assertJSONStyle(t *testing.T, out string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	key := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if !key.MatchString(k) {
					t.Errorf("%s: key %q is not snake_case", path, k)
				}
				if x == nil && k != "partial" {
					t.Errorf("%s.%s is null: an empty list is [], an absent value is omitted", path, k)
				}
				walk(path+"."+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), x)
			}
		}
	}
	walk("$", v)
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestGolden drives one SQLite database through a pending file, a column
// added by hand, a dry run, the upgrade and its history.
func TestGolden(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "migrations")
	copyDir(t, repoMigrations, dir)
	url := "sqlite://" + filepath.Join(tmp, "app.db")
	vars := map[string]string{"WEBER_DATABASE_URL": url, "WEBER_DIALECTS": "sqlite"}
	do := func(args ...string) string {
		t.Helper()
		r := runCLI(t, vars, append(args, "--dir", dir)...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("weberctl %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		if slices.Contains(args, "--json") {
			assertJSONStyle(t, r.stdout)
		}
		return normalise(r.stdout, tmp)
	}
	do("db", "upgrade")
	writeMigration(t, vars, dir, "sqlite", "20991231000000_notes.sql",
		"CREATE TABLE notes (id integer NOT NULL PRIMARY KEY, body text NOT NULL);\nCREATE INDEX notes_body ON notes (body);\n")
	u, err := dbconn.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	execSQL(t, u, "ALTER TABLE users ADD COLUMN x int")

	golden(t, "status.txt", do("db", "status"))
	golden(t, "status.json", do("db", "status", "--json"))
	golden(t, "upgrade-dry-run.txt", do("db", "upgrade", "--dry-run"))
	golden(t, "upgrade-dry-run.json", do("db", "upgrade", "--dry-run", "--json"))
	do("db", "upgrade")
	golden(t, "history.txt", do("db", "history"))
	golden(t, "history.json", do("db", "history", "--json"))
}
