package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// version is Weber's release. A binary built from a tagged module reports
// the module version instead (see weberVersion).
const version = "0.1.0-dev"

// weberVersion returns the module version weberctl was built from, or
// version for a development build.
func weberVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
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
