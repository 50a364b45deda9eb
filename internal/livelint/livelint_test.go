package livelint

import (
	"fmt"
	"slices"
	"testing"
)

func codes(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s@%d:%s", f.Code, f.Stmt, f.Table))
	}
	return out
}

func TestPostgresRules(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		tx    bool
		stmts []string
		want  []string
	}{
		{"index on an existing table", true, []string{"CREATE INDEX users_email ON users (email)"}, []string{"WL101@0:users"}},
		{"index on a table created in the file", true, []string{"CREATE TABLE notes (id int)", `CREATE INDEX "notes_id" ON "notes" (id)`}, nil},
		{"concurrent index outside a transaction", false, []string{"CREATE INDEX CONCURRENTLY users_email ON public.users (email)"}, nil},
		{"concurrent index in a transaction", true, []string{"CREATE UNIQUE INDEX CONCURRENTLY users_email ON users (email)"}, []string{"WL102@0:"}},
		{"volatile default", true, []string{"ALTER TABLE users ADD COLUMN seen timestamptz DEFAULT clock_timestamp()"}, []string{"WL103@0:users"}},
		{"constant default", true, []string{"ALTER TABLE users ADD COLUMN n int NOT NULL DEFAULT 0", "ALTER TABLE users ADD COLUMN at timestamptz DEFAULT now()"}, nil},
		{"serial column", true, []string{"ALTER TABLE users ADD COLUMN n bigserial"}, []string{"WL103@0:users"}},
		{"type change", true, []string{`ALTER TABLE "users" ALTER COLUMN "val" TYPE bigint`}, []string{"WL104@0:users"}},
		{"type change to text", true, []string{"ALTER TABLE users ALTER COLUMN bio TYPE text"}, nil},
		{"set not null", true, []string{"ALTER TABLE users ALTER COLUMN bio SET NOT NULL"}, []string{"WL105@0:users"}},
		{"foreign key", true, []string{"ALTER TABLE posts ADD CONSTRAINT posts_user_fk FOREIGN KEY (user_id) REFERENCES users (id)"}, []string{"WL106@0:posts"}},
		{"check not valid, validated later", true, []string{"ALTER TABLE posts ADD CONSTRAINT c CHECK (n > 0) NOT VALID"}, nil},
		{"not valid and validate together", true, []string{
			"ALTER TABLE posts ADD CONSTRAINT c CHECK (n > 0) NOT VALID", "ALTER TABLE posts VALIDATE CONSTRAINT c"}, []string{"WL107@1:posts"}},
		{"validate in its own file", true, []string{"ALTER TABLE posts VALIDATE CONSTRAINT c"}, nil},
		{"unique constraint", true, []string{"ALTER TABLE users ADD CONSTRAINT u UNIQUE (email)"}, []string{"WL108@0:users"}},
		{"unique using index", true, []string{"ALTER TABLE users ADD CONSTRAINT u UNIQUE USING INDEX users_email"}, nil},
		{"update without where", true, []string{"UPDATE users SET n = 0"}, []string{"WL109@0:users"}},
		{"bounded update", true, []string{"UPDATE users SET n = 0 WHERE id < 1000"}, nil},
		{"several clauses", true, []string{"ALTER TABLE t ADD COLUMN a int, ALTER COLUMN b TYPE numeric(10,2), ALTER COLUMN c SET NOT NULL"},
			[]string{"WL104@0:t", "WL105@0:t"}},
		{"words in comments and strings", true, []string{"-- CREATE INDEX x ON users (a)\nINSERT INTO t VALUES ('ALTER TABLE users ALTER COLUMN a SET NOT NULL')"}, nil},
	} {
		got := codes(Lint(File{Dialect: "postgres", Stmts: c.stmts, Transactional: c.tx}))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: findings %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMySQLRules(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		stmts []string
		want  []string
	}{
		{"no algorithm", []string{"ALTER TABLE `users` ADD COLUMN `x` int NULL, ADD INDEX `ix` (`x`)"}, []string{"WL201@0:users"}},
		{"instant by default", []string{"ALTER TABLE `users` ADD COLUMN `x` int NULL", "ALTER TABLE users DROP COLUMN bio;",
			"ALTER TABLE `posts` ADD COLUMN `view_count` bigint NOT NULL DEFAULT 0", "ALTER TABLE t ALTER COLUMN a SET DEFAULT 1"}, nil},
		{"added key is not instant", []string{"ALTER TABLE users ADD COLUMN x int UNIQUE"}, []string{"WL201@0:users"}},
		{"instant", []string{"ALTER TABLE `users` ADD COLUMN `x` int NULL, ALGORITHM=INSTANT"}, nil},
		{"copy", []string{"ALTER TABLE users ADD COLUMN x int, ALGORITHM=COPY"}, []string{"WL202@0:users"}},
		{"lock shared", []string{"ALTER TABLE users ADD COLUMN x int, ALGORITHM=INPLACE, LOCK=SHARED"}, []string{"WL202@0:users"}},
		{"type change", []string{"ALTER TABLE users MODIFY COLUMN val bigint NOT NULL"}, []string{"WL203@0:users", "WL201@0:users"}},
		{"primary key", []string{"ALTER TABLE users ADD PRIMARY KEY (id), ALGORITHM=INPLACE"}, []string{"WL204@0:users"}},
		{"check", []string{"ALTER TABLE users ADD CONSTRAINT c CHECK (v >= 0)"}, []string{"WL205@0:users", "WL201@0:users"}},
		{"foreign key", []string{"ALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id), ALGORITHM=INPLACE"}, []string{"WL205@0:posts"}},
		{"index only", []string{"ALTER TABLE users ADD INDEX users_email (email)", "CREATE INDEX users_name ON users (name)"}, nil},
		{"new table", []string{"CREATE TABLE `notes` (`id` int)", "ALTER TABLE `notes` ADD COLUMN `x` int"}, nil},
	} {
		got := codes(Lint(File{Dialect: "mysql", Stmts: c.stmts}))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: findings %v, want %v", c.name, got, c.want)
		}
	}
}

func TestEveryRuleIsExplained(t *testing.T) {
	t.Parallel()
	for code, r := range rules {
		if r[0] == "" || r[1] == "" {
			t.Errorf("%s lacks an explanation or an alternative", code)
		}
	}
	if f := Lint(File{Dialect: "sqlite3", Stmts: []string{"CREATE INDEX a ON users (x)", "UPDATE users SET x = 1"}}); len(f) != 0 {
		t.Errorf("SQLite has no live-traffic findings here, got %v", codes(f))
	}
}
