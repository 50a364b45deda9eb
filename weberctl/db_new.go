package weberctl

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plan"
)

func dbNewCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "new",
		Usage:     "write an empty migration file for a hand-written change (views, functions, triggers, grants)",
		UsageText: "weberctl db new [options] NAME",
		Description: `Writes <version>_<NAME>.sql into the folder of every kept dialect
(--dir/<dialect>), under one version after every existing file, and updates
each atlas.sum. The file holds only comments: write the change in each
dialect's own SQL below them. It is part of the history like any revision:
` + "`db upgrade`" + ` applies it, ` + "`db check`" + ` and ` + "`db lint`" + ` read it.

On a terminal it opens the files in $VISUAL or $EDITOR and, when the editor
exits, rehashes the folders. Elsewhere (or with --no-edit) it prints the
paths: after editing, run ` + "`weberctl db hash`" + `.

Example:
   weberctl db new add_active_users_view
   weberctl db new grant_reporting --dialect postgres
   weberctl db new add_audit_trigger --no-edit --json`,
		Flags: withGlobal(
			&cli.StringSliceFlag{Name: "dialect", Usage: "write only this `DIALECT`'s folder; repeatable; default: every kept dialect"},
			&cli.BoolFlag{Name: "no-edit", Usage: "do not open the files in $VISUAL or $EDITOR, even on a terminal"},
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("the files written")},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 && strings.HasPrefix(c.Args().Get(1), "-") {
				return usagef("options go before NAME: `weberctl db new %s %s`", strings.Join(c.Args().Slice()[1:], " "), c.Args().First())
			}
			if c.NArg() != 1 {
				return usagef("`weberctl db new` takes one NAME, e.g. `weberctl db new add_active_users_view`; got %d arguments", c.NArg())
			}
			cfg := e.config(c)
			dialects, err := chosenDialects(c, cfg)
			if err != nil {
				return err
			}
			res, err := plan.NewFile(plan.NewFileOptions{Root: cfg.MigrationsDir, Dialects: dialects, Name: c.Args().First()})
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(e.stdout, newFileView{Version: res.Version, Name: res.Name, Files: res.Files})
			}
			fmt.Fprintf(e.stdout, "Wrote %s_%s.sql, empty, in %s:\n", res.Version, res.Name, plural(len(res.Files), "folder", "folders"))
			for _, f := range res.Files {
				fmt.Fprintf(e.stdout, "  %s\n", f)
			}
			editor := firstNonEmpty(e.getenv("VISUAL"), e.getenv("EDITOR"))
			if !e.isTerminal || c.Bool("no-edit") || editor == "" {
				fmt.Fprintln(e.stdout, "Write the change in each file, then run `weberctl db hash` and `weberctl db check`.")
				return nil
			}
			return e.editAndRehash(c, editor, res.Files)
		},
	}
}

// newFileView is the JSON of `db new`.
type newFileView struct {
	Version string   `json:"version"`
	Name    string   `json:"name"`
	Files   []string `json:"files"`
}

// editAndRehash opens files in the user's editor and, when it exits
// successfully, rehashes their folders.
func (e *env) editAndRehash(c *cli.Context, editor string, files []string) error {
	// $EDITOR may hold arguments ("code --wait"): run it through the shell,
	// as git does, with the files as its arguments.
	cmd := exec.CommandContext(c.Context, "/bin/sh", append([]string{"-c", editor + ` "$@"`, editor}, files...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, e.stdout, e.stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("the editor (%s) failed: %v; the files are written: edit them, then run `weberctl db hash`", editor, err)
	}
	for _, f := range files {
		if err := migdir.Rehash(filepath.Dir(f)); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "Rehashed %s. Next: `weberctl db check`.\n", plural(len(files), "folder", "folders"))
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
