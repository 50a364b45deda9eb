package weberctl

// Issue 10's safety findings, through the binary: system databases,
// environment marks that only move up, and SQLite paths that upgrade
// never invents.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// Every command that drops, creates or writes a database refuses the
// servers' own databases, whatever the flags. The URLs point at port 1,
// where nothing listens: the refusal must come from the name alone, before
// any connection, so a wrong build fails with "connection refused" and
// never touches a real server's `mysql` schema.
func TestE2ESystemDatabasesAreRefused(t *testing.T) {
	t.Parallel()
	skipShort(t)
	p := newProject(t, e2eBackend{name: "sqlite", newURL: func(t *testing.T, dir string) string {
		return "sqlite://" + filepath.Join(dir, "var", "app.db")
	}})
	type attempt struct {
		url  string
		args []string
	}
	var attempts []attempt
	for _, name := range []string{"mysql", "sys", "performance_schema", "information_schema"} {
		u := "mysql://root:pw@127.0.0.1:1/" + name
		attempts = append(attempts,
			attempt{u, []string{"db", "drop", "--yes", "--force-production"}},
			attempt{u, []string{"db", "ensure"}},
			attempt{u, []string{"db", "upgrade"}},
			attempt{u, []string{"db", "mark", "--env", "development", "--force"}})
	}
	for _, name := range []string{"postgres", "template0", "template1"} {
		attempts = append(attempts, attempt{"postgres://u:pw@127.0.0.1:1/" + name, []string{"db", "drop", "--yes", "--force-production"}})
	}
	for _, name := range []string{"template0", "template1"} {
		u := "postgres://u:pw@127.0.0.1:1/" + name
		attempts = append(attempts,
			attempt{u, []string{"db", "ensure"}},
			attempt{u, []string{"db", "upgrade"}})
	}
	for _, a := range attempts {
		r := p.run(append(a.args, "--database-url", a.url)...)
		if r.code != 1 || !strings.Contains(r.stderr, "is a system database of the server") || strings.Contains(r.stderr, "refused") {
			t.Errorf("weberctl %s on %s: exit %d, stderr %q; want a refusal naming the system database, before connecting",
				strings.Join(a.args, " "), a.url, r.code, r.stderr)
			continue
		}
		assertOneErrorLine(t, r.stderr)
	}
}

// A production mark survives a later `db upgrade --env dev` and
// `WEBER_ENV=staging db ensure`, each saying so; `db drop --yes` keeps
// refusing; only `db mark --env staging --force` lowers it.
func TestE2EProductionMarkIsNeverLoweredSilently(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.env = devEnv()
		p.must("db", "ensure")
		p.must("db", "upgrade", "--env", "production")

		r := p.must("db", "upgrade", "--env", "dev")
		if !strings.Contains(r.stderr, `marked "production"`) || !strings.Contains(r.stderr, "db mark --env dev --force") {
			t.Errorf("upgrade --env dev on a production database did not say the mark stays:\n%s", r.stderr)
		}
		r = p.runEnv([]string{"WEBER_ENV=staging"}, "db", "ensure")
		if r.code != 0 || !strings.Contains(r.stdout, `Kept the environment mark "production"`) {
			t.Errorf("WEBER_ENV=staging db ensure: exit %d, stdout:\n%s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		r = p.runEnv([]string{"WEBER_ENV=staging"}, "db", "status", "--skip-models")
		if !strings.Contains(r.stderr, `is marked "production", and this command runs as "staging"`) {
			t.Errorf("db status as staging on a production database did not note the mark:\n%s", r.stderr)
		}
		if r := p.run("db", "drop", "--yes"); r.code != 1 || !strings.Contains(r.stderr, "--force-production") {
			t.Fatalf("drop --yes after the lower runs: exit %d, stderr %q; want the production refusal", r.code, r.stderr)
		}
		if r := p.must("db", "mark"); !strings.Contains(r.stdout, `is marked "production"`) {
			t.Errorf("db mark printed %q", r.stdout)
		}

		// WEBER_ENV is not an explicit lowering, and neither is --env alone.
		if r := p.runEnv([]string{"WEBER_ENV=staging"}, "db", "mark", "--force"); r.code != 2 {
			t.Errorf("db mark --force with only WEBER_ENV: exit %d, stderr %q; want a usage error", r.code, r.stderr)
		}
		r = p.run("db", "mark", "--env", "staging")
		if r.code != 1 || !strings.Contains(r.stderr, "--force") {
			t.Errorf("db mark --env staging without --force: exit %d, stderr %q", r.code, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		if r := p.must("db", "mark", "--env", "staging", "--force"); !strings.Contains(r.stdout, `as "staging" (it was "production")`) {
			t.Errorf("db mark --env staging --force printed %q", r.stdout)
		}
		p.must("db", "drop", "--yes")
		if p.exists() {
			t.Error("the database still exists after the mark was lowered and it was dropped")
		}
	})
}

// `db upgrade` on SQLite never creates folders; in production it (and
// serve) refuses a missing file; elsewhere it creates the file and says so
// first, and a dry run creates nothing.
func TestE2EUpgradeNeverInventsAnSQLiteDatabase(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		missing := filepath.Join(p.dir, "no", "such", "dir", "x.db")
		r := p.run("db", "upgrade", "--database-url", "sqlite://"+missing)
		if r.code != 1 || !strings.Contains(r.stderr, "does not exist") || !strings.Contains(r.stderr, "mkdir -p") {
			t.Errorf("upgrade into a missing folder: exit %d, stderr %q", r.code, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		if _, err := os.Stat(filepath.Join(p.dir, "no")); !os.IsNotExist(err) {
			t.Errorf("upgrade created a folder: %v", err)
		}

		file := filepath.Join(p.dir, "prod.db")
		for _, env := range [][]string{{"--env", "production"}, nil} {
			args := append([]string{"db", "upgrade", "--database-url", "sqlite://" + file}, env...)
			r = p.runEnv([]string{"WEBER_ENV=production"}, args...)
			if r.code != 1 || !strings.Contains(r.stderr, "production") || !strings.Contains(r.stderr, "does not exist") {
				t.Errorf("production upgrade of a missing file (%v): exit %d, stderr %q", env, r.code, r.stderr)
			}
			if _, err := os.Stat(file); !os.IsNotExist(err) {
				t.Fatalf("a refused production upgrade created %s", file)
			}
		}

		// serve on SQLite brings the schema up itself; not in production.
		r = p.runEnv([]string{"WEBER_ENV=production"}, "serve", "--addr", "127.0.0.1:0", "--database-url", "sqlite://"+file)
		if r.code != 1 || !strings.Contains(r.stderr, "does not create a production database") {
			t.Errorf("serve in production on a missing file: exit %d, stderr %q", r.code, r.stderr)
		}
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Fatalf("a refused production serve created %s", file)
		}

		r = p.must("db", "upgrade", "--dry-run", "--database-url", "sqlite://"+file)
		if !strings.Contains(r.stdout, "this dry run creates nothing") || !strings.Contains(r.stdout, "would apply") {
			t.Errorf("dry run on a missing file:\n%s", r.stdout)
		}
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Fatalf("a dry run created %s", file)
		}

		r = p.must("db", "upgrade", "--database-url", "sqlite://"+file)
		first, _, _ := strings.Cut(r.stdout, "\n")
		if !strings.HasPrefix(first, "Created the SQLite database") {
			t.Errorf("upgrade creating the file: first line %q; want it to say so", first)
		}
	}, testserver.Except(testserver.Postgres, "SQLite paths only"), testserver.Except(testserver.MySQL, "SQLite paths only"))
}

// runFileByHand runs a migration file's statements on the project's
// database, as `db ensure` makes them from the models before the revision
// is written.
func runFileByHand(t *testing.T, p *project, name string) {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(p.folder(), name))
	if err != nil {
		t.Fatal(err)
	}
	db := p.open()
	for _, stmt := range strings.Split(string(text), ";\n") {
		if strings.TrimSpace(stripComments(stmt)) == "" {
			continue
		}
		if _, err := db.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("running %s by hand: %v", name, err)
		}
	}
}

func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// On PostgreSQL and MySQL without a dev server, a pending file whose
// changes the database already has fails; the advice names the dev URL,
// which fixes it losing nothing, before the ways that lose data.
func TestE2EEnsureAdvisesTheDevURLFirst(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		variable := "WEBER_DEV_POSTGRES_URL"
		if p.u.Dialect == dialect.MySQL {
			variable = "WEBER_DEV_MYSQL_URL"
		}
		if _, err := dbconn.EnsureDatabase(t.Context(), p.u); err != nil {
			t.Fatal(err)
		}
		p.must("db", "upgrade", "--to", devloopFirst)
		runFileByHand(t, p, devloopSecond)
		r := p.run("db", "ensure")
		if r.code != 1 || !strings.Contains(r.stderr, "set "+variable) || !strings.Contains(r.stderr, "losing nothing") {
			t.Fatalf("db ensure without a dev URL: exit %d, stderr %q; want the dev URL named first", r.code, r.stderr)
		}
		if i, j := strings.Index(r.stderr, variable), strings.Index(r.stderr, "db drop"); j >= 0 && j < i {
			t.Errorf("the advice names db drop (data loss) before the dev URL: %q", r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		p.env = devEnv()
		if r := p.must("db", "ensure"); !strings.Contains(r.stdout, devloopAdopted) {
			t.Errorf("db ensure with the dev URL set:\n%s", r.stdout)
		}
	}, testserver.Except(testserver.SQLite, "SQLite needs no dev server"))
}

// A database with tables of its own and no history: ensure refuses in one
// line naming the tables and the baseline, and changes nothing.
func TestE2EEnsureRefusesAnUntrackedDatabase(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		if _, err := dbconn.EnsureDatabase(t.Context(), p.u); err != nil {
			t.Fatal(err)
		}
		db := p.open()
		for _, stmt := range []string{"CREATE TABLE users (id integer PRIMARY KEY, legacy text)", "CREATE TABLE orders (id integer PRIMARY KEY)"} {
			if _, err := db.ExecContext(t.Context(), stmt); err != nil {
				t.Fatal(err)
			}
		}
		r := p.run("db", "ensure")
		if r.code != 1 || !strings.Contains(r.stderr, "(orders, users)") || !strings.Contains(r.stderr, "--baseline") {
			t.Fatalf("db ensure on an untracked database: exit %d, stderr %q", r.code, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		if ok, err := dbconn.TableExists(t.Context(), db, p.u.Dialect, "posts"); err != nil || ok {
			t.Errorf("a refused ensure created the models' tables (posts: %v, %v)", ok, err)
		}
	})
}

// After switching branches, an applied file missing from the folder: in
// development ensure (and upgrade with a development environment) names
// the development ways out; upgrade without an environment, and anything
// on a database marked production, only the production advice.
func TestE2EEnsureMissingAppliedFileAdvice(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.env = devEnv()
		p.must("db", "ensure")
		p.addMigration("20301201000000_branch_a.sql", "CREATE TABLE branch_a (id integer PRIMARY KEY);\n")
		p.must("db", "ensure")
		if err := os.Remove(filepath.Join(p.folder(), "20301201000000_branch_a.sql")); err != nil {
			t.Fatal(err)
		}
		p.addMigration("20301202000000_branch_b.sql", "CREATE TABLE branch_b (id integer PRIMARY KEY);\n")

		r := p.run("db", "ensure")
		got := outcomeOf(r, nil, []string{"20301201000000_branch_a.sql", "switch back to the branch", "db drop --yes && weberctl db ensure"})
		if diff := cmp.Diff(outcome{Code: 1, StderrLines: 1}, got); diff != "" {
			t.Errorf("db ensure in development: want the development ways out (-want +got):\n%s\nstderr: %s", diff, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		r = p.run("db", "upgrade", "--env", "development")
		if r.code != 1 || !strings.Contains(r.stderr, "switch back to the branch") {
			t.Errorf("db upgrade --env development: exit %d, stderr %q; want the development ways out", r.code, r.stderr)
		}
		for i, args := range [][]string{{"db", "upgrade"}, {"db", "ensure", "--env", "production"}, {"db", "upgrade", "--env", "dev"}} {
			if i == 2 {
				p.must("db", "mark", "--env", "production")
			}
			r = p.run(args...)
			if r.code != 1 || !strings.Contains(r.stderr, "restore the file") || strings.Contains(r.stderr, "db drop") {
				t.Errorf("weberctl %s: exit %d, stderr %q; want the production advice alone", strings.Join(args, " "), r.code, r.stderr)
			}
		}
	})
}

// Revising the dialects one at a time gives each its own version; `db
// check` refuses that, naming the file each folder lacks, even when it
// checks only SQLite (no dev servers).
func TestE2ECheckRefusesVersionsThatDifferAcrossDialects(t *testing.T) {
	t.Parallel()
	skipShort(t)
	p := newProject(t, e2eBackend{name: "sqlite", newURL: func(t *testing.T, dir string) string {
		return "sqlite://" + filepath.Join(dir, "var", "app.db")
	}})
	if r := p.must("db", "check", "--dialect", "sqlite"); !strings.Contains(r.stdout, "OK") {
		t.Fatalf("precondition: the project's history passes:\n%s", r.stdout)
	}
	const noop = "UPDATE users SET name = name WHERE 1 = 0;\n"
	write := func(folder, name string) {
		if err := os.WriteFile(filepath.Join(p.dir, "migrations", folder, name), []byte(noop), 0o644); err != nil {
			t.Fatal(err)
		}
		p.must("db", "hash", "--dialect", folder)
	}
	write("sqlite", "20301201000000_touch.sql")
	write("postgres", "20301201000100_touch.sql")
	write("mysql", "20301201000000_touch.sql")

	r := p.run("db", "check", "--dialect", "sqlite")
	if r.code != 1 {
		t.Fatalf("db check with differing versions: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"version 20301201000000 (migrations/sqlite/20301201000000_touch.sql, migrations/mysql/20301201000000_touch.sql) is missing from migrations/postgres",
		"version 20301201000100 (migrations/postgres/20301201000100_touch.sql) is missing from migrations/sqlite, migrations/mysql",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("db check does not say %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "weberctl db revision") {
		t.Errorf("db check does not name the fix:\n%s", r.stdout)
	}
}
