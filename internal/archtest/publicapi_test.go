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
