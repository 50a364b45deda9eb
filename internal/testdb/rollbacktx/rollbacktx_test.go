package rollbacktx_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/weber-framework/weber/ent"
	entmigrate "github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/ent/user"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/pgtemplate"
	"github.com/weber-framework/weber/internal/testdb/rollbacktx"
	"github.com/weber-framework/weber/internal/testdb/schemakey"
	"github.com/weber-framework/weber/internal/testdb/sqlitesnap"
	"github.com/weber-framework/weber/internal/testdb/templates"
)

// What this package is tested on is transaction behaviour, not where the
// schema comes from, so the tables are the models' own (created from a copy
// of entmigrate.Tables, which ent writes into); internal/testdb builds its
// databases from the real migration files.
func createSchema(ctx context.Context, db *sql.DB, dia string) error {
	tables, err := entschema.CopyTables(entmigrate.Tables)
	if err != nil {
		return err
	}
	return entmigrate.Create(ctx, ent.NewClient(ent.Driver(entsql.OpenDB(dia, db))).Schema, tables)
}

// databases returns a shared migrated database per configured backend.
func databases(t *testing.T) map[string]*sql.DB {
	t.Helper()
	ctx := context.Background()
	out := map[string]*sql.DB{}
	var c sqlitesnap.Cache
	tpl, err := c.Build(ctx, templates.Migrator{Hash: "rollbacktx", Migrate: func(ctx context.Context, db *sql.DB, _ *dbconn.URL) error {
		return createSchema(ctx, db, dialect.SQLite)
	}})
	if err != nil {
		t.Fatal(err)
	}
	// A file clone: a pool with several connections, to show that the rolled
	// back writes never reach the others.
	db, _, err := tpl.CloneFile(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	out[dialect.SQLite] = db
	if raw := os.Getenv("WEBER_TEST_POSTGRES_URL"); raw != "" {
		u, err := dbconn.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		s, err := pgtemplate.Open(ctx, u, pgtemplate.Options{Namespace: "rollbacktx-" + t.Name()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			s.DropTemplates(context.Background())
			s.Close()
		})
		name, err := s.Ensure(ctx, templates.Migrator{Hash: schemakey.Of("rollbacktx", "v1"), Migrate: func(ctx context.Context, db *sql.DB, _ *dbconn.URL) error {
			return createSchema(ctx, db, dialect.Postgres)
		}})
		if err != nil {
			t.Fatal(err)
		}
		clone, err := s.Clone(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		pdb, err := dbconn.Open(ctx, s.URL(clone))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			pdb.Close()
			s.Drop(context.Background(), clone)
		})
		out[dialect.Postgres] = pdb
	}
	return out
}

func TestRollbackUndoesEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for dia, db := range databases(t) {
		t.Run(dia, func(t *testing.T) {
			// Two tests writing the same unique email at once, each in its
			// own transaction on the shared database: they would collide
			// if anything were committed. The second waits for the first's
			// row lock on PostgreSQL, or for the write lock on SQLite, so
			// run them one after the other within the same database.
			for range 2 {
				d, err := rollbacktx.Begin(ctx, db, dia)
				if err != nil {
					t.Fatal(err)
				}
				client := ent.NewClient(ent.Driver(d))
				if _, err := client.User.Create().SetName("a").SetEmail("same@example.com").Save(ctx); err != nil {
					t.Fatalf("create inside the test transaction: %v", err)
				}
				if n := client.User.Query().Where(user.Email("same@example.com")).CountX(ctx); n != 1 {
					t.Fatalf("the test does not see its own write (%d rows)", n)
				}
				client.Close() // must not end the transaction
				if err := d.Rollback(); err != nil {
					t.Fatal(err)
				}
				if err := d.Rollback(); err != nil {
					t.Fatalf("a second Rollback must be harmless: %v", err)
				}
			}
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM users").Scan(&n); err != nil || n != 0 {
				t.Fatalf("after rollback the database holds %d users (%v)", n, err)
			}
		})
	}
}

func TestNestedTxIsASavepoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for dia, db := range databases(t) {
		t.Run(dia, func(t *testing.T) {
			d, err := rollbacktx.Begin(ctx, db, dia)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Rollback()
			client := ent.NewClient(ent.Driver(d))
			client.User.Create().SetName("kept").SetEmail("kept@example.com").SaveX(ctx)

			// Code under test commits its own transaction: released, kept.
			tx, err := client.Tx(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tx.User.Create().SetName("committed").SetEmail("c@example.com").SaveX(ctx)
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			// A constraint error inside a nested transaction, rolled back:
			// the outer transaction goes on (on PostgreSQL it would be
			// aborted without the savepoint).
			tx, err = client.Tx(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tx.User.Create().SetName("dup").SetEmail("kept@example.com").Save(ctx)
			if !ent.IsConstraintError(err) {
				t.Fatalf("want a unique violation, got %v", err)
			}
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			got := client.User.Query().Order(user.ByEmail()).Select(user.FieldEmail).StringsX(ctx)
			if len(got) != 2 || got[0] != "c@example.com" || got[1] != "kept@example.com" {
				t.Fatalf("after the nested transactions the test sees %v", got)
			}
		})
	}
}
