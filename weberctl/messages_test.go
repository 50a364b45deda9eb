package weberctl

// ISSUE 10.11: messages that misled, each through the binary.

import (
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// commandAt finds the command at path (e.g. db downgrade) in weberctl's tree.
func commandAt(t *testing.T, path ...string) *cli.Command {
	t.Helper()
	cmds := newApp(&env{getenv: func(string) string { return "" }}).Commands
	var cmd *cli.Command
	for _, name := range path {
		cmd = nil
		for _, c := range cmds {
			if c.Name == name {
				cmd = c
			}
		}
		if cmd == nil {
			t.Fatalf("no command %v", path)
		}
		cmds = cmd.Subcommands
	}
	return cmd
}

// assertFlagsExist checks that every --flag a message suggests is a flag
// of the command that printed it.
func assertFlagsExist(t *testing.T, text string, path ...string) {
	t.Helper()
	cmd := commandAt(t, path...)
	has := map[string]bool{"help": true}
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			has[n] = true
		}
	}
	// Flags inside a suggested command line (`weberctl db upgrade --x`)
	// belong to that command, not this one.
	text = regexp.MustCompile("`weberctl [^`]*`").ReplaceAllString(text, "")
	for _, m := range regexp.MustCompile(`--[a-z][a-z-]*`).FindAllString(text, -1) {
		if !has[m[2:]] {
			t.Errorf("weberctl %s suggests %s, which it does not have: %q", strings.Join(path, " "), m, text)
		}
	}
}

// `db downgrade` without a dev server names its own --dev-url, not the
// --dialect of `db revision`.
func TestE2EMissingDevServerNamesTheCommandsOwnFlags(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "ensure")
		r := p.run("db", "downgrade")
		if r.code != 1 || !strings.Contains(r.stderr, "no dev database") || !strings.Contains(r.stderr, "--dev-url") {
			t.Fatalf("downgrade without a dev server: exit %d, %q", r.code, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		assertFlagsExist(t, r.stderr, "db", "downgrade")
	}, testserver.Except(testserver.SQLite, "SQLite needs no dev server"))
}

// folderName is the project's dialect folder: sqlite, postgres or mysql.
func (p *project) folderName() string { return filepath.Base(p.folder()) }

// verdictOf returns the verdict line of `db status`.
func verdictOf(t *testing.T, p *project) string {
	t.Helper()
	r := p.must("db", "status", "--skip-models", "--skip-live")
	for _, line := range strings.Split(r.stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "Verdict: "); ok {
			return v
		}
	}
	t.Fatalf("db status printed no verdict:\n%s", r.stdout)
	return ""
}

// The verdict advises `weberctl db upgrade` only when it would run: an
// out-of-order file needs --allow-out-of-order, an edited applied file must
// be fixed first. The out-of-order upgrade is summarised without a "from"
// newer than its "to".
func TestE2EStatusVerdictAdvisesAnUpgradeThatWouldRun(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "ensure")
		p.addMigration("20991231000002_b.sql", "CREATE TABLE b (id integer NOT NULL PRIMARY KEY);\n")
		p.must("db", "upgrade")
		p.addMigration("20991231000001_a.sql", "CREATE TABLE a (id integer NOT NULL PRIMARY KEY);\n")

		v := verdictOf(t, p)
		if strings.Contains(v, "(run `weberctl db upgrade`)") || !strings.Contains(v, "--allow-out-of-order") {
			t.Errorf("verdict with a file out of order: %q; want the advice to pass --allow-out-of-order", v)
		}
		if r := p.run("db", "upgrade"); r.code == 0 {
			t.Fatalf("db upgrade applied a file out of order without --allow-out-of-order:\n%s", r.stdout)
		}
		var dry upgradeView
		if err := json.Unmarshal([]byte(p.must("db", "upgrade", "--allow-out-of-order", "--dry-run", "--json").stdout), &dry); err != nil ||
			dry.Before != "20991231000002" || dry.After != "20991231000002" {
			t.Errorf("out-of-order dry run --json: before %q, after %q (%v); want the database at 20991231000002 both times", dry.Before, dry.After, err)
		}
		r := p.must("db", "upgrade", "--allow-out-of-order")
		if strings.Contains(r.stdout, "from 20991231000002 to 20991231000001") ||
			!strings.Contains(r.stdout, "applied out of order") || !strings.Contains(r.stdout, "stays at version 20991231000002") {
			t.Errorf("out-of-order upgrade summary:\n%s", r.stdout)
		}

		// An applied file edited (and re-hashed), and a new file pending.
		p.addMigration("20991231000002_b.sql", "CREATE TABLE b (id integer NOT NULL PRIMARY KEY, x integer NULL);\n")
		p.addMigration("20991231000003_c.sql", "CREATE TABLE c (id integer NOT NULL PRIMARY KEY);\n")
		v = verdictOf(t, p)
		if strings.Contains(v, "run `weberctl db upgrade`") || !strings.Contains(v, "1 file pending (an upgrade would refuse") {
			t.Errorf("verdict with an edited applied file: %q; want no advice to run the upgrade", v)
		}
		if r := p.run("db", "upgrade"); r.code != 1 {
			t.Errorf("db upgrade with an edited applied file: exit %d, want 1 (the verdict said it would refuse)", r.code)
		}
	})
}

// Completing a partially applied file does not say "from X to X".
func TestE2EResumedUpgradeSummary(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "ensure")
		const head = "-- atlas:txmode none\n\nCREATE TABLE resumed_a (id integer NOT NULL PRIMARY KEY);\n"
		p.addMigration("20991231000000_resume.sql", head+"INSERT INTO no_such_table VALUES (1);\n")
		if r := p.run("db", "upgrade"); r.code != 1 {
			t.Fatalf("the failing file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		p.addMigration("20991231000000_resume.sql", head+"CREATE TABLE resumed_b (id integer NOT NULL PRIMARY KEY);\n")
		r := p.must("db", "upgrade")
		if strings.Contains(r.stdout, "from 20991231000000 to 20991231000000") ||
			!strings.Contains(r.stdout, "completed 20991231000000_resume.sql, which was partially applied") {
			t.Errorf("resumed upgrade summary:\n%s", r.stdout)
		}
	})
}

// A count of one is "1 row", in the downgrade's plan and in the upgrade's
// refusal.
func TestE2EOneRowIsNotRows(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.env = devEnv()
		p.must("db", "ensure")
		db := p.open()
		p.insertUsers(db, 1)
		q := "INSERT INTO tags (name, description) VALUES ('go', 'the language')"
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		// Back to the first revision: the one after it added tags.description.
		r := p.must("db", "downgrade", "--dry-run", "--to", "20261127011300")
		if !strings.Contains(r.stdout, "DROP COLUMN tags.description (1 row)") || strings.Contains(r.stdout, "1 rows") {
			t.Errorf("downgrade plan:\n%s", r.stdout)
		}
		p.addMigration("20991231000000_drop.sql", "ALTER TABLE tags DROP COLUMN description;\n")
		r = p.run("db", "upgrade")
		if r.code != 1 || !strings.Contains(r.stderr, "holds data in 1 row") || strings.Contains(r.stderr, "1 rows") {
			t.Errorf("upgrade dropping a column with one value: exit %d\n%s", r.code, r.stderr)
		}
	})
}

// fakeServer listens on a local port and answers every connection with
// an HTTP error, as a server of the wrong kind would; it returns the port.
func fakeServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// URL and connection errors say what is wrong in the user's terms, once,
// on one line, without the password or a driver's artefacts.
func TestE2EURLAndConnectionMessages(t *testing.T) {
	t.Parallel()
	skipShort(t)
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.db")
	if err := os.WriteFile(notDB, []byte("my notes, not a database at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := fakeServer(t)
	cases := []struct{ name, url, want string }{
		{"slash in password", "postgres://weber:s3/cr3t@127.0.0.1:5432/app", `unencoded "/"`},
		{"digits and a slash in password", "postgres://weber:123/s3cr3t@127.0.0.1:5432/app", "percent-encode it as %2F"},
		{"question mark in password", "mysql://weber:s3?cr3t@127.0.0.1:3306/app", "percent-encode it as %3F"},
		{"postgres URL at another server", "postgres://weber:s3cr3t@127.0.0.1:" + port + "/app", "did not answer as PostgreSQL"},
		{"mysql URL at another server", "mysql://weber:s3cr3t@127.0.0.1:" + port + "/app", "did not answer as MySQL"},
		{"not an SQLite file", "sqlite://" + notDB, "notes.db is not an SQLite database: check the path"},
	}
	if raw := os.Getenv(testserver.EnvFor("mysql")); raw != "" {
		// The issue's own case: a postgres:// URL at the MySQL server's port.
		if pu, err := url.Parse(raw); err == nil && pu.Port() != "" {
			cases = append(cases, struct{ name, url, want string }{"postgres URL at the MySQL server",
				"postgres://weber:s3cr3t@" + pu.Host + "/app", "did not answer as PostgreSQL"})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &project{t: t, dir: dir, url: tc.url}
			r := p.run("db", "status")
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tc.want)
			}
			assertOneErrorLine(t, r.stderr)
			for _, bad := range []string{"s3cr3t", "cr3t", "%!", "port is not a number", "(not an SQLite database)", "[mysql]"} {
				if strings.Contains(r.stderr, bad) {
					t.Errorf("stderr holds %q: %q", bad, r.stderr)
				}
			}
		})
	}
}

// Only a port in use gets the advice about another server on the port.
func TestE2EServeListenErrors(t *testing.T) {
	t.Parallel()
	skipShort(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct{ addr, want string }{
		{busy.Addr().String(), "another server is using the port"},
		{"192.0.2.1:8080", "no network interface of this machine has that address"},
		{"127.0.0.1:99999", "write --addr as HOST:PORT"},
		{"127.0.0.1", "write --addr as HOST:PORT"},
	} {
		p := &project{t: t, dir: t.TempDir(), url: "sqlite://var/app.db"}
		r := p.run("serve", "--addr", tc.addr)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("serve --addr %s: exit %d, %q; want 1 and %q", tc.addr, r.code, r.stderr, tc.want)
		}
		if tc.want != "another server is using the port" && strings.Contains(r.stderr, "another server") {
			t.Errorf("serve --addr %s blames another server: %q", tc.addr, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
	}
}
