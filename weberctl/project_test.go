package weberctl

import (
	"context"
	"database/sql"
	"io"
	"net/http"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/weber-framework/weber/app"
	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/migrations/data"
)

// weberProject is Weber's own project, as cmd/weberctl/main.go hands it to Main.
func weberProject() Project {
	return Project{
		Tables:         migrate.Tables,
		Renames:        migrate.Renames,
		DataMigrations: data.Migrations(),
		Migrations:     "migrations",
		App: func(ctx context.Context, db *sql.DB, dialect string, cfg Config) (http.Handler, error) {
			a, err := app.New(ent.NewClient(ent.Driver(entsql.OpenDB(dialect, db))), db, cfg)
			if err != nil {
				return nil, err
			}
			return a.Handler(), nil
		},
		Seed: func(ctx context.Context, db *sql.DB, dialect, env string) (*SeedResult, error) {
			r, err := app.Seed(ctx, ent.NewClient(ent.Driver(entsql.OpenDB(dialect, db))), env)
			if err != nil {
				return nil, err
			}
			return &SeedResult{Env: r.Env, Tables: []SeedCount{
				{Table: "users", One: "user", Created: r.Created.Users, Existing: r.Existing.Users},
				{Table: "tags", One: "tag", Created: r.Created.Tags, Existing: r.Existing.Tags},
				{Table: "posts", One: "post", Created: r.Created.Posts, Existing: r.Existing.Posts},
			}}, nil
		},
	}
}

// run runs the command line for Weber's own project (Run with
// weberProject), as the binary built from cmd/weberctl does.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return Run(ctx, weberProject(), args, stdin, stdout, stderr, getenv)
}
