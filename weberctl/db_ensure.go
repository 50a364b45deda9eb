package weberctl

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/devdb"
	"github.com/weber-framework/weber/internal/envmark"
	"github.com/weber-framework/weber/internal/migdir"
)

func dbEnsureCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "ensure",
		Usage: "create the database and every table, column and index the models add (development)",
		Description: `Creates the database if it does not exist (the SQLite file and its folder, or
CREATE DATABASE on PostgreSQL and MySQL), applies the migration history to an
empty database, or its pending files to a database that has a history (when the
database already has their changes, made by an earlier ensure from the models,
it records them as applied without running them, except the data migrations
among them, which it runs: that needs --dev-url on PostgreSQL and MySQL), then
renames what the models declare renamed (RenamedFrom) and the database still
has under the old name, and creates every table, column, index and foreign key
that the models have and the database lacks. It never drops or changes anything that exists: differences it
leaves alone are listed, for a revision to handle.
It prints what it created; run again, it says there is nothing to do. With
--env (or WEBER_ENV) it records the environment, which protects a production
database from ` + "`db drop`" + `; a mark is only raised, never lowered (it says
when it keeps a higher one; ` + "`weberctl db mark --force`" + ` lowers it). It
refuses the servers' own databases (mysql, sys, template1, ...) and a database
that has tables but no migration history (baseline it with
` + "`weberctl db upgrade --baseline VERSION`" + `).

Example:
   weberctl db ensure
   weberctl db ensure --database-url postgres://me@localhost/myapp_dev --json`,
		Flags: withGlobal(
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("what was created")},
			lockTimeoutFlag(),
			devURLFlag(),
			devURLFlags()[0],
			devURLFlags()[1],
		),
		Action: func(c *cli.Context) error { return dbEnsure(c, e) },
	}
}

// dbEnsure runs `db ensure`.
func dbEnsure(c *cli.Context, e *env) error {
	if err := noArgs(c); err != nil {
		return err
	}
	cfg, u, err := e.target(c)
	if err != nil {
		return err
	}
	folder, err := migdir.Folder(u.Dialect)
	if err != nil {
		return err
	}
	res, err := devdb.Ensure(c.Context, u, devdb.EnsureOptions{
		Tables:         e.project.Tables,
		Root:           cfg.MigrationsDir,
		DevURL:         devURLFor(c, cfg, folder),
		Env:            cfg.Env,
		LockTimeout:    lockTimeout(c),
		Operator:       operator(),
		Logger:         cfg.Logger,
		DataMigrations: e.dataMigrations(),
		Renames:        e.project.Renames,
	})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return writeJSON(e.stdout, newEnsureView(res))
	}
	renderEnsure(e, res)
	return nil
}

func renderEnsure(e *env, r *devdb.EnsureResult) {
	w := e.stdout
	if r.NothingToDo() {
		fmt.Fprintf(w, "Nothing to do: %s has every table, column and index of the models.\n", r.Database)
	}
	if r.DatabaseCreated {
		fmt.Fprintf(w, "Created database %s\n", r.Database)
	}
	if len(r.Adopted) > 0 {
		fmt.Fprintf(w, "Recorded %s as applied: the database already had their changes (made by db ensure):\n", plural(len(r.Adopted), "file", "files"))
		for _, f := range r.Adopted {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	if len(r.History) > 0 {
		if len(r.Adopted) > 0 {
			fmt.Fprintf(w, "Ran %s among the pending files (changes to rows, which ensure cannot make from the models):\n", plural(len(r.History), "data migration", "data migrations"))
		} else {
			fmt.Fprintf(w, "Applied the migration history (%s):\n", plural(len(r.History), "file", "files"))
		}
		for _, f := range r.History {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	for _, rn := range r.Renamed {
		fmt.Fprintf(w, "Renamed %s, as the models declare (RenamedFrom)\n", rn)
	}
	for _, t := range r.Tables {
		fmt.Fprintf(w, "Created table %s\n", t)
	}
	for _, c := range r.Columns {
		fmt.Fprintf(w, "Added column %s\n", c)
	}
	for _, i := range r.Indexes {
		fmt.Fprintf(w, "Added index %s\n", i)
	}
	for _, f := range r.ForeignKeys {
		fmt.Fprintf(w, "Added foreign key %s\n", f)
	}
	switch {
	case r.EnvKept:
		fmt.Fprintf(w, "Kept the environment mark %q (this run's environment is %q): %s\n", r.Env, r.EnvRequested, keptMarkAdvice(r.EnvRequested))
	case r.Env != "" && r.EnvPrevious != "" && !envmark.Same(r.Env, r.EnvPrevious):
		fmt.Fprintf(w, "Raised the environment mark from %q to %q\n", r.EnvPrevious, r.Env)
	case r.Env != "":
		fmt.Fprintf(w, "Recorded environment %q\n", r.Env)
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, "Left alone (ensure never changes or drops; write a revision with `weberctl db revision`):\n")
		for _, s := range r.Skipped {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	if !r.NothingToDo() {
		fmt.Fprintf(w, "Done in %s.\n", human(r.Duration))
	}
}
