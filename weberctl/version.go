package weberctl

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// version is Weber's release. A binary built from a tagged module reports
// the module version instead (see weberVersion).
const version = "0.1.0-dev"

// weberModule is Weber's module: a project's own weberctl finds Weber's
// version among its dependencies under this path.
const weberModule = "github.com/weber-framework/weber"

// weberVersion returns the version of Weber this weberctl was built from
// (moduleVersion of the binary's build information).
func weberVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return moduleVersion(bi)
}

// moduleVersion is Weber's module version in bi: the main module's when
// the binary is Weber's own, else the dependency's (a project's weberctl,
// built on the library), with the local directory that replaces it when
// there is one. A development build, or no build information, reports
// version.
func moduleVersion(bi *debug.BuildInfo) string {
	if bi == nil {
		return version
	}
	m := &bi.Main
	if m.Path != weberModule {
		m = nil
		for _, d := range bi.Deps {
			if d.Path == weberModule {
				m = d
				break
			}
		}
	}
	if m == nil {
		return version
	}
	if m.Replace != nil && (m.Replace.Version == "" || m.Replace.Version == "(devel)") {
		return version + " (replaced by " + m.Replace.Path + ")"
	}
	if m.Replace != nil {
		return m.Replace.Version
	}
	if m.Version == "" || m.Version == "(devel)" {
		return version
	}
	return m.Version
}

func versionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print Weber's version and the Go version weberctl was built with",
		Description: `Example:
   weberctl version
   weberctl version --json`,
		Flags: withGlobal(&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("the versions")}),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			v := struct {
				Weber string `json:"weber"`
				Go    string `json:"go"`
				OS    string `json:"os"`
				Arch  string `json:"arch"`
			}{weberVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH}
			if c.Bool("json") {
				return writeJSON(e.stdout, v)
			}
			fmt.Fprintf(e.stdout, "weberctl %s (%s, %s/%s)\n", v.Weber, v.Go, v.OS, v.Arch)
			return nil
		},
	}
}
