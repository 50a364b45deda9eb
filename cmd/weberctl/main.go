// Command weberctl is Weber's example project's weberctl: every command of
// the weberctl library on the example's models, migrations, app and seed.
// Run `weberctl --help`.
package main

import (
	"context"
	"database/sql"
	"net/http"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/weber-framework/weber/app"
	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/migrations/data"
	"github.com/weber-framework/weber/weberctl"
)

func main() {
	weberctl.Main(weberctl.Project{
		Tables:         migrate.Tables,
		Renames:        migrate.Renames,
		DataMigrations: data.Migrations(),
		Migrations:     "migrations",
		App: func(ctx context.Context, db *sql.DB, dialect string, cfg weberctl.Config) (http.Handler, error) {
			a, err := app.New(ent.NewClient(ent.Driver(entsql.OpenDB(dialect, db))), db, cfg)
			if err != nil {
				return nil, err
			}
			return a.Handler(), nil
		},
		Seed: func(ctx context.Context, db *sql.DB, dialect, env string) (*weberctl.SeedResult, error) {
			r, err := app.Seed(ctx, ent.NewClient(ent.Driver(entsql.OpenDB(dialect, db))), env)
			if err != nil {
				return nil, err
			}
			return &weberctl.SeedResult{Env: r.Env, Tables: []weberctl.SeedCount{
				{Table: "users", One: "user", Created: r.Created.Users, Existing: r.Existing.Users},
				{Table: "tags", One: "tag", Created: r.Created.Tags, Existing: r.Existing.Tags},
				{Table: "posts", One: "post", Created: r.Created.Posts, Existing: r.Existing.Posts},
			}}, nil
		},
	})
}
