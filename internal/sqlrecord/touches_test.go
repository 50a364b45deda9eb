package sqlrecord

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTouches(t *testing.T) {
	cases := []struct {
		raw  string
		want []string
		ok   bool
	}{
		{`UPDATE "users" SET "bio" = NULL, "updated_at" = $1 WHERE "users"."bio" = $2`, []string{"users.bio", "users.updated_at"}, true},
		{"UPDATE `posts` SET `view_count` = COALESCE(`posts`.`view_count`, 0) + ?, `title` = ?", []string{"posts.view_count", "posts.title"}, true},
		{`UPDATE "public"."users" SET "name" = $1 RETURNING "id"`, []string{"users.name"}, true},
		{`INSERT INTO "tags" ("name", "description") VALUES ($1, $2) RETURNING "id"`, []string{"tags.*"}, true},
		{"INSERT IGNORE INTO `tags` (`name`) VALUES (?)", []string{"tags.*"}, true},
		{`DELETE FROM "post_tags" WHERE "post_id" = $1`, []string{"post_tags.*"}, true},
		{`UPDATE users SET name = upper(name)`, []string{"users.name"}, true},
		{`TRUNCATE "users"`, nil, false},
		{`UPDATE "users" "u" SET "name" = $1`, nil, false},
	}
	for _, c := range cases {
		got, ok := touches(c.raw)
		if ok != c.ok || !cmp.Equal(got, c.want) {
			t.Errorf("touches(%s) = %q, %v; want %q, %v", c.raw, got, ok, c.want, c.ok)
		}
	}
}

func TestCutReturning(t *testing.T) {
	q, cols := cutReturning(`INSERT INTO "t" ("returning_x") VALUES ($1) RETURNING "id"`)
	if q != `INSERT INTO "t" ("returning_x") VALUES ($1)` || !cmp.Equal(cols, []string{"id"}) {
		t.Errorf("cutReturning = %q, %q", q, cols)
	}
}
