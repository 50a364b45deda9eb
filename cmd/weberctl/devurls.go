package main

import (
	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/app"
)

// devURLFlags name the servers where scratch databases may be created to
// replay the history (PostgreSQL and MySQL; SQLite uses memory).
func devURLFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "dev-postgres-url", Usage: "a PostgreSQL `URL` where a scratch database may be created and dropped (default: env WEBER_DEV_POSTGRES_URL)"},
		&cli.StringFlag{Name: "dev-mysql-url", Usage: "a MySQL `URL` where a scratch database may be created and dropped (default: env WEBER_DEV_MYSQL_URL)"},
	}
}

// devURLFlag names the dev server for a command that works on one
// database, whatever its dialect.
func devURLFlag() cli.Flag {
	return &cli.StringFlag{Name: "dev-url", Usage: "a server `URL` of the target's dialect where a scratch database may be created and dropped (default: --dev-postgres-url / --dev-mysql-url, then env WEBER_DEV_POSTGRES_URL / WEBER_DEV_MYSQL_URL)"}
}

// devURLFor returns the dev server for one dialect folder: --dev-url, then
// the dialect's own flag or variable.
func devURLFor(c *cli.Context, cfg app.Config, folder string) string {
	if v := c.String("dev-url"); v != "" {
		return v
	}
	return devURLs(c, cfg)[folder]
}

// devURLs returns the dev servers, the flags overriding the environment.
func devURLs(c *cli.Context, cfg app.Config) map[string]string {
	m := map[string]string{}
	for k, v := range cfg.DevURLs {
		m[k] = v
	}
	if v := c.String("dev-postgres-url"); v != "" {
		m["postgres"] = v
	}
	if v := c.String("dev-mysql-url"); v != "" {
		m["mysql"] = v
	}
	return m
}
