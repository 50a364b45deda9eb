package importhist_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// step is one migration of the test history, written once per dialect and
// rendered in each tool's layout.
type step struct {
	name  string
	stmts []string // up statements, each ending with ;
	block int      // index+1 of the statement that is a block with inner semicolons (0: none)
	goose string   // an extra statement block only the goose history has (one Weber must not split)
	noTx  bool     // the tool runs it outside a transaction
	wrap  bool     // golang-migrate: the file carries its own BEGIN;/COMMIT;
	down  string
}

// history returns the test history for a dialect folder: tables, an
// index, a foreign key, a trigger (a statement block with semicolons),
// a file run outside a transaction, and a later change.
func history(folder string) []step {
	idType, text, now := "INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT", "CURRENT_TIMESTAMP"
	switch folder {
	case "postgres":
		idType, text, now = "bigserial PRIMARY KEY", "text", "now()"
	case "mysql":
		idType, text, now = "bigint AUTO_INCREMENT PRIMARY KEY", "varchar(200)", "NOW()"
	}
	fkType := map[string]string{"sqlite": "INTEGER", "postgres": "bigint", "mysql": "bigint"}[folder]
	steps := []step{
		{name: "create_users", stmts: []string{
			fmt.Sprintf("CREATE TABLE users (\n  id %s,\n  email %s NOT NULL,\n  name %s\n);", idType, text, text),
			"CREATE UNIQUE INDEX users_email ON users (email);",
		}, down: "DROP TABLE users;"},
		{name: "create_posts", stmts: []string{
			fmt.Sprintf("CREATE TABLE posts (\n  id %s,\n  user_id %s NOT NULL,\n  title %s NOT NULL,\n  updated_at timestamp NULL,\n  CONSTRAINT posts_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE\n);", idType, fkType, text),
			"CREATE INDEX posts_user_id ON posts (user_id);",
		}, down: "DROP TABLE posts;"},
	}
	audit := fmt.Sprintf("CREATE TABLE audit (id %s, note %s NOT NULL);", idType, text)
	switch folder {
	case "sqlite":
		steps = append(steps, step{name: "touch_trigger", block: 2, stmts: []string{audit,
			"CREATE TRIGGER posts_touch AFTER UPDATE OF title ON posts\nBEGIN\n  UPDATE posts SET updated_at = " + now + " WHERE id = NEW.id;\n  INSERT INTO audit (note) VALUES ('touched');\nEND;"},
			down: "DROP TRIGGER posts_touch;\nDROP TABLE audit;"})
	case "postgres":
		steps = append(steps, step{name: "touch_trigger", block: 2, stmts: []string{audit,
			"CREATE FUNCTION touch_post() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.updated_at := now();\n  INSERT INTO audit (note) VALUES ('touched');\n  RETURN NEW;\nEND;\n$$;",
			"CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION touch_post();"},
			down: "DROP TRIGGER posts_touch ON posts;\nDROP FUNCTION touch_post();\nDROP TABLE audit;"})
	case "mysql":
		steps = append(steps, step{name: "touch_trigger", block: 2, stmts: []string{audit,
			"CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW\nBEGIN\n  SET NEW.updated_at = NOW();\n  INSERT INTO audit (note) VALUES ('touched');\nEND;"},
			goose: mysqlIfTrigger,
			down:  "DROP TRIGGER users_name;\nDROP TRIGGER posts_touch;\nDROP TABLE audit;"})
	}
	concurrently := ""
	if folder == "postgres" {
		concurrently = "CONCURRENTLY "
	}
	steps = append(steps,
		step{name: "index_titles", noTx: true, stmts: []string{"CREATE INDEX " + concurrently + "posts_title ON posts (title);"}, down: "DROP INDEX posts_title;"},
		step{name: "add_bio_and_tags", wrap: true, stmts: []string{
			fmt.Sprintf("ALTER TABLE users ADD COLUMN bio %s;", text),
			fmt.Sprintf("CREATE TABLE tags (id %s, label %s NOT NULL);", idType, text),
		}, down: "DROP TABLE tags;\nALTER TABLE users DROP COLUMN bio;"},
	)
	return steps
}

// mysqlIfTrigger is a goose statement block that Weber's splitter would cut
// at its first semicolon: a trigger body without BEGIN ... END.
const mysqlIfTrigger = "CREATE TRIGGER users_name BEFORE INSERT ON users FOR EACH ROW\nIF NEW.name IS NULL THEN\n  SET NEW.name = NEW.email;\nEND IF;"

// versions returns the source versions of the history in a tool's usual
// style; golang-migrate's have different widths, to test that Weber keeps
// its numeric order.
func versions(tool string, n int) []string {
	out := make([]string, n)
	for i := range out {
		switch tool {
		case "golang-migrate":
			out[i] = fmt.Sprint(i + 1)
			if i == n-1 {
				out[i] = "10"
			}
		case "goose":
			out[i] = fmt.Sprintf("%05d", i+1)
		default:
			out[i] = fmt.Sprintf("2024010100%04d", i+1)
		}
	}
	return out
}

// writeHistory writes steps in tool's layout into a new folder and returns it.
func writeHistory(t *testing.T, tool string, steps []step) string {
	t.Helper()
	dir := t.TempDir()
	vs := versions(tool, len(steps))
	put := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range steps {
		switch tool {
		case "golang-migrate":
			up := strings.Join(s.stmts, "\n\n") + "\n"
			if s.wrap {
				up = "BEGIN;\n\n" + up + "\nCOMMIT;\n"
			}
			put(vs[i]+"_"+s.name+".up.sql", up)
			put(vs[i]+"_"+s.name+".down.sql", s.down+"\n")
		case "goose":
			put(vs[i]+"_"+s.name+".sql", gooseFile(s))
		case "dbmate":
			opts := ""
			if s.noTx {
				opts = " transaction:false"
			}
			put(vs[i]+"_"+s.name+".sql", "-- migrate:up"+opts+"\n"+strings.Join(s.stmts, "\n\n")+"\n\n-- migrate:down\n"+s.down+"\n")
		}
	}
	put("README.md", "Migrations, written for "+tool+".\n")
	return dir
}

func gooseFile(s step) string {
	var b strings.Builder
	b.WriteString("-- +goose Up\n")
	if s.noTx {
		b.WriteString("-- +goose NO TRANSACTION\n")
	}
	for i, st := range stmtsFor("goose", s) {
		if i+1 == s.block || (s.goose != "" && st == s.goose) {
			b.WriteString("-- +goose StatementBegin\n" + st + "\n-- +goose StatementEnd\n\n")
			continue
		}
		b.WriteString(st + "\n\n")
	}
	b.WriteString("-- +goose Down\n" + s.down + "\n")
	return b.String()
}

// stmtsFor returns the statements a tool's history has for s.
func stmtsFor(tool string, s step) []string {
	if tool == "goose" && s.goose != "" {
		return append(append([]string(nil), s.stmts...), s.goose)
	}
	return s.stmts
}
