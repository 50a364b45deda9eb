package archtest

import (
	"slices"
	"strings"
	"testing"
)

// exampleProject is Weber's own example project: it must be a user of the
// public API like any other (issue 16), so that what it does, a project
// made by `weberctl new` or one that adopts Weber can do too.
var exampleProject = []string{"app", "cmd/weberctl"}

// TestExampleUsesOnlyThePublicAPI fails when a non-test file of the example
// project imports a package under internal/.
func TestExampleUsesOnlyThePublicAPI(t *testing.T) {
	t.Parallel()
	for _, p := range listModule(t, moduleRoot(t)) {
		if !slices.Contains(exampleProject, p.Path) {
			continue
		}
		for _, imp := range p.Imports {
			if imp == "internal" || strings.HasPrefix(imp, "internal/") {
				t.Errorf("%s imports %s: the example project uses only Weber's public packages (weberctl, config, testdb, engine); export what it needs there", p.Path, imp)
			}
		}
	}
}

// libraries are the packages a project imports from Weber: they must not
// carry Weber's example models (ent/...) or app into the project's binary.
var libraries = []string{"weberctl", "config", "engine", "testdb", "weberschema"}

// TestLibrariesCarryNoExample fails when a library package imports,
// directly or through other packages of the module, the example's
// generated client or its app (the models come from the project:
// weberctl.Project.Tables, testdb.Tables).
func TestLibrariesCarryNoExample(t *testing.T) {
	t.Parallel()
	imports := map[string][]string{}
	for _, p := range listModule(t, moduleRoot(t)) {
		imports[p.Path] = p.Imports
	}
	example := func(path string) bool { return path == "ent" || strings.HasPrefix(path, "ent/") || path == "app" }
	for _, lib := range libraries {
		// via records how each package was reached, to name the path.
		via := map[string]string{lib: ""}
		queue := []string{lib}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			for _, imp := range imports[p] {
				if _, seen := via[imp]; seen {
					continue
				}
				via[imp] = p
				if example(imp) {
					t.Errorf("%s reaches %s (through %s), Weber's example: take what it needs from the project (weberctl.Project, testdb.Tables)", lib, imp, p)
					continue
				}
				queue = append(queue, imp)
			}
		}
	}
}
