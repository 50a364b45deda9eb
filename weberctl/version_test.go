package weberctl

import (
	"runtime/debug"
	"testing"
)

func TestModuleVersion(t *testing.T) {
	t.Parallel()
	weber := func(v string, r *debug.Module) *debug.Module {
		return &debug.Module{Path: weberModule, Version: v, Replace: r}
	}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build information", nil, version},
		{"Weber's own development build", &debug.BuildInfo{Main: *weber("(devel)", nil)}, version},
		{"Weber's own tagged build", &debug.BuildInfo{Main: *weber("v0.1.0", nil)}, "v0.1.0"},
		{"a project's weberctl", &debug.BuildInfo{
			Main: debug.Module{Path: "example.com/notes", Version: "(devel)"},
			Deps: []*debug.Module{{Path: "entgo.io/ent", Version: "v0.14.5"}, weber("v0.2.1", nil)},
		}, "v0.2.1"},
		{"a project on a local checkout", &debug.BuildInfo{
			Main: debug.Module{Path: "example.com/notes", Version: "(devel)"},
			Deps: []*debug.Module{weber("v0.1.0", &debug.Module{Path: "../weber", Version: "(devel)"})},
		}, version + " (replaced by ../weber)"},
		{"a project on a fork", &debug.BuildInfo{
			Main: debug.Module{Path: "example.com/notes"},
			Deps: []*debug.Module{weber("v0.1.0", &debug.Module{Path: "github.com/fork/weber", Version: "v0.1.1-fix"})},
		}, "v0.1.1-fix"},
		{"a binary without Weber", &debug.BuildInfo{Main: debug.Module{Path: "example.com/other"}}, version},
	} {
		if got := moduleVersion(tc.bi); got != tc.want {
			t.Errorf("%s: moduleVersion = %q, want %q", tc.name, got, tc.want)
		}
	}
}
