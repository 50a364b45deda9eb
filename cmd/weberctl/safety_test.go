package main

// Issue 10's safety findings, through the binary: system databases,
// environment marks that only move up, and SQLite paths that upgrade
// never invents.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
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
	forEachE2E(t, func(t *testing.T, p *project) {
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

// `db upgrade` on SQLite never creates folders; in production it refuses a
// missing file; elsewhere it creates the file and says so first.
func TestE2EUpgradeNeverInventsAnSQLiteDatabase(t *testing.T) {
	t.Parallel()
	forEachE2E(t, func(t *testing.T, p *project) {
		if p.u.Dialect != dialect.SQLite {
			t.Skip("SQLite paths only")
		}
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

		r = p.must("db", "upgrade", "--database-url", "sqlite://"+file)
		first, _, _ := strings.Cut(r.stdout, "\n")
		if !strings.HasPrefix(first, "Created the SQLite database") {
			t.Errorf("upgrade creating the file: first line %q; want it to say so", first)
		}
	})
}
