package weberctl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/devdb"
	"github.com/weber-framework/weber/internal/envmark"
)

func dbDropCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "drop",
		Usage: "remove the database completely (development)",
		Description: `Removes the database: on SQLite the file with its -wal and -shm; on
PostgreSQL and MySQL, DROP DATABASE through the server's maintenance database.
On a terminal it asks you to type the database's name; without a terminal it
requires --yes, and otherwise refuses and drops nothing. A database that
records a production environment (WEBER_ENV=production when ensure or upgrade
last ran) is refused unless --force-production is given too. A system database
of the server (MySQL/MariaDB: mysql, sys, performance_schema,
information_schema; PostgreSQL: postgres, template0, template1) is always
refused, whatever the flags.

Example:
   weberctl db drop
   weberctl db drop --yes --database-url sqlite://var/test.db`,
		Flags: withGlobal(
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "drop without asking (required when not on a terminal)"},
			&cli.BoolFlag{Name: "force-production", Usage: "drop even a database marked as production"},
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("what was dropped")},
		),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			cfg, u, err := e.target(c)
			if err != nil {
				return err
			}
			res, err := devdb.Drop(c.Context, u, dropOptions(c, e))
			if err != nil {
				return err
			}
			if res.Env != "" && cfg.Env != "" && !envmark.Same(res.Env, cfg.Env) {
				fmt.Fprintf(e.stderr, "weberctl: note: %s\n", markNote(res.Database, res.Env, cfg.Env, false))
			}
			if c.Bool("json") {
				return writeJSON(e.stdout, newDropView(res))
			}
			switch {
			case !res.Existed:
				fmt.Fprintf(e.stdout, "Nothing to drop: %s does not exist.\n", res.Database)
			case len(res.Files) > 0:
				fmt.Fprintf(e.stdout, "Dropped %s (removed %s).\n", res.Database, strings.Join(res.Files, ", "))
			default:
				fmt.Fprintf(e.stdout, "Dropped %s.\n", res.Database)
			}
			return nil
		},
	}
}

// dropOptions are the options of devdb.Drop from --yes and
// --force-production, asking on e's terminal: the options of `db drop`
// and `db reset`.
func dropOptions(c *cli.Context, e *env) devdb.DropOptions {
	in := bufio.NewReader(e.stdin)
	return devdb.DropOptions{
		Yes:             c.Bool("yes"),
		IsTerminal:      e.isTerminal,
		ForceProduction: c.Bool("force-production"),
		Confirm: func(prompt string) (string, error) {
			fmt.Fprint(e.stderr, prompt)
			line, err := in.ReadString('\n')
			if errors.Is(err, io.EOF) && line != "" {
				err = nil
			}
			return strings.TrimSpace(line), err
		},
	}
}
