package app

// ISSUE 13: `weberctl db seed` runs Seed; running it twice leaves the same
// rows, on every backend.

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/weber-framework/weber/ent/post"
	"github.com/weber-framework/weber/ent/user"
	"github.com/weber-framework/weber/internal/testdb"
)

// dumpSeedTables returns every row of the tables Seed writes, every column
// included (timestamps too), one line per row.
func dumpSeedTables(t *testing.T, _ context.Context, db *sql.DB) string {
	t.Helper()
	return testdb.Dump(t, db, testdb.SeedTables...)
}

func TestSeedTwiceLeavesTheSameRows(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		ctx := t.Context()
		first, err := Seed(ctx, db.Client, "development")
		if err != nil {
			t.Fatal(err)
		}
		if want := (SeedCounts{Users: 3, Tags: 4, Posts: 4}); first.Created != want || first.Existing != (SeedCounts{}) {
			t.Fatalf("first seed: created %+v, existing %+v; want created %+v, nothing existing", first.Created, first.Existing, want)
		}
		before := dumpSeedTables(t, ctx, db.SQL)
		second, err := Seed(ctx, db.Client, "development")
		if err != nil {
			t.Fatal(err)
		}
		if second.Created != (SeedCounts{}) || second.Existing != first.Created {
			t.Errorf("second seed: created %+v, existing %+v; want nothing created, %+v existing", second.Created, second.Existing, first.Created)
		}
		if after := dumpSeedTables(t, ctx, db.SQL); after != before {
			t.Errorf("the second seed changed the rows:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if n := strings.Count(before, "post_tags:"); n != 6 {
			t.Errorf("%d post_tags rows, want 6:\n%s", n, before)
		}
	})
}

func TestSeedKeepsExistingRowsAndAddsMissingTags(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		ctx := t.Context()
		c := db.Client
		// A user and a post of the demo made by hand, the post without tags.
		ada := c.User.Create().SetName("Ada, renamed").SetEmail("ada@example.com").SaveX(ctx)
		c.Post.Create().SetAuthor(ada).SetTitle("Welcome to Weber").SetBody("edited").SaveX(ctx)
		res, err := Seed(ctx, c, "staging")
		if err != nil {
			t.Fatal(err)
		}
		if res.Existing.Users != 1 || res.Existing.Posts != 1 || res.Created.Posts != 2 {
			t.Errorf("seed: created %+v, existing %+v; want 1 user and 1 post existing, 2 posts created (no draft in staging)", res.Created, res.Existing)
		}
		if n := c.User.Query().Where(user.Email("ada@example.com")).CountX(ctx); n != 1 {
			t.Errorf("%d users ada@example.com, want 1", n)
		}
		if got := c.User.GetX(ctx, ada.ID).Name; got != "Ada, renamed" {
			t.Errorf("the existing user's name became %q: seed must leave an existing row as it is", got)
		}
		p := c.Post.Query().Where(post.Title("Welcome to Weber")).OnlyX(ctx)
		if p.Body != "edited" {
			t.Errorf("the existing post's body became %q", p.Body)
		}
		if tags := p.QueryTags().CountX(ctx); tags != 2 {
			t.Errorf("the existing post has %d tags, want the seed's 2 linked", tags)
		}
		if n := c.Post.Query().Where(post.StatusEQ(post.StatusDraft), post.Title("A draft in progress")).CountX(ctx); n != 0 {
			t.Errorf("staging got %d development drafts, want none", n)
		}
	})
}
