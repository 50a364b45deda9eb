package weberctl

// Frozen data migrations through the real binary: the example history's
// publish_dated_drafts runs on a populated database with the batched
// split_user_names, and on a copy of the project the whole loop runs as a
// user would: scaffold, write the change, build, record, upgrade from a
// binary that does not have the Go code.

import (
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// seedPosts gives each of the first n users a draft post, dated when the
// user's id is even.
func seedPosts(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	q := `INSERT INTO posts (title, body, status, published_at, view_count, user_id, created_at, updated_at)
SELECT 'post', '', 'draft', CASE WHEN id % 2 = 0 THEN created_at ELSE NULL END, 0, id, created_at, updated_at
FROM users WHERE id <= ` + strconv.Itoa(n)
	if _, err := db.ExecContext(t.Context(), q); err != nil {
		t.Fatalf("seeding posts: %v", err)
	}
}

// Issue 11, done-when: the example app has a data migration of each kind,
// and an upgrade of a populated database runs both: the batched Go one
// splits every name, the frozen SQL one publishes the dated drafts and
// leaves the others.
func TestE2EUpgradeRunsBothKindsOfDataMigration(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p, db := populated(t, b, 600)
		seedPosts(t, db, 40)
		p.must("db", "upgrade")

		var unsplit, published, drafts, undatedPublished int
		for q, n := range map[string]*int{
			"SELECT COUNT(*) FROM users WHERE first_name IS NULL OR first_name = ''":         &unsplit,
			"SELECT COUNT(*) FROM posts WHERE status = 'published'":                          &published,
			"SELECT COUNT(*) FROM posts WHERE status = 'draft' AND published_at IS NULL":     &drafts,
			"SELECT COUNT(*) FROM posts WHERE status = 'published' AND published_at IS NULL": &undatedPublished,
		} {
			if err := db.QueryRowContext(t.Context(), q).Scan(n); err != nil {
				t.Fatal(err)
			}
		}
		if unsplit != 0 || published != 20 || drafts != 20 || undatedPublished != 0 {
			t.Errorf("after the upgrade: %d users unsplit (want 0), %d posts published (want the 20 dated), %d undated drafts (want 20), %d undated published (want 0)",
				unsplit, published, drafts, undatedPublished)
		}
		hist := p.must("db", "history").stdout
		for _, name := range []string{"split_user_names", "publish_dated_drafts"} {
			if !strings.Contains(hist, name) {
				t.Errorf("db history does not show %s:\n%s", name, hist)
			}
		}
	})
}

// Issue 11 item 2, the frozen kind, as a user meets it: on a copy of the
// project, `db revision --data NAME --frozen` scaffolds the Go file and
// registers it; the same weberctl refuses to record what it was not built
// with; after the change is written and weberctl rebuilt, the second run
// records each dialect's SQL with the touched column read from it; the
// example's own binary, which lacks the Go code, applies the file; a third
// run refuses to record it twice.
func TestFrozenDataLoop(t *testing.T) {
	if testing.Short() || binary == "" {
		t.Skip("-short: the frozen data loop copies the project and builds weberctl")
	}
	t.Parallel()
	root := filepath.Join(t.TempDir(), "project")
	loopCopyModule(t, loopModuleRoot(t), root)
	const name = "clear_empty_tag_descriptions"
	env := append(devEnv(), "WEBER_DIALECTS=sqlite,postgres,mysql")
	run := func(bin string, args ...string) (string, error) {
		return loopWeberctl(t.Context(), bin, root, env, append([]string{"db", "revision", "--data", name, "--frozen"}, args...)...)
	}

	out, err := run(binary)
	goFile := filepath.Join(root, "migrations", "data", name+".go")
	registry, _ := os.ReadFile(filepath.Join(root, "migrations", "data", "data.go"))
	if err != nil || !strings.Contains(out, "write the change here") || !strings.Contains(string(registry), `"`+name+`": ClearEmptyTagDescriptions(),`) {
		t.Fatalf("scaffold: %v\n%s\ndata.go:\n%s", err, out, registry)
	}
	if _, err := run(binary); err == nil || !strings.Contains(err.Error(), "this weberctl has no frozen data migration "+name) {
		t.Errorf("recording with a weberctl built before the change: %v", err)
	}

	edits := []struct{ old, new string }{
		{`"github.com/weber-framework/weber/ent"`, `"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/ent/tag"`},
		{`_ = c // e.g. return c.User.Update().Where(user.BioEQ("")).ClearBio().Exec(ctx)
		return nil`, `return c.Tag.Update().Where(tag.DescriptionEQ("")).ClearDescription().Exec(ctx)`},
	}
	for _, e := range edits {
		if err := loopReplace(goFile, e.old, e.new); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(filepath.Dir(root), "weberctl-frozen")
	if err := loopGo(t.Context(), root, "build", "-o", bin, "./cmd/weberctl"); err != nil {
		t.Fatal(err)
	}
	if out, err = run(bin); err != nil || !strings.Contains(out, "1 statement; touches tags.description") {
		t.Fatalf("recording: %v\n%s", err, out)
	}
	want := map[string]string{
		"sqlite":   "UPDATE `tags` SET `description` = NULL WHERE `tags`.`description` = '';",
		"postgres": `UPDATE "tags" SET "description" = NULL WHERE "tags"."description" = '';`,
		"mysql":    "UPDATE `tags` SET `description` = NULL WHERE `tags`.`description` = '';",
	}
	for folder, stmt := range want {
		files, _ := filepath.Glob(filepath.Join(root, "migrations", folder, "*_"+name+".sql"))
		if len(files) != 1 {
			t.Fatalf("%s: %d files for %s", folder, len(files), name)
		}
		body, _ := os.ReadFile(files[0])
		if !strings.Contains(string(body), "-- weber:touches tags.description\n") || !strings.Contains(string(body), "\n"+stmt+"\n") {
			t.Errorf("%s, want the touches and %s:\n%s", files[0], stmt, body)
		}
	}
	if _, err := run(bin); err == nil || !strings.Contains(err.Error(), "holds the data migration "+name+" already") {
		t.Errorf("recording twice: %v", err)
	}

	// Any binary applies the file: the example's has no Go code for it.
	lc := &loopCopy{root: root}
	prod := lc.runner(t, binary, "sqlite://"+filepath.Join(t.TempDir(), "app.db"), filepath.Join(root, "migrations"))
	prod.must("db", "upgrade", "--to", "20261206114428")
	db := prod.open()
	if _, err := db.ExecContext(t.Context(), "INSERT INTO tags (name, description) VALUES ('a', ''), ('b', 'kept'), ('c', NULL)"); err != nil {
		t.Fatal(err)
	}
	prod.must("db", "upgrade")
	if n := prod.count(db, "SELECT COUNT(*) FROM tags WHERE description IS NULL"); n != 2 {
		t.Errorf("%d tags without a description after the upgrade, want 2 (the empty one cleared)", n)
	}
	if n := prod.count(db, "SELECT COUNT(*) FROM tags WHERE description = 'kept'"); n != 1 {
		t.Errorf("the described tag changed")
	}
}
