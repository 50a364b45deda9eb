package weberctl

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/dblock"
	"github.com/weber-framework/weber/internal/envmark"
)

func dbMarkCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "mark",
		Usage: "show or change the environment recorded in the database (production, staging, ...)",
		Description: `Without --env, prints the environment the database records. With --env NAME,
records NAME in the database.

A mark protects: ` + "`db drop`" + ` refuses a database marked production unless
--force-production. So a mark only moves toward more protection by itself
(development, dev, test, local < staging and any other name < production):
` + "`db ensure`" + ` and ` + "`db upgrade`" + ` record their environment (--env or WEBER_ENV) when
it raises the mark, and otherwise keep the mark and say so. This command is the
one way down: to lower a mark (a production copy restored as a staging
database, say) or move it to another environment of the same level, pass the
new name with --env on the command line and --force. It does not read
WEBER_ENV: the environment it records is always written out.

Example:
   weberctl db mark
   weberctl db mark --env production
   weberctl db mark --env staging --force --database-url postgres://app@staging-db/app`,
		Flags: withGlobal(
			&cli.BoolFlag{Name: "force", Usage: "lower the mark (or change it to another environment of the same level)"},
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("the mark")},
			lockTimeoutFlag(),
		),
		Action: func(c *cli.Context) error { return dbMark(c, e) },
	}
}

// dbMark runs `db mark`.
func dbMark(c *cli.Context, e *env) error {
	if err := noArgs(c); err != nil {
		return err
	}
	want, given := global(c, "env")
	want = strings.TrimSpace(want)
	if given && want == "" {
		return usagef("--env is empty: name the environment to record, e.g. --env staging")
	}
	if !given && c.Bool("force") {
		return usagef("--force needs --env NAME on the command line: the environment to record (WEBER_ENV is not read by `db mark`)")
	}
	if given {
		_, u, err := e.target(c)
		if err != nil {
			return err
		}
		if err := u.RefuseSystem("mark"); err != nil {
			return err
		}
	}
	_, u, db, _, err := e.openDatabase(c, false)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := mark(c, u, db, want)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return writeJSON(e.stdout, v)
	}
	renderMark(e, v)
	return nil
}

// markView is `db mark --json`.
type markView struct {
	Database string `json:"database"`
	// Env is the mark after the command ("" none).
	Env string `json:"env"`
	// Previous is the mark before; Changed reports that it was written.
	Previous string `json:"previous"`
	Changed  bool   `json:"changed"`
}

// mark reads the mark, or sets it to want under the migration lock.
func mark(c *cli.Context, u *dbconn.URL, db *sql.DB, want string) (_ markView, err error) {
	v := markView{Database: u.Redacted()}
	if want == "" {
		v.Env, err = envmark.Read(c.Context, db, u.Dialect)
		v.Previous = v.Env
		return v, err
	}
	l, err := dblock.Acquire(c.Context, db, u, c.Duration("lock-timeout"))
	if err != nil {
		return v, err
	}
	defer func() {
		if rerr := l.Release(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	out, err := envmark.Set(c.Context, db, u.Dialect, u.Redacted(), want, c.Bool("force"))
	if err != nil {
		return v, err
	}
	v.Env, v.Previous, v.Changed = out.Mark, out.Previous, out.Changed()
	return v, nil
}

func renderMark(e *env, v markView) {
	w := e.stdout
	switch {
	case v.Env == "":
		fmt.Fprintf(w, "%s has no environment mark (`weberctl db mark --env NAME` records one; so do db ensure and db upgrade with --env or WEBER_ENV).\n", v.Database)
	case !v.Changed:
		fmt.Fprintf(w, "%s is marked %q.\n", v.Database, v.Env)
	case v.Previous == "":
		fmt.Fprintf(w, "Marked %s as %q (it had no mark).\n", v.Database, v.Env)
	default:
		fmt.Fprintf(w, "Marked %s as %q (it was %q).\n", v.Database, v.Env, v.Previous)
	}
}

// noteMark says on stderr when the database's environment mark differs
// from the environment the command runs in (--env or WEBER_ENV). records
// tells that the command records its environment (ensure, upgrade), which
// raises a mark but never lowers one. A database without a mark, or a
// command without an environment, gets no note.
func (e *env) noteMark(ctx context.Context, u *dbconn.URL, db *sql.DB, env string, records bool) {
	if strings.TrimSpace(env) == "" {
		return
	}
	got, err := envmark.Read(ctx, db, u.Dialect)
	if err != nil || got == "" || envmark.Same(got, env) {
		return
	}
	fmt.Fprintf(e.stderr, "weberctl: note: %s\n", markNote(u.Redacted(), got, env, records))
}

// markNote is the note of noteMark.
func markNote(database, got, env string, records bool) string {
	base := fmt.Sprintf("%s is marked %q, and this command runs as %q (--env or WEBER_ENV)", database, got, env)
	switch {
	case records && envmark.LevelOf(env) > envmark.LevelOf(got):
		return base + fmt.Sprintf("; a successful run raises the mark to %q", env)
	case records:
		return base + fmt.Sprintf("; the mark stays %q: %s", got, keptMarkAdvice(env))
	}
	return base
}

// keptMarkAdvice says why a mark stayed, and the explicit way to lower it
// to env.
func keptMarkAdvice(env string) string {
	return fmt.Sprintf("ensure and upgrade never lower a mark; if the database really is %q now, run `weberctl db mark --env %s --force`", env, env)
}
