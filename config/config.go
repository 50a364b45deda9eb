// Package config is the configuration a Weber project runs with: which
// database, which migration folder and dialects, which dev servers, where
// serve listens, which environment. weberctl builds it from the
// environment (FromEnv) and its flags, and hands it to the project's app.
package config

import (
	"log/slog"
	"strings"

	"github.com/weber-framework/weber/internal/dialect"
)

// DefaultDatabaseURL is the embedded default: an SQLite file inside the
// project (var/ is ignored by git). Nothing needs installing to use it.
const DefaultDatabaseURL = "sqlite://var/weber.db"

// DefaultAddr is where `weberctl serve` listens unless told otherwise.
const DefaultAddr = "127.0.0.1:8080"

// DefaultDialects returns the dialects whose migration history a project
// keeps unless it says otherwise (weberctl.Project.Dialects, or
// WEBER_DIALECTS=sqlite,postgres): one folder each under the migrations
// directory.
func DefaultDialects() []string {
	return []string{dialect.SQLite.String(), dialect.Postgres.String(), dialect.MySQL.String()}
}

// Config is everything the application and weberctl need to know about
// where they run. It is the one place to look to see which database the app
// uses. The zero value is not useful: build it with FromEnv and override
// fields from flags.
type Config struct {
	// DatabaseURL is the database the app and weberctl use:
	// WEBER_DATABASE_URL, then DATABASE_URL, then DefaultDatabaseURL.
	DatabaseURL string
	// MigrationsDir holds one folder of migration files per kept dialect
	// (default "migrations").
	MigrationsDir string
	// Dialects are the kept dialects: sqlite, postgres, mysql
	// (WEBER_DIALECTS, comma-separated; default DefaultDialects).
	Dialects []string
	// DevURLs name, per dialect, a server where `db revision` and
	// `db verify` may create scratch databases (WEBER_DEV_POSTGRES_URL,
	// WEBER_DEV_MYSQL_URL). SQLite needs none: it uses memory.
	DevURLs map[string]string
	// Addr is where `serve` listens (WEBER_ADDR, default DefaultAddr).
	Addr string
	// Env names the environment, e.g. "production" (WEBER_ENV). It is
	// recorded in the database by ensure and upgrade, and a database
	// recorded as production refuses `db drop` without --force-production.
	Env string
	// Logger receives the request log and errors; nil discards.
	Logger *slog.Logger
}

// FromEnv reads the configuration from the environment through getenv
// (os.Getenv in production, a map in tests).
func FromEnv(getenv func(string) string) Config {
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := strings.TrimSpace(getenv(k)); v != "" {
				return v
			}
		}
		return ""
	}
	c := Config{
		DatabaseURL:   first("WEBER_DATABASE_URL", "DATABASE_URL"),
		MigrationsDir: "migrations",
		Dialects:      DefaultDialects(),
		DevURLs:       map[string]string{},
		Addr:          first("WEBER_ADDR"),
		Env:           first("WEBER_ENV"),
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = DefaultDatabaseURL
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if d := first("WEBER_DIALECTS"); d != "" {
		c.Dialects = nil
		for _, p := range strings.Split(d, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.Dialects = append(c.Dialects, p)
			}
		}
	}
	for _, d := range dialect.All() {
		if k := d.DevURLVar(); k != "" {
			if v := first(k); v != "" {
				c.DevURLs[d.Folder()] = v
			}
		}
	}
	return c
}

// IsEmbeddedDefault reports whether the app runs on an SQLite database, the
// development default, where `serve` may bring the schema up to date itself.
func (c Config) IsEmbeddedDefault() bool {
	return strings.HasPrefix(c.DatabaseURL, "sqlite://") || strings.HasPrefix(c.DatabaseURL, "sqlite3://")
}
