package plan

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ariga.io/atlas/sql/migrate"
	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/weber-framework/weber/weberschema"
)

// renamedModels is the project's models with users.bio renamed to
// biography, posts.user_id (an edge's foreign key) to author_id, and the
// table tags to labels, and the renames that declare it.
func renamedModels(t *testing.T) ([]*entschema.Table, []weberschema.Rename) {
	t.Helper()
	tables := models(t)
	for _, c := range table(t, tables, "users").Columns {
		if c.Name == "bio" {
			c.Name = "biography"
		}
	}
	for _, c := range table(t, tables, "posts").Columns {
		if c.Name == "user_id" {
			c.Name = "author_id"
		}
	}
	table(t, tables, "tags").Name = "labels"
	return tables, []weberschema.Rename{
		{From: "tags", To: "labels"},
		{Table: "users", From: "bio", To: "biography"},
		{Table: "posts", From: "user_id", To: "author_id"},
	}
}

// TestReviseRenamesColumnsAndTables: declared renames are planned as
// renames on every dialect (no drop, no add), a populated database keeps
// every value under the new name, indexes and foreign keys survive, and the
// models then match the history; the history holding them, check says the
// annotations may go.
func TestReviseRenamesColumnsAndTables(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	root := t.TempDir()
	now := clock(time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC))
	revise(t, root, dialects, urls, models(t), "initial", false, now)
	tables, renames := renamedModels(t)
	res, err := Revise(context.Background(), ReviseOptions{Root: root, Dialects: dialects, DevURLs: urls,
		Name: "renames", Tables: tables, Renames: renames, Now: now})
	if err != nil {
		t.Fatalf("Revise with renames: %v", err)
	}
	if !res.Written {
		t.Fatal("the renames wrote nothing")
	}
	for _, d := range res.Dialects {
		t.Run(d.Dialect, func(t *testing.T) {
			sqlText := strings.ToUpper(allSQL(d))
			for _, want := range []string{"RENAME", "BIOGRAPHY", "AUTHOR_ID", "LABELS"} {
				if !strings.Contains(sqlText, want) {
					t.Errorf("the revision has no %s:\n%s", want, allSQL(d))
				}
			}
			if strings.Contains(sqlText, "DROP COLUMN") || strings.Contains(sqlText, "DROP TABLE") || strings.Contains(sqlText, "ADD COLUMN") || len(d.LeftOut) != 0 {
				t.Errorf("the revision drops or adds instead of renaming (left out %v):\n%s", d.LeftOut, allSQL(d))
			}
			renamedDataKept(t, d.Dialect, urls[d.Dialect], filepath.Join(root, d.Dialect))
		})
	}
	again, err := Revise(context.Background(), ReviseOptions{Root: root, Dialects: dialects, DevURLs: urls,
		Name: "again", Tables: tables, Renames: renames, Now: now})
	if err != nil || again.Written {
		t.Fatalf("a second revision: written=%v, %v", again != nil && again.Written, err)
	}
	rep, err := Check(context.Background(), CheckOptions{Root: root, Dialects: dialects, DevURLs: urls, Tables: tables, Renames: renames})
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Problems(); len(p) != 0 {
		t.Fatalf("check after the renames: %v", p)
	}
	for _, d := range rep.Dialects {
		got := strings.Join(d.Notices, "\n")
		want := fmt.Sprintf("users.biography: RenamedFrom(\"bio\") is in the history since %s; you can remove the annotation", res.Version)
		if !strings.Contains(got, want) || !strings.Contains(got, "labels: RenamedFrom(\"tags\")") {
			t.Errorf("%s: check notices %q, want one with %q and one for labels", d.Dialect, got, want)
		}
	}
}

// renamedDataKept replays the first file of dir on a fresh database,
// fills it, replays the rest and checks every value is under its new name,
// the foreign keys still hold and the unique index on labels.name too.
func renamedDataKept(t *testing.T, folder, url, dir string) {
	t.Helper()
	ctx := context.Background()
	ld, err := migrate.NewLocalDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := ld.Files()
	if err != nil || len(files) != 2 {
		t.Fatalf("%d files in %s (%v), want 2", len(files), dir, err)
	}
	db, cleanup, err := OpenScratch(ctx, folder, url)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if _, err := Replay(ctx, db, folder, files[:1], ""); err != nil {
		t.Fatal(err)
	}
	ts := "'2026-12-06 01:00:00'"
	execAll(t, db,
		"INSERT INTO users (created_at, updated_at, name, email, role, bio) VALUES ("+ts+", "+ts+", 'Ada', 'ada@example.com', 'admin', 'wrote the first program')",
		"INSERT INTO users (created_at, updated_at, name, email, role, bio) VALUES ("+ts+", "+ts+", 'Zoe', 'zoe@example.com', 'member', NULL)",
		"INSERT INTO posts (created_at, updated_at, title, body, status, view_count, user_id) VALUES ("+ts+", "+ts+", 'Notes', 'x', 'published', 42, 1)",
		"INSERT INTO tags (name, description) VALUES ('history', 'Old things')",
		"INSERT INTO post_tags (post_id, tag_id) VALUES (1, 1)",
	)
	if _, err := Replay(ctx, db, folder, files[1:], ""); err != nil {
		t.Fatalf("replaying the renames on a populated database: %v", err)
	}
	var bio, label string
	var author, tagged int
	if err := db.QueryRowContext(ctx, "SELECT biography FROM users WHERE email = 'ada@example.com'").Scan(&bio); err != nil || bio != "wrote the first program" {
		t.Errorf("users.biography = %q (%v)", bio, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT author_id FROM posts WHERE title = 'Notes'").Scan(&author); err != nil || author != 1 {
		t.Errorf("posts.author_id = %d (%v)", author, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT l.name FROM labels l JOIN post_tags pt ON pt.tag_id = l.id").Scan(&label); err != nil || label != "history" {
		t.Errorf("labels.name through post_tags = %q (%v)", label, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM post_tags").Scan(&tagged); err != nil || tagged != 1 {
		t.Errorf("post_tags rows = %d (%v)", tagged, err)
	}
	if folder == SQLite {
		execAll(t, db, "PRAGMA foreign_keys = ON")
	}
	for _, bad := range []string{
		"INSERT INTO posts (created_at, updated_at, title, body, status, view_count, author_id) VALUES (" + ts + ", " + ts + ", 'Orphan', 'x', 'draft', 0, 99)",
		"INSERT INTO post_tags (post_id, tag_id) VALUES (1, 99)",
		"INSERT INTO labels (name) VALUES ('history')",
		"INSERT INTO users (created_at, updated_at, name, email, role) VALUES (" + ts + ", " + ts + ", 'Ada2', 'ada@example.com', 'member')",
	} {
		if _, err := db.ExecContext(ctx, bad); err == nil {
			t.Errorf("a foreign key or unique index was lost: %s succeeded", bad)
		}
	}
}

// TestReviseAsksAboutPossibleRenames: a column dropped and one of the same
// kind added, with no declaration, is a question: Revise refuses, naming
// the annotation; declined (NotRenamed), it plans the add and leaves the
// drop out; with --allow-destructive it drops.
func TestReviseAsksAboutPossibleRenames(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	now := clock(time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC))
	revise(t, root, []string{SQLite}, nil, models(t), "initial", false, now)
	tables, _ := renamedModels(t)
	_, err := Revise(context.Background(), ReviseOptions{Root: root, Dialects: []string{SQLite}, Name: "x", Tables: tables, Now: now})
	var q *RenameQuestionError
	if !errors.As(err, &q) {
		t.Fatalf("Revise without a declaration: %v, want a RenameQuestionError", err)
	}
	want := weberschema.Rename{Table: "posts", From: "user_id", To: "author_id"}
	if len(q.Candidates) != 2 || q.Candidates[0] != want {
		t.Errorf("candidates %v, want posts.user_id -> author_id and users.bio -> biography", q.Candidates)
	}
	if msg := err.Error(); !strings.Contains(msg, `.Annotations(weberschema.RenamedFrom("user_id"))`) || strings.Contains(msg, "\n") {
		t.Errorf("the refusal does not name the annotation on one line: %q", msg)
	}
	if n := len(sqlFiles(t, filepath.Join(root, SQLite))); n != 1 {
		t.Errorf("the refusal wrote a file: %d files", n)
	}
	res, err := Revise(context.Background(), ReviseOptions{Root: root, Dialects: []string{SQLite}, Name: "x", Tables: tables, Now: now,
		NotRenamed: q.Candidates})
	if err != nil {
		t.Fatalf("declined renames: %v", err)
	}
	if d := res.Dialects[0]; len(d.LeftOut) == 0 || strings.Contains(strings.ToUpper(allSQL(d)), "RENAME COLUMN") {
		t.Errorf("declined renames: left out %v, statements %s", d.LeftOut, allSQL(d))
	}
}

func TestRenamesIn(t *testing.T) {
	t.Parallel()
	got := RenamesIn([]string{
		"ALTER TABLE `tags` RENAME TO `labels`",
		`ALTER TABLE "users" RENAME COLUMN "bio" TO "biography"`,
		"RENAME TABLE `a` TO `b`",
		"ALTER TABLE `posts` RENAME COLUMN `user_id` TO `author_id`, ALGORITHM=INSTANT",
		"ALTER TABLE `t` CHANGE COLUMN `x` `y` varchar(10) NULL",
		"ALTER TABLE `t` CHANGE COLUMN `z` `z` varchar(20) NULL",
		"ALTER TABLE users ADD COLUMN rename_me text",
		"ALTER INDEX \"tags_name_key\" RENAME TO \"labels_name_key\"",
		"CREATE TABLE `new_posts` (`id` integer NOT NULL)",
		"ALTER TABLE `new_posts` RENAME TO `posts`",
	})
	want := []weberschema.Rename{
		{From: "tags", To: "labels"},
		{Table: "users", From: "bio", To: "biography"},
		{From: "a", To: "b"},
		{Table: "posts", From: "user_id", To: "author_id"},
		{Table: "t", From: "x", To: "y"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("RenamesIn = %v\nwant %v", got, want)
	}
	if back := Reversed(want[:2]); fmt.Sprint(back) != fmt.Sprint([]weberschema.Rename{{Table: "users", From: "biography", To: "bio"}, {From: "labels", To: "tags"}}) {
		t.Errorf("Reversed = %v", back)
	}
}
