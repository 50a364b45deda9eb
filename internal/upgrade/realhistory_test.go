package upgrade

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/liveschema"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// histFile is one file of a history found in the wild, and the form Weber
// runs: the wild file with its transaction lines removed (the fix Weber's
// refusal names), or the wild file unchanged when it carries
// `-- weber:as-written`.
type histFile struct {
	name, wild string
	weber      string // "" when Weber runs the wild file unchanged
}

// txLine matches a line that is only a transaction statement (not END;,
// which also closes the trigger bodies of these files).
var txLine = regexp.MustCompile(`(?im)^(begin|start transaction|commit|commit work)( transaction)?;\n`)

// wildHistory is a real-world shaped history for a dialect: files with
// their own BEGIN/COMMIT (in several spellings), trigger and function
// bodies whose BEGIN ... END is not transaction control, and a file run as
// written.
func wildHistory(dia string) []histFile {
	var files []histFile
	switch dia {
	case dialect.SQLite:
		files = []histFile{
			{name: "1_init.sql", wild: "CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL);\n"},
			{name: "2_posts.sql", wild: "BEGIN TRANSACTION;\nCREATE TABLE posts (id integer PRIMARY KEY, user_id integer REFERENCES users (id), title text);\nCREATE INDEX posts_user ON posts (user_id);\nCOMMIT;\n"},
			{name: "3_audit.sql", wild: "CREATE TABLE audit (id integer PRIMARY KEY, note text);\n-- BEGIN; in a comment\nCREATE TRIGGER posts_audit AFTER INSERT ON posts BEGIN\n  INSERT INTO audit (note) VALUES ('post ' || NEW.id || ' BEGIN; COMMIT;');\nEND;\n"},
			{name: "4_seed.sql", wild: "begin;\ninsert into users (id, name) values (1, 'ada');\nalter table users add column email text;\ncommit;\n"},
			{name: "5_tags.sql", wild: "-- weber:as-written\n\nCREATE TABLE tags (id integer PRIMARY KEY, name text NOT NULL);\nBEGIN;\nINSERT INTO tags (id, name) VALUES (1, 'go');\nCREATE UNIQUE INDEX tags_name ON tags (name);\nCOMMIT;\nCREATE TABLE post_tags (post_id integer REFERENCES posts (id), tag_id integer REFERENCES tags (id));\n"},
		}
	case dialect.Postgres:
		files = []histFile{
			{name: "1_init.sql", wild: "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);\n"},
			{name: "2_posts.sql", wild: "BEGIN;\nCREATE TABLE posts (id bigserial PRIMARY KEY, user_id bigint REFERENCES users (id), title text);\nCREATE INDEX posts_user ON posts (user_id);\nCOMMIT;\n"},
			{name: "3_audit.sql", wild: "CREATE TABLE audit (id bigserial PRIMARY KEY, note text);\n" +
				"CREATE FUNCTION audit_post() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  INSERT INTO audit (note) VALUES ('post ' || NEW.id || ' COMMIT;');\n  RETURN NEW;\nEND;\n$$;\n" +
				"CREATE TRIGGER posts_audit AFTER INSERT ON posts FOR EACH ROW EXECUTE FUNCTION audit_post();\n" +
				"DO $$ BEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'mood') THEN CREATE TYPE mood AS ENUM ('ok', 'sad'); END IF;\nEND $$;\n"},
			{name: "4_seed.sql", wild: "START TRANSACTION;\ninsert into users (id, name) values (1, 'ada');\nALTER TABLE users ADD COLUMN email text;\nCOMMIT WORK;\n"},
			{name: "5_tags.sql", wild: "-- weber:as-written\n\nCREATE TABLE tags (id bigint PRIMARY KEY, name text NOT NULL);\nBEGIN;\nINSERT INTO tags (id, name) VALUES (1, 'go');\nCREATE UNIQUE INDEX tags_name ON tags (name);\nCOMMIT;\n" +
				"CREATE TABLE post_tags (post_id bigint REFERENCES posts (id), tag_id bigint REFERENCES tags (id));\nCREATE INDEX CONCURRENTLY post_tags_tag ON post_tags (tag_id);\n"},
		}
	case dialect.MySQL:
		files = []histFile{
			{name: "1_init.sql", wild: "CREATE TABLE users (id bigint NOT NULL PRIMARY KEY, name varchar(100) NOT NULL);\n"},
			{name: "2_posts.sql", wild: "START TRANSACTION;\nCREATE TABLE posts (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, user_id bigint, title varchar(200), CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id));\nCOMMIT;\n"},
			{name: "3_audit.sql", wild: "CREATE TABLE audit (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, note varchar(200));\n" +
				"DELIMITER //\nCREATE TRIGGER posts_audit AFTER INSERT ON posts FOR EACH ROW BEGIN\n  INSERT INTO audit (note) VALUES (CONCAT('post ', NEW.id, ' COMMIT;'));\nEND//\nDELIMITER ;\n"},
			{name: "4_seed.sql", wild: "BEGIN;\nINSERT INTO users (id, name) VALUES (1, 'ada');\nCOMMIT;\nALTER TABLE users ADD COLUMN email varchar(200);\n"},
			{name: "5_tags.sql", wild: "-- weber:as-written\n\nCREATE TABLE tags (id bigint NOT NULL PRIMARY KEY, name varchar(50) NOT NULL);\nSTART TRANSACTION;\nINSERT INTO tags (id, name) VALUES (1, 'go');\nCOMMIT;\nCREATE UNIQUE INDEX tags_name ON tags (name);\n" +
				"CREATE TABLE post_tags (post_id bigint, tag_id bigint, CONSTRAINT pt_tag FOREIGN KEY (tag_id) REFERENCES tags (id));\n"},
		}
	}
	for i, f := range files {
		if !strings.Contains(f.wild, migdir.DirectiveAsWritten) && txLine.MatchString(f.wild) {
			files[i].weber = txLine.ReplaceAllString(f.wild, "")
		}
	}
	return files
}

// A history shaped like a real one, with its own transaction control: Weber
// refuses it as found, naming the file and line; fixed as the refusal says
// (transaction lines removed, or the file run as written), Weber's upgrade
// builds the same schema as the database's own client applying the
// original files in order.
func TestWildHistoryMatchesTheClient(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		hist := wildHistory(d.dia())
		var wild, fixed []file
		for _, f := range hist {
			wild = append(wild, file{f.name, f.wild})
			body := f.wild
			if f.weber != "" {
				body = f.weber
			}
			fixed = append(fixed, file{f.name, body})
		}
		_, err := upgrade(t, d, writeDir(t, d.dia(), wild...), Options{})
		var me *migdir.Error
		if !errors.As(err, &me) {
			t.Fatalf("the wild history: want a *migdir.Error, got %v", err)
		}
		type refused struct{ Kind, File, Message string }
		if diff := cmp.Diff(refused{string(migdir.KindTxControl), "2_posts.sql", "line 1:"}, refused{string(me.Kind), me.File, contains(err.Error(), "line 1:")}); diff != "" {
			t.Fatalf("the wild history: want the transaction control of 2_posts.sql line 1 refused (-want +got):\n%s", diff)
		}
		mustUpgrade(t, d, writeDir(t, d.dia(), fixed...), Options{})

		ref := newDB(t, d.name)
		client := applyWithClient(t, d.name, ref, hist)
		t.Logf("reference built by %s", client)

		ctx := context.Background()
		for _, db := range []*sql.DB{d.db, ref.db} {
			if _, err := db.ExecContext(ctx, "INSERT INTO posts (id, user_id, title) VALUES (10, 1, 'x')"); err != nil {
				t.Fatalf("inserting a post: %v", err)
			}
		}
		got, want := describe(t, d), describe(t, ref)
		for _, part := range []string{"users.email", "posts fk (user_id) -> users (id)", "tags index tags_name unique=true (name)", "post_tags.tag_id"} {
			if !strings.Contains(want, part) {
				t.Errorf("the client's schema lacks %q: the comparison would prove little:\n%s", part, want)
			}
		}
		if got != want {
			t.Errorf("Weber's schema differs from the one %s built:\nweber:\n%s\nclient:\n%s", client, got, want)
		}
		for _, q := range []string{"SELECT COUNT(*) FROM users", "SELECT COUNT(*) FROM tags", "SELECT COUNT(*) FROM audit"} {
			if a, b := count(t, d, q), count(t, ref, q); a != b || a != 1 {
				t.Errorf("%s: weber %d, client %d; want 1 each", q, a, b)
			}
		}
	})
}

// applyWithClient applies the wild files in order to ref with the
// database's own command-line client when installed (sqlite3, psql,
// mariadb/mysql), else, for SQLite and PostgreSQL, with database/sql
// executing each file's whole text, as a client does. It returns what it
// used.
func applyWithClient(t *testing.T, backend string, ref *tdb, hist []histFile) string {
	t.Helper()
	raw := ""
	if backend != "sqlite" {
		var err error
		if raw, err = testserver.Lookup(t, backend).URLOf(ref.u.Database); err != nil {
			t.Fatal(err)
		}
	}
	cmd, name := clientCommand(t, backend, ref, raw)
	for _, f := range hist {
		if cmd == nil {
			if _, err := ref.db.Exec(f.wild); err != nil {
				t.Fatalf("database/sql applying %s: %v", f.name, err)
			}
			continue
		}
		c := cmd()
		c.Stdin = strings.NewReader(f.wild)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%s applying %s: %v\n%s", name, f.name, err, out)
		}
	}
	return name
}

// clientCommand returns a constructor of the client's process reading SQL
// on stdin (nil to use database/sql) and the client's name. Passwords go
// through the environment, never the command line.
func clientCommand(t *testing.T, backend string, ref *tdb, raw string) (func() *exec.Cmd, string) {
	t.Helper()
	var u *url.URL
	if raw != "" {
		var err error
		if u, err = url.Parse(raw); err != nil {
			t.Fatal(err)
		}
	}
	var pw string
	if u != nil {
		pw, _ = u.User.Password()
	}
	switch backend {
	case "sqlite":
		if path, err := exec.LookPath("sqlite3"); err == nil {
			return func() *exec.Cmd { return exec.Command(path, "-bail", ref.u.Database) }, "sqlite3"
		}
		return nil, "database/sql (sqlite3 is not installed)"
	case "postgres":
		if path, err := exec.LookPath("psql"); err == nil {
			return func() *exec.Cmd {
				c := exec.Command(path, "-X", "-q", "-v", "ON_ERROR_STOP=1")
				c.Env = append(os.Environ(), "PGHOST="+u.Hostname(), "PGPORT="+u.Port(), "PGUSER="+u.User.Username(),
					"PGPASSWORD="+pw, "PGDATABASE="+ref.u.Database, "PGSSLMODE=disable")
				return c
			}, "psql"
		}
		return nil, "database/sql (psql is not installed)"
	}
	for _, name := range []string{"mariadb", "mysql"} {
		if path, err := exec.LookPath(name); err == nil {
			return func() *exec.Cmd {
				c := exec.Command(path, "--batch", "--protocol=tcp", "--host="+u.Hostname(), "--port="+u.Port(), "--user="+u.User.Username(), ref.u.Database)
				c.Env = append(os.Environ(), "MYSQL_PWD="+pw)
				return c
			}, name
		}
	}
	t.Skip("TestWildHistoryMatchesTheClient/mysql needs the mariadb (or mysql) client for DELIMITER: install mariadb-client")
	return nil, ""
}

// describe renders a database's tables, columns, indexes and foreign keys
// in a stable text form, for comparing two databases built differently.
func describe(t *testing.T, d *tdb) string {
	t.Helper()
	s, err := liveschema.Inspect(context.Background(), d.db, d.dia())
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, tb := range s.Tables {
		for _, c := range tb.Columns {
			lines = append(lines, fmt.Sprintf("%s.%s %s null=%v", tb.Name, c.Name, typeOf(c), c.Type.Null))
		}
		for _, ix := range tb.Indexes {
			var parts []string
			for _, p := range ix.Parts {
				if p.C != nil {
					parts = append(parts, p.C.Name)
				}
			}
			lines = append(lines, fmt.Sprintf("%s index %s unique=%v (%s)", tb.Name, ix.Name, ix.Unique, strings.Join(parts, ",")))
		}
		for _, fk := range tb.ForeignKeys {
			var cols, refs []string
			for _, c := range fk.Columns {
				cols = append(cols, c.Name)
			}
			for _, c := range fk.RefColumns {
				refs = append(refs, c.Name)
			}
			lines = append(lines, fmt.Sprintf("%s fk (%s) -> %s (%s)", tb.Name, strings.Join(cols, ","), fk.RefTable.Name, strings.Join(refs, ",")))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func typeOf(c *schema.Column) string {
	if c.Type == nil || c.Type.Type == nil {
		return "?"
	}
	if c.Type.Raw != "" {
		return c.Type.Raw
	}
	return fmt.Sprintf("%T", c.Type.Type)
}
