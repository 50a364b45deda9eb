package weberctl

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/scaffold"
)

// releaseVersion is the Weber release a development build's new project
// requires (the version constant without its -dev suffix).
const releaseVersion = "v0.1.0"

func newCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "new",
		Usage:     "write a new Weber project into a new directory",
		UsageText: "weberctl new DIR --module MODULE",
		Description: `Writes a new project into DIR (which must not exist or be empty): go.mod
requiring this version of Weber, ent/schema with one example model (Note),
ent/generate.go, the app with /livez, /readyz and a small notes API and its
tests, cmd/weberctl/main.go (every weberctl command on the project), the
first migration for SQLite, PostgreSQL and MySQL, a Taskfile, a README with
its two commands and a CI script (.ci/run).

When go is on PATH it then runs go mod tidy and go generate ./ent in DIR, so
that the project builds at once; otherwise it says what to run.

--weber-replace PATH is for Weber's contributors and tests: it adds to go.mod
a replace of Weber by the checkout at PATH, to try an unreleased Weber.

Example:
   weberctl new notes --module example.com/notes
   cd notes && go run ./cmd/weberctl serve`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "module", Usage: "the new project's Go module `PATH`, e.g. example.com/notes or github.com/you/notes"},
			&cli.StringFlag{Name: "weber-replace", Usage: "build against the Weber checkout at `PATH` (a replace in go.mod; for Weber's contributors)"},
			&cli.BoolFlag{Name: "skip-go", Usage: "write the files only: do not run go mod tidy and go generate ./ent"},
		},
		Action: func(c *cli.Context) error { return writeNewProject(c, e) },
	}
}

// writeNewProject runs `weberctl new`.
func writeNewProject(c *cli.Context, e *env) error {
	f, err := parseNewArgs(c)
	if err != nil {
		return err
	}
	dir := f.dir
	if err := scaffold.CheckModule(f.module); err != nil {
		return usagef("new: %v", err)
	}
	opts := scaffold.Options{Module: f.module, WeberVersion: requiredWeber()}
	if r := f.replace; r != "" {
		abs, err := weberCheckout(r)
		if err != nil {
			return err
		}
		opts.WeberReplace = abs
	}
	res, err := scaffold.Write(dir, opts)
	if errors.Is(err, scaffold.ErrNotEmpty) {
		return usagef("new: %v", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Wrote %s (module %s, Weber %s): %s.\n", dir, opts.Module, opts.WeberVersion, plural(len(res.Files), "file", "files"))
	if opts.WeberReplace == "" && opts.WeberVersion == releaseVersion && weberVersion() != releaseVersion {
		fmt.Fprintf(e.stderr, "weberctl: note: this weberctl is a development build (%s): the project requires Weber %s; if that is not published yet, add --weber-replace PATH_TO_WEBER_CHECKOUT\n", weberVersion(), releaseVersion)
	}
	return setUpGo(c, e, dir, f.skipGo)
}

// newArgs are new's DIR and options.
type newArgs struct {
	dir, module, replace string
	skipGo               bool
}

// parseNewArgs reads DIR and the options, which may also follow DIR
// (weberctl new notes --module example.com/notes): urfave/cli stops at the
// first argument, so what follows it is parsed here.
func parseNewArgs(c *cli.Context) (newArgs, error) {
	a := newArgs{module: c.String("module"), replace: c.String("weber-replace"), skipGo: c.Bool("skip-go")}
	if c.NArg() == 0 {
		return a, usagef("new takes one DIR, the new project's directory, e.g. weberctl new notes --module example.com/notes")
	}
	a.dir = c.Args().First()
	fs := flag.NewFlagSet("new", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.module, "module", a.module, "")
	fs.StringVar(&a.replace, "weber-replace", a.replace, "")
	fs.BoolVar(&a.skipGo, "skip-go", a.skipGo, "")
	if err := fs.Parse(c.Args().Slice()[1:]); err != nil {
		return a, usagef("new: %v: the options are --module, --weber-replace and --skip-go", err)
	}
	if fs.NArg() > 0 {
		return a, usagef("new takes one DIR, got also %q: e.g. weberctl new notes --module example.com/notes", fs.Arg(0))
	}
	return a, nil
}

// setUpGo runs go mod tidy and go generate ./ent in the new project, or
// says to.
func setUpGo(c *cli.Context, e *env, dir string, skip bool) error {
	steps := [][]string{{"mod", "tidy", "-e"}, {"generate", "./ent"}, {"mod", "tidy"}}
	next := fmt.Sprintf("cd %s && go run ./cmd/weberctl serve    (and go test ./...)", dir)
	if _, err := exec.LookPath("go"); skip || err != nil {
		fmt.Fprintf(e.stdout, "Next: cd %s && go mod tidy -e && go generate ./ent && go mod tidy, then go run ./cmd/weberctl serve\n", dir)
		return nil
	}
	for _, s := range steps {
		fmt.Fprintf(e.stdout, "Running go %s ...\n", strings.Join(s, " "))
		cmd := exec.CommandContext(c.Context, "go", s...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, e.stderr, e.stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("new: the files are written, but `go %s` failed in %s: %w; fix what it says and run it again there", strings.Join(s, " "), dir, err)
		}
	}
	fmt.Fprintf(e.stdout, "Ready. Next: %s\n", next)
	return nil
}

// requiredWeber is the Weber version a new project requires: this
// binary's, when it is a release; else the coming release.
func requiredWeber() string {
	v := weberVersion()
	if strings.HasPrefix(v, "v") && !strings.ContainsAny(v, " ()") {
		return v
	}
	return releaseVersion
}

// weberCheckout returns the absolute path of a Weber checkout, refusing a
// directory that is not one.
func weberCheckout(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(abs, "go.mod"))
	if err != nil || !strings.Contains(string(b), "module "+weberModule+"\n") {
		return "", usagef("new: --weber-replace %s is not a checkout of Weber (no go.mod declaring module %s there): pass the directory of your Weber clone", path, weberModule)
	}
	return abs, nil
}
