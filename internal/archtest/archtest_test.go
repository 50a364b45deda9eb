package archtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// mapDoc is the page that holds the map, relative to the module root.
const mapDoc = "docs/architecture.md"

// rank orders the layers of the map: a package may import its own layer
// and lower ones. The test layer is also imported only by itself.
var rank = map[string]int{"base": 1, "engine": 2, "api": 3, "test": 4, "caller": 5}

// generated is the one row that may be a pattern: the client that
// go generate ./ent writes, whose packages follow the models; and so may a
// frozen snapshot of it (PATH/ent/...), which a Go data migration uses.
const generated = "ent/..."

// pkg is one package of the module: its path relative to the module root
// and the module packages its non-test files import (also relative).
type pkg struct {
	Path    string
	Imports []string
}

// row is one line of the map's table.
type row struct {
	Path, Layer string
	Line        int
}

func TestArchitectureMap(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	pkgs := listModule(t, root)
	f, err := os.Open(filepath.Join(root, mapDoc))
	if err != nil {
		t.Fatalf("reading the map: %v", err)
	}
	defer f.Close()
	rows, err := parseMap(f)
	if err != nil {
		t.Fatalf("%s: %v", mapDoc, err)
	}
	for _, p := range problems(pkgs, rows) {
		t.Error(p)
	}
}

// TestProblems shows that the check catches each way the map and the code
// can disagree.
func TestProblems(t *testing.T) {
	t.Parallel()
	rows := []row{
		{"cmd/weberctl", "caller", 1}, {"internal/upgrade", "engine", 2},
		{"internal/dbconn", "base", 3}, {"internal/testdb", "test", 4},
		{"ent/...", "base", 5}, {"ent/schema", "base", 6},
	}
	good := []pkg{
		{"cmd/weberctl", []string{"internal/upgrade", "internal/dbconn", "ent"}},
		{"internal/upgrade", []string{"internal/dbconn"}},
		{"internal/dbconn", nil},
		{"internal/testdb", []string{"internal/upgrade", "ent/migrate"}},
		{"ent", []string{"ent/schema"}}, {"ent/migrate", nil}, {"ent/schema", nil},
	}
	if got := problems(good, rows); len(got) != 0 {
		t.Fatalf("a module that follows the map: %q", got)
	}
	for _, tc := range []struct {
		name string
		pkgs []pkg
		rows []row
		want []string
	}{
		{"package without a row", append(slices.Clone(good), pkg{Path: "internal/newpart"}), rows,
			[]string{"internal/newpart has no row in docs/architecture.md: add one (package, layer, what it owns)"}},
		{"row without a package", good, append(slices.Clone(rows), row{"internal/gone", "engine", 7}),
			[]string{"docs/architecture.md:7: internal/gone is not a package of the module: remove the row or fix the path"}},
		{"unknown layer", good, append(slices.Clone(rows[:1]), append([]row{{"internal/upgrade", "core", 2}}, rows[2:]...)...),
			[]string{"docs/architecture.md:2: internal/upgrade: layer \"core\" is not one of base, engine, api, test, caller"}},
		{"pattern row", good, append(slices.Clone(rows), row{"internal/...", "engine", 7}),
			[]string{"docs/architecture.md:7: internal/...: only the generated client (ent/...) may be a pattern: give each package its row"}},
		{"engine imports test machinery", replace(good, pkg{"internal/upgrade", []string{"internal/dbconn", "internal/testdb"}}), rows,
			[]string{"internal/upgrade (engine) imports internal/testdb (test): test machinery is imported only by _test.go files"}},
		{"base imports engine", replace(good, pkg{"internal/dbconn", []string{"internal/upgrade"}}), rows,
			[]string{"internal/dbconn (base) imports internal/upgrade (engine), a layer above its own: move the code, or change the layers in docs/architecture.md"}},
		{"engine imports the CLI", replace(good, pkg{"internal/upgrade", []string{"cmd/weberctl"}}), rows,
			[]string{"internal/upgrade (engine) imports cmd/weberctl (caller), a layer above its own: move the code, or change the layers in docs/architecture.md"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := problems(tc.pkgs, tc.rows); !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// replace returns pkgs with the package of p's path replaced by p.
func replace(pkgs []pkg, p pkg) []pkg {
	out := slices.Clone(pkgs)
	for i := range out {
		if out[i].Path == p.Path {
			out[i] = p
		}
	}
	return out
}

// problems lists, one line each, where the map and the module disagree.
func problems(pkgs []pkg, rows []row) []string {
	var out []string
	layer := map[string]string{}
	var patterns []string
	for _, r := range rows {
		switch {
		case rank[r.Layer] == 0:
			out = append(out, fmt.Sprintf("%s:%d: %s: layer %q is not one of base, engine, api, test, caller", mapDoc, r.Line, r.Path, r.Layer))
		case strings.HasSuffix(r.Path, "/...") && r.Path != generated && !strings.HasSuffix(r.Path, "/"+generated):
			out = append(out, fmt.Sprintf("%s:%d: %s: only the generated client (%s) may be a pattern: give each package its row", mapDoc, r.Line, r.Path, generated))
		case strings.HasSuffix(r.Path, "/..."):
			patterns = append(patterns, r.Path)
		}
		layer[r.Path] = r.Layer
	}
	layerOf := func(path string) (string, bool) {
		if l, ok := layer[path]; ok {
			return l, true
		}
		for _, p := range patterns {
			if base := strings.TrimSuffix(p, "/..."); path == base || strings.HasPrefix(path, base+"/") {
				return layer[p], true
			}
		}
		return "", false
	}
	exists := map[string]bool{}
	for _, p := range pkgs {
		exists[p.Path] = true
		if _, ok := layerOf(p.Path); !ok {
			out = append(out, fmt.Sprintf("%s has no row in %s: add one (package, layer, what it owns)", p.Path, mapDoc))
		}
	}
	for _, r := range rows {
		base, pattern := strings.CutSuffix(r.Path, "/...")
		found := exists[r.Path]
		for p := range exists {
			found = found || pattern && (p == base || strings.HasPrefix(p, base+"/"))
		}
		if !found {
			out = append(out, fmt.Sprintf("%s:%d: %s is not a package of the module: remove the row or fix the path", mapDoc, r.Line, r.Path))
		}
	}
	for _, p := range pkgs {
		from, ok := layerOf(p.Path)
		if !ok || rank[from] == 0 {
			continue
		}
		for _, imp := range p.Imports {
			to, ok := layerOf(imp)
			switch {
			case !ok || rank[to] == 0:
			case to == "test" && from != "test":
				out = append(out, fmt.Sprintf("%s (%s) imports %s (test): test machinery is imported only by _test.go files", p.Path, from, imp))
			case rank[to] > rank[from]:
				out = append(out, fmt.Sprintf("%s (%s) imports %s (%s), a layer above its own: move the code, or change the layers in %s", p.Path, from, imp, to, mapDoc))
			}
		}
	}
	return out
}

// tableRow matches a row of the map's table: | `path` | layer | owns |.
var tableRow = regexp.MustCompile("^\\| `([^`]+)` \\| ([a-z]+) \\|")

// parseMap reads the rows of the package table.
func parseMap(r io.Reader) ([]row, error) {
	var rows []row
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		m := tableRow.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if prev, ok := seen[m[1]]; ok {
			return nil, fmt.Errorf("line %d: %s has a row already, on line %d: keep one", n, m[1], prev)
		}
		seen[m[1]] = n
		rows = append(rows, row{Path: m[1], Layer: m[2], Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New("no package table (| `path` | layer | owns |) found")
	}
	return rows, nil
}

// moduleRoot is the folder of the module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out := goCmd(t, ".", "env", "GOMOD")
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatalf("go env GOMOD found no module: run the test inside the Weber module")
	}
	return filepath.Dir(gomod)
}

// listModule lists the module's packages with go list, paths relative to
// the module, imports kept only when they are the module's own.
func listModule(t *testing.T, root string) []pkg {
	t.Helper()
	module := strings.TrimSpace(string(goCmd(t, root, "list", "-m")))
	dec := json.NewDecoder(bytes.NewReader(goCmd(t, root, "list", "-json", "./...")))
	var pkgs []pkg
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding go list -json: %v", err)
		}
		rel := func(path string) (string, bool) {
			if path == module {
				return ".", true
			}
			r, ok := strings.CutPrefix(path, module+"/")
			return r, ok
		}
		me, _ := rel(p.ImportPath)
		q := pkg{Path: me}
		for _, imp := range p.Imports {
			if r, ok := rel(imp); ok {
				q.Imports = append(q.Imports, r)
			}
		}
		pkgs = append(pkgs, q)
	}
	return pkgs
}

// goCmd runs the go command in dir and returns its standard output.
func goCmd(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out
}
