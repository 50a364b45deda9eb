package weberctl

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/migdir"
)

func dbHashCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "hash",
		Usage: "rewrite atlas.sum after a migration file was fixed or renamed",
		Description: `Rewrites atlas.sum in each kept dialect's folder from the files it holds. Run
it after fixing a file that failed to apply, or after renaming a file to give
it a new version. It still refuses a folder with malformed names, duplicate
versions, stray or special files, CRLF line endings, unknown or misplaced
directives, or a file with its own BEGIN/COMMIT not marked
` + "`-- weber:as-written`" + ` (see docs/migrations.md). Editing a file that was
already applied is caught by ` + "`db upgrade`" + ` whatever atlas.sum says.

After a git merge, atlas.sum may hold conflict markers: db hash rewrites it
from the merged files. To also put this branch's revisions after the other
branch's, run ` + "`weberctl db rebase`" + ` instead (see docs/migrations.md).

Example:
   weberctl db hash
   weberctl db hash --dialect postgres`,
		Flags: withGlobal(
			&cli.StringSliceFlag{Name: "dialect", Usage: "rehash only this `DIALECT`; repeatable; default: every kept dialect"},
		),
		Action: func(c *cli.Context) error {
			cfg, dialects, err := noArgsDialects(c, e)
			if err != nil {
				return err
			}
			done := 0
			for _, d := range dialects {
				dir := filepath.Join(cfg.MigrationsDir, d)
				if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
					continue
				}
				conflicted := migdir.SumConflicted(dir)
				if err := migdir.Rehash(dir); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "Rehashed %s\n", filepath.Join(dir, migdir.SumFile))
				if conflicted {
					fmt.Fprintln(e.stdout, "  It held git conflict markers (a merge): if this branch's revisions now sit before the other branch's, run `weberctl db rebase`.")
				}
				done++
			}
			if done == 0 {
				return fmt.Errorf("hash: no migration folder under %s for %v: check --dir", cfg.MigrationsDir, dialects)
			}
			return nil
		},
	}
}
