package weberctl

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/weber-framework/weber/config"
	"github.com/weber-framework/weber/engine"
	"github.com/weber-framework/weber/weberschema"
)

// Config is the configuration weberctl resolves (environment, then flags)
// and hands to the project's App: see the config package.
type Config = config.Config

// Project is what a project hands to weberctl: its models, its migration
// folder, and optionally its app and seed. Only Tables is required.
//
//	func main() {
//		weberctl.Main(weberctl.Project{
//			Tables:     migrate.Tables,
//			Migrations: "migrations",
//			App: func(ctx context.Context, db *sql.DB, dialect string, cfg weberctl.Config) (http.Handler, error) {
//				client := ent.NewClient(ent.Driver(entsql.OpenDB(dialect, db)))
//				return app.New(client, db, cfg.Logger), nil
//			},
//		})
//	}
type Project struct {
	// Name is the program's name in help and usage (default "weberctl").
	Name string
	// Tables are the models' tables: ent's migrate.Tables, generated with
	// the sql/versioned-migration feature. `db revision`, `db check`,
	// `db status`, `db verify` and `db schema` compare the history with
	// them.
	Tables []*entschema.Table
	// Renames are the renames the models declare with
	// weberschema.RenamedFrom (migrate.Renames where the project generates
	// it with Weber's ent template; optional): `db revision` writes them
	// as RENAME instead of a drop and an add.
	Renames []weberschema.Rename
	// DataMigrations are the project's data migrations written in Go, by
	// the name their `-- weber:go NAME` file gives (optional): every
	// command that runs or rehearses the history runs them.
	DataMigrations map[string]engine.DataMigration
	// Migrations is the folder holding one migration folder per dialect,
	// relative to the working directory (default "migrations"; --dir and
	// nothing else overrides it).
	Migrations string
	// Dialects are the dialects whose history the project keeps: sqlite,
	// postgres, mysql (default: all three; WEBER_DIALECTS overrides it).
	Dialects []string
	// App returns the HTTP handler `serve` serves, on db, a pool opened on
	// the configured database (dialect is ent's dialect name: "sqlite3",
	// "postgres" or "mysql"). While migration files are pending, serve
	// answers GET /readyz itself with 503; otherwise the handler answers
	// it. Nil: serve refuses, saying so.
	App func(ctx context.Context, db *sql.DB, dialect string, cfg Config) (http.Handler, error)
	// Seed fills db with the project's demo rows for env (`db seed`, and
	// `db reset` after the rebuild); it should run in one transaction, so
	// that an error keeps nothing, and leave the same rows when run twice.
	// Nil: db seed refuses, and db reset does not seed.
	Seed func(ctx context.Context, db *sql.DB, dialect string, env string) (*SeedResult, error)
}

// SeedResult is what a Project's Seed did, table by table, in the order
// `db seed` lists them.
type SeedResult struct {
	// Env is the environment the seed ran for.
	Env string
	// Tables count, per table, the rows created and those already there.
	Tables []SeedCount
}

// SeedCount is one table's row counts in a SeedResult.
type SeedCount struct {
	// Table names the table in the plural, e.g. "users": the key in
	// --json, and the noun of the summary ("created 2 users").
	Table string
	// One is the noun for one row, e.g. "user" (default: Table).
	One string
	// Created counts the rows the seed inserted.
	Created int
	// Existing counts the seed's rows that were already there.
	Existing int
}

// Main runs weberctl for p on the process's arguments, environment and
// standard streams, and exits with its status: the one place that exits.
// SIGINT and SIGTERM cancel the command (a second one exits at once).
func Main(p Project) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go exitOnSecondSignal(ctx, os.Stderr)
	code := Run(ctx, p, os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// Run runs the command line args (args[0] is the program's name) for p and
// returns the exit status: 0 on success, 2 for a usage mistake, 130 when
// interrupted, 1 otherwise. It writes one line `weberctl: <message>` to
// stderr on failure, never a password. getenv reads the environment
// (os.Getenv, or a map in tests).
//
// One process runs one command at a time: urfave/cli keeps its help and
// version flags in package variables.
func Run(ctx context.Context, p Project, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(p.Tables) == 0 && usesModels(args) {
		fmt.Fprintf(stderr, "weberctl: this project gives weberctl no models: set Tables: migrate.Tables (ent's, generated with --feature sql/versioned-migration) in the weberctl.Project of its %s main.go\n", p.name())
		return exitFailure
	}
	e := &env{project: p, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, isTerminal: isTerminal(stdin), progress: isTerminalWriter(stderr)}
	return e.run(ctx, args)
}

// usesModels reports whether the command line runs a command that reads
// the models (db and serve; not help, version, new or completion).
func usesModels(args []string) bool {
	for _, a := range args[min(1, len(args)):] {
		if strings.HasPrefix(a, "-") {
			continue
		}
		return a == "db" || a == "serve"
	}
	return false
}

// name is the program's name in help.
func (p Project) name() string {
	if p.Name == "" {
		return "weberctl"
	}
	return p.Name
}

// errNoApp is serve's refusal for a project without an App.
func errNoApp(p Project) error {
	return fmt.Errorf("serve: this project gives weberctl no app to serve: set App in the weberctl.Project of its %s main.go (see the weberctl package documentation)", p.name())
}
