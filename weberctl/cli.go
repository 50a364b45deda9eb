package weberctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/config"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/upgrade"
)

// Exit statuses. Everything that is not a usage mistake and not an
// interruption is 1.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// env is everything a command sees of the world outside the process:
// main passes the real ones, tests their own.
type env struct {
	// project is what the project handed to Run.
	project    Project
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	getenv     func(string) string
	isTerminal bool
	// progress is set when stderr is a terminal: long commands may show
	// their progress there. Scripts (a pipe, a file) see none.
	progress bool
	// args is the command line, for shell completion.
	args []string
	// devServers are the private dev servers the command uses.
	devServers devServers
}

// run runs the command line args in e.
func (e *env) run(ctx context.Context, args []string) (code int) {
	secrets := findSecrets(args, e.getenv)
	stdout := &scrubWriter{w: e.stdout, secrets: secrets}
	stderr := &scrubWriter{w: e.stderr, secrets: secrets}
	e = &env{project: e.project, stdin: e.stdin, stdout: stdout, stderr: stderr, getenv: e.getenv, isTerminal: e.isTerminal, progress: e.progress, args: args}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "weberctl: internal error (a bug in weberctl, please report it): %s\n", errtext.Flatten(fmt.Sprint(r)))
			code = exitFailure
		}
	}()
	err := newApp(e).RunContext(withLockNotice(ctx, stderr), args)
	e.devServers.release()
	if err == nil {
		return exitOK
	}
	code = exitCode(err)
	msg := errtext.Flatten(fmtArtefact.ReplaceAllString(err.Error(), ""))
	var se *upgrade.StatementError
	switch {
	case ctx.Err() != nil && errors.As(err, &se):
		// The statement failed because the run was interrupted: its own
		// advice (fix the statement, rehash) does not apply.
		msg, code = interrupted(se), exitInterrupted
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		msg, code = "interrupted: "+msg, exitInterrupted
	case ctx.Err() != nil:
		// The driver reported the cancellation its own way (MySQL: "bad
		// connection"): say what really happened.
		msg, code = "interrupted by a signal: "+msg, exitInterrupted
	}
	fmt.Fprintf(stderr, "weberctl: %s\n", msg)
	return code
}

// interrupted says what a SIGINT or SIGTERM in the middle of a file left
// behind, and that running the upgrade again is all there is to do.
func interrupted(se *upgrade.StatementError) string {
	at := fmt.Sprintf("interrupted while applying %s, statement %d of %d (line %d)", se.File, se.Stmt, se.Total, se.Line)
	if se.OwnTx > 0 {
		// A file run as written, stopped inside its own transaction.
		return fmt.Sprintf("%s: the file's own transaction (from statement %d, line %d) was rolled back; statements 1-%d persist and are recorded (applied %d of %d); run `weberctl db upgrade` again to resume at statement %d",
			at, se.OwnTx, se.OwnTxLine, se.Applied, se.Applied, se.Total, se.Applied+1)
	}
	if se.Transactional {
		if se.Applied > 0 {
			return fmt.Sprintf("%s: this run's transaction was rolled back; statements 1-%d, from an earlier run, persist; run `weberctl db upgrade` again", at, se.Applied)
		}
		return at + ": the file's transaction was rolled back and nothing of it persists; run `weberctl db upgrade` again"
	}
	if se.Applied == 0 {
		return fmt.Sprintf("%s: no statement of it persists (applied 0 of %d); run `weberctl db upgrade` again "+
			"(if it says the statement's outcome was never recorded, check whether it took effect and pass --retry or --mark-applied)", at, se.Total)
	}
	return fmt.Sprintf("%s: statements 1-%d persist and are recorded (applied %d of %d); run `weberctl db upgrade` again to resume at statement %d "+
		"(if it says the statement's outcome was never recorded, check whether it took effect and pass --retry or --mark-applied)",
		at, se.Applied, se.Applied, se.Total, se.Stmt)
}

// exitCode decides the exit status of err, in one place.
func exitCode(err error) int {
	var ue *usageError
	var ec cli.ExitCoder
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ec):
		// urfave/cli's own errors ("No help topic for ...") are usage mistakes.
		return exitUsage
	}
	return exitFailure
}

// newApp builds the command tree. Each command lives in its own file with
// its help text.
func newApp(e *env) *cli.App {
	a := &cli.App{
		Name:      e.project.name(),
		Usage:     "run a Weber application's database, and serve the app",
		UsageText: "weberctl [global options] command [command options]",
		Description: `weberctl creates, migrates and drops the database of a Weber application, and
serves the application. Global options may come before or after the command.

Examples:
   weberctl serve                       serve on SQLite (var/weber.db), creating it first
   weberctl db ensure                   create the dev database and the models' tables
   weberctl db revision --name add_tags write a migration file for the models' changes
   weberctl --database-url postgres://app@db.internal/app db upgrade`,
		Version:        weberVersion(),
		Writer:         e.stdout,
		ErrWriter:      e.stderr,
		ExitErrHandler: func(*cli.Context, error) {}, // run decides exit statuses
		Suggest:        true,                         // for `weberctl help NAME`
		Flags:          globalFlags(),
		Commands: []*cli.Command{
			dbCommand(e),
			serveCommand(e),
			newCommand(e),
			versionCommand(e),
			completionCommand(e),
			devserverCommand(e),
			helpCommand(e, nil),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowAppHelp(c)
			}
			return unknownCommand("weberctl", c.Args().First(), c.App.Commands)
		},
	}
	// urfave/cli adds --help to the root only along with its own help
	// command, which helpCommand replaces.
	a.Flags = append(a.Flags, cli.HelpFlag)
	a.OnUsageError = onUsageError("weberctl", a.Flags)
	for _, cmd := range a.Commands {
		wireUsage(e, cmd, "weberctl "+cmd.Name)
	}
	e.wireCompletion(a)
	return a
}

// wireUsage makes every command report usage mistakes as one line.
func wireUsage(e *env, cmd *cli.Command, path string) {
	cmd.OnUsageError = onUsageError(path, cmd.Flags)
	cmd.Before = rejectNegativeDurations
	if action := cmd.Action; action != nil && len(cmd.Subcommands) == 0 {
		cmd.Action = func(c *cli.Context) error { return adviseDevURL(e, c.Command, action(c)) }
	}
	for _, sub := range cmd.Subcommands {
		wireUsage(e, sub, path+" "+sub.Name)
	}
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// onUsageError turns urfave/cli's flag parsing errors into one line that
// suggests the nearest flag.
func onUsageError(path string, flags []cli.Flag) cli.OnUsageErrorFunc {
	return func(_ *cli.Context, err error, _ bool) error {
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
			name = strings.TrimLeft(name, "-")
			var names []string
			for _, f := range flags {
				names = append(names, f.Names()...)
			}
			names = append(names, "help")
			hint := ""
			if s := suggest(name, names); s != "" {
				hint = fmt.Sprintf(" Did you mean %q?", dashes(s))
			}
			return usagef("unknown flag %s for `%s`.%s Run `%s --help` for its flags.", dashes(name), path, hint, path)
		}
		msg = strings.ReplaceAll(msg, " -", " --")
		return usagef("%s: %s (run `%s --help`)", path, msg, path)
	}
}

// unknownCommand reports a command name that does not exist, suggesting
// the nearest one, and for a top-level typo also the db subcommands
// (`weberctl upgrade` -> `db upgrade`).
func unknownCommand(path, name string, cmds []*cli.Command) error {
	var names []string
	for _, cmd := range cmds {
		names = append(names, cmd.Names()...)
		if path == "weberctl" {
			for _, sub := range cmd.Subcommands {
				if sub.Name != "help" {
					names = append(names, cmd.Name+" "+sub.Name)
				}
			}
		}
	}
	hint := ""
	if s := suggest(name, names); s != "" {
		hint = fmt.Sprintf(" Did you mean %q?", s)
	}
	return usagef("unknown command %q for `%s`.%s Run `%s --help` for the commands.", name, path, hint, path)
}

func dashes(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// noArgs refuses positional arguments for commands that take none.
func noArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("`weberctl %s` takes no arguments, got %q: options are written --name value", c.Command.FullName(), c.Args().First())
	}
	return nil
}

// isTerminalWriter reports whether w is a terminal a person watches.
func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// isTerminal reports whether r is a terminal a person can answer on.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// fmtArtefact matches what fmt prints for a bad or nil argument, e.g.
// "%!w(<nil>)" from a library that wrapped a nil error: it means nothing
// to a user, whichever error it comes in.
var fmtArtefact = regexp.MustCompile(`:? ?%!\w\([^)]*\)`)

// The global flags: defined on every command so that they work before or
// after it, and read with global, which takes the one nearest the end of
// the command line.
func globalFlags() []cli.Flag {
	const cat = "Global"
	return []cli.Flag{
		&cli.StringFlag{Name: "database-url", Category: cat, Usage: "the database `URL`: sqlite://PATH, postgres://USER:PASSWORD@HOST/DB or mysql://... " +
			"(default: env WEBER_DATABASE_URL, then DATABASE_URL, then " + config.DefaultDatabaseURL + ")"},
		&cli.StringFlag{Name: "dir", Category: cat, Usage: "the migrations `DIR`, one folder per dialect (default: migrations)"},
		&cli.StringFlag{Name: "env", Category: cat, Usage: "the environment `NAME` recorded in the database, e.g. production (default: env WEBER_ENV)"},
		&cli.BoolFlag{Name: "verbose", Category: cat, Usage: "log what the engine does on stderr"},
	}
}

// withGlobal returns a command's own flags followed by the global ones.
func withGlobal(own ...cli.Flag) []cli.Flag {
	return append(own, globalFlags()...)
}

// global returns the value of a global flag from the command line, the one
// given nearest the end (after the command beats before it).
func global(c *cli.Context, name string) (string, bool) {
	for _, x := range c.Lineage() {
		if x.IsSet(name) {
			return x.String(name), true
		}
	}
	return "", false
}

// config resolves the configuration: the environment (config.FromEnv) over
// the project's defaults (Project.Migrations, Project.Dialects),
// overridden by the global flags.
func (e *env) config(c *cli.Context) config.Config {
	cfg := config.FromEnv(e.getenv)
	if e.project.Migrations != "" {
		cfg.MigrationsDir = e.project.Migrations
	}
	if len(e.project.Dialects) > 0 && strings.TrimSpace(e.getenv("WEBER_DIALECTS")) == "" {
		cfg.Dialects = append([]string(nil), e.project.Dialects...)
	}
	if v, ok := global(c, "database-url"); ok {
		cfg.DatabaseURL = v
	}
	if v, ok := global(c, "dir"); ok {
		cfg.MigrationsDir = v
	}
	if v, ok := global(c, "env"); ok {
		cfg.Env = v
	}
	cfg.Logger = e.logger(c)
	return cfg
}

// target resolves the configuration and parses its database URL.
func (e *env) target(c *cli.Context) (config.Config, *dbconn.URL, error) {
	cfg := e.config(c)
	u, err := dbconn.Parse(cfg.DatabaseURL)
	return cfg, u, err
}

// logger returns a debug logger on stderr with --verbose, else nil.
func (e *env) logger(c *cli.Context) *slog.Logger {
	if v, ok := global(c, "verbose"); ok && v == "true" {
		return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}
