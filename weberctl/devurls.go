package weberctl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/config"
	"github.com/weber-framework/weber/internal/dialect"
	"github.com/weber-framework/weber/internal/plan"
)

// devURLFlags name the servers where scratch databases may be created to
// replay the history (PostgreSQL and MySQL; SQLite uses memory).
func devURLFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "dev-postgres-url", Usage: "a PostgreSQL `URL` where a scratch database may be created and dropped (default: env " + dialect.Postgres.DevURLVar() + ")"},
		&cli.StringFlag{Name: "dev-mysql-url", Usage: "a MySQL `URL` where a scratch database may be created and dropped (default: env " + dialect.MySQL.DevURLVar() + ")"},
	}
}

// devURLFlag names the dev server for a command that works on one
// database, whatever its dialect.
func devURLFlag() cli.Flag {
	return &cli.StringFlag{Name: "dev-url", Usage: "a server `URL` of the target's dialect where a scratch database may be created and dropped (default: --dev-postgres-url / --dev-mysql-url, then env " + dialect.Postgres.DevURLVar() + " / " + dialect.MySQL.DevURLVar() + ")"}
}

// devURLFor returns the dev server for one dialect folder: --dev-url, then
// the dialect's own flag or variable.
func devURLFor(c *cli.Context, cfg config.Config, folder string) string {
	if v := c.String("dev-url"); v != "" {
		return v
	}
	return devURLs(c, cfg)[folder]
}

// devURLs returns the dev servers, the flags overriding the environment.
func devURLs(c *cli.Context, cfg config.Config) map[string]string {
	m := map[string]string{}
	for k, v := range cfg.DevURLs {
		m[k] = v
	}
	for _, d := range dialect.All() {
		if d.DevURLVar() == "" {
			continue // SQLite's dev database is in memory: no flag
		}
		if v := c.String("dev-" + d.Folder() + "-url"); v != "" {
			m[d.Folder()] = v
		}
	}
	return m
}

// devURLAdviceError is a missing dev server, told in the terms of the
// command that needed it: the engine's message suggests --dialect, which
// only the commands that span several dialects have.
type devURLAdviceError struct {
	msg string
	err error
}

func (e *devURLAdviceError) Error() string { return e.msg }
func (e *devURLAdviceError) Unwrap() error { return e.err }

// adviseDevURL rewrites a plan.MissingDevURLError in err so that it names
// only flags cmd has; other errors pass unchanged.
func adviseDevURL(e *env, cmd *cli.Command, err error) error {
	var missing *plan.MissingDevURLError
	if !errors.As(err, &missing) {
		return err
	}
	has := map[string]bool{}
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			has[n] = true
		}
	}
	how := "set " + missing.Variable
	switch {
	case has["dev-url"]:
		how = "pass --dev-url or set " + missing.Variable
	case has["dev-"+missing.Dialect+"-url"]:
		how = "pass --dev-" + missing.Dialect + "-url or set " + missing.Variable
	}
	advice := fmt.Sprintf("no dev database for %s: %s to a server where weberctl may create and drop scratch databases (e.g. %s)",
		missing.Dialect, how, devURLExample(missing.Dialect))
	advice += e.devHint(missing.Dialect)
	if has["dialect"] {
		advice += ", or leave " + missing.Dialect + " out with --dialect (e.g. --dialect sqlite) or WEBER_DIALECTS"
	}
	return &devURLAdviceError{msg: strings.Replace(err.Error(), missing.Error(), advice, 1), err: err}
}

func devURLExample(dialect string) string {
	if dialect == plan.MySQL {
		return "mysql://root:PASSWORD@127.0.0.1:3306/dev"
	}
	return "postgres://postgres:PASSWORD@127.0.0.1:5432/postgres"
}
