package importhist_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// clientDB opens the database as the tools' own drivers do: a connection
// that runs a whole section of several statements in one Exec
// (PostgreSQL's simple protocol, MySQL's multiStatements, SQLite as is).
func clientDB(t *testing.T, b testserver.Backend, u *dbconn.URL) *sql.DB {
	t.Helper()
	if b.URL == "" {
		db, err := dbconn.Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	raw, err := b.URLOf(u.Database)
	if err != nil {
		t.Fatal(err)
	}
	driver, dsn := "pgx", raw
	if b.Name == "postgres" {
		sep := "?"
		if strings.Contains(raw, "?") {
			sep = "&"
		}
		dsn += sep + "default_query_exec_mode=simple_protocol"
	} else {
		pu, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		cfg := mysql.NewConfig()
		cfg.User = pu.User.Username()
		cfg.Passwd, _ = pu.User.Password()
		cfg.Net, cfg.Addr, cfg.DBName = "tcp", pu.Host, strings.TrimPrefix(pu.Path, "/")
		cfg.MultiStatements = true
		driver, dsn = "mysql", cfg.FormatDSN()
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// applyAsTool applies the first n steps as tool would, with the
// database's own driver, and keeps the tool's version table as the tool
// keeps it.
func applyAsTool(t *testing.T, db *sql.DB, folder, tool string, steps []step, n int) {
	t.Helper()
	createVersionTable(t, db, folder, tool)
	vs := versions(tool, len(steps))
	for i, s := range steps[:n] {
		switch tool {
		case "golang-migrate":
			applyAsGolangMigrate(t, db, s, vs[i])
		case "goose":
			applyAsGoose(t, db, s, strings.TrimLeft(vs[i], "0"))
		case "dbmate":
			applyAsDbmate(t, db, s, vs[i])
		}
	}
}

// run executes query through q, failing the test on error.
func run(t *testing.T, q execer, query string, args ...any) {
	t.Helper()
	if _, err := q.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("running as the tool: %v\n%s", err, query)
	}
}

// createVersionTable creates the tool's table as the tool does.
func createVersionTable(t *testing.T, db *sql.DB, folder, tool string) {
	t.Helper()
	switch {
	case tool == "golang-migrate" && folder == "sqlite":
		run(t, db, "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool)")
		run(t, db, "CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version)")
	case tool == "golang-migrate":
		run(t, db, "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint not null primary key, dirty boolean not null)")
	case tool == "goose" && folder == "sqlite":
		run(t, db, "CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')))")
	case tool == "goose":
		run(t, db, "CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NULL default now(), PRIMARY KEY(id))")
	case tool == "dbmate":
		run(t, db, "CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) PRIMARY KEY)")
	}
	if tool == "goose" {
		run(t, db, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true)")
	}
}

// applyAsGolangMigrate marks the version dirty, runs the file whole, then
// clears the flag, as golang-migrate does.
func applyAsGolangMigrate(t *testing.T, db *sql.DB, s step, version string) {
	t.Helper()
	run(t, db, "DELETE FROM schema_migrations")
	run(t, db, "INSERT INTO schema_migrations (version, dirty) VALUES ("+version+", true)")
	up := strings.Join(s.stmts, "\n\n")
	if s.wrap {
		up = "BEGIN;\n" + up + "\nCOMMIT;"
	}
	run(t, db, up)
	run(t, db, "DELETE FROM schema_migrations")
	run(t, db, "INSERT INTO schema_migrations (version, dirty) VALUES ("+version+", false)")
}

// applyAsGoose runs the statements one by one, in a transaction with the
// log row unless NO TRANSACTION, as goose does.
func applyAsGoose(t *testing.T, db *sql.DB, s step, version string) {
	t.Helper()
	var q execer = db
	var tx *sql.Tx
	if !s.noTx {
		var err error
		if tx, err = db.BeginTx(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		q = tx
	}
	for _, st := range stmtsFor("goose", s) {
		run(t, q, st)
	}
	run(t, q, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ("+version+", true)")
	if tx != nil {
		must(t, tx.Commit())
	}
}

// applyAsDbmate runs the up section whole, in a transaction with its row
// unless transaction:false, as dbmate does.
func applyAsDbmate(t *testing.T, db *sql.DB, s step, version string) {
	t.Helper()
	up := strings.Join(s.stmts, "\n\n")
	if s.noTx {
		run(t, db, up)
		run(t, db, "INSERT INTO schema_migrations (version) VALUES ('"+version+"')")
		return
	}
	tx, err := db.BeginTx(context.Background(), nil)
	must(t, err)
	run(t, tx, up)
	run(t, tx, "INSERT INTO schema_migrations (version) VALUES ('"+version+"')")
	must(t, tx.Commit())
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// dumpSchema describes the schema from the catalogs: tables, columns,
// indexes, constraints, triggers and functions, leaving out the tables
// named in skip.
func dumpSchema(t *testing.T, db *sql.DB, folder string, skip ...string) string {
	t.Helper()
	var queries []string
	switch folder {
	case "sqlite":
		queries = []string{"SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"}
	case "postgres":
		queries = []string{
			"SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '') FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, ordinal_position",
			"SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1, 2",
			"SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2",
			"SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2",
			"SELECT proname, pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = current_schema()::regnamespace ORDER BY 1",
		}
	case "mysql":
		queries = []string{
			"SELECT table_name, column_name, column_type, is_nullable, coalesce(column_default, ''), extra FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY 1, ordinal_position",
			"SELECT table_name, index_name, non_unique, seq_in_index, column_name FROM information_schema.statistics WHERE table_schema = DATABASE() ORDER BY 1, 2, 4",
			"SELECT table_name, constraint_name, referenced_table_name, update_rule, delete_rule FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE() ORDER BY 1, 2",
			"SELECT event_object_table, trigger_name, action_timing, event_manipulation, action_statement FROM information_schema.triggers WHERE trigger_schema = DATABASE() ORDER BY 1, 2",
		}
	}
	var lines []string
	for _, q := range queries {
		rows, err := db.QueryContext(context.Background(), q)
		if err != nil {
			t.Fatalf("dumping the schema: %v\n%s", err, q)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			parts := make([]string, len(vals))
			for i, v := range vals {
				parts[i] = v.String
			}
			if !skipped(parts, skip) {
				lines = append(lines, strings.Join(parts, " | "))
			}
		}
		rows.Close()
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// skipped reports a catalog row about one of the skipped tables.
func skipped(parts, skip []string) bool {
	for _, p := range parts {
		for _, s := range skip {
			if p == s {
				return true
			}
		}
	}
	return false
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Sprint(err))
	}
}
