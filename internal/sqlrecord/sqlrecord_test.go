package sqlrecord_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/go-cmp/cmp"

	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/ent/post"
	"github.com/weber-framework/weber/ent/user"
	"github.com/weber-framework/weber/internal/sqlrecord"
	"github.com/weber-framework/weber/internal/testdb"
)

// record records fn on the example's client for dialect d.
func record(t *testing.T, d string, fn func(context.Context, *ent.Client) error) *sqlrecord.Recording {
	t.Helper()
	rec, err := sqlrecord.Record(context.Background(), d, func(ctx context.Context, drv dialect.Driver) error {
		return fn(ctx, ent.NewClient(ent.Driver(drv)))
	})
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	return rec
}

// TestRecordWritesEachDialectsSQL pins the recorded text of a bulk update
// on every dialect: the dialect's quoting, its literals, and the columns it
// touches (ent's UpdateDefault sets updated_at too).
func TestRecordWritesEachDialectsSQL(t *testing.T) {
	at := time.Date(2026, 12, 6, 13, 0, 0, 500000000, time.UTC)
	update := func(ctx context.Context, c *ent.Client) error {
		return c.Post.Update().
			Where(post.StatusEQ(post.StatusDraft), post.PublishedAtNotNil()).
			SetStatus(post.StatusPublished).SetUpdatedAt(at).Exec(ctx)
	}
	want := map[string]string{
		dialect.SQLite:   `UPDATE ` + "`posts`" + ` SET ` + "`updated_at`" + ` = '2026-12-06 13:00:00.5 +0000 UTC', ` + "`status`" + ` = 'published' WHERE ` + "`posts`.`status`" + ` = 'draft' AND ` + "`posts`.`published_at`" + ` IS NOT NULL`,
		dialect.Postgres: `UPDATE "posts" SET "updated_at" = '2026-12-06 13:00:00.5+00:00', "status" = 'published' WHERE "posts"."status" = 'draft' AND "posts"."published_at" IS NOT NULL`,
		dialect.MySQL:    "UPDATE `posts` SET `updated_at` = '2026-12-06 13:00:00.5', `status` = 'published' WHERE `posts`.`status` = 'draft' AND `posts`.`published_at` IS NOT NULL",
	}
	for d, w := range want {
		rec := record(t, d, update)
		if diff := cmp.Diff([]string{w}, rec.Statements); diff != "" {
			t.Errorf("%s statements (-want +got):\n%s", d, diff)
		}
		if diff := cmp.Diff([]string{"posts.status", "posts.updated_at"}, rec.Touches); diff != "" {
			t.Errorf("%s touches (-want +got):\n%s", d, diff)
		}
		if len(rec.Unread) != 0 {
			t.Errorf("%s: unread statements %q", d, rec.Unread)
		}
	}
}

// TestRecordRefusesReads: at revision time there are no rows, so a read
// (a query, or UpdateOne reading its row back) is refused, not answered
// with nothing, even when the function drops the error.
func TestRecordRefusesReads(t *testing.T) {
	cases := map[string]func(context.Context, *ent.Client) error{
		"query": func(ctx context.Context, c *ent.Client) error {
			_, err := c.User.Query().Where(user.BioEQ("")).All(ctx)
			return err
		},
		"update one": func(ctx context.Context, c *ent.Client) error {
			return c.User.UpdateOneID(1).SetBio("x").Exec(ctx)
		},
		"dropped error": func(ctx context.Context, c *ent.Client) error {
			_, _ = c.User.Query().Count(ctx)
			return nil
		},
	}
	for name, fn := range cases {
		_, err := sqlrecord.Record(context.Background(), dialect.Postgres, func(ctx context.Context, drv dialect.Driver) error {
			return fn(ctx, ent.NewClient(ent.Driver(drv)))
		})
		if !errors.Is(err, sqlrecord.ErrRead) || !strings.Contains(err.Error(), "Update().Where(...)") {
			t.Errorf("%s: got %v, want ErrRead naming the fix", name, err)
		}
	}
}

// TestRecordedSQLStoresWhatTheDriverWould creates the same post twice on a
// real database, once through the driver and once by running the recorded
// SQL, with values that differ between dialects (quotes, a backslash, a
// line break, an enum, a time in another zone with nanoseconds), and reads
// both back: they must be equal.
func TestRecordedSQLStoresWhatTheDriverWould(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		author := db.Client.User.Create().SetName("Ada").SetEmail("ada@example.com").SaveX(ctx)
		at := time.Date(2026, 12, 6, 18, 30, 15, 123456789, time.FixedZone("IST", 5*3600+1800))
		create := func(ctx context.Context, c *ent.Client) error {
			return c.Post.Create().SetUserID(author.ID).
				SetTitle(`it's a \ "test"; -- not a comment`).
				SetBody("naïve ☃\nline two\\n").
				SetStatus(post.StatusPublished).SetPublishedAt(at).SetViewCount(42).
				SetCreatedAt(at).SetUpdatedAt(at).Exec(ctx)
		}
		if err := create(ctx, db.Client); err != nil {
			t.Fatal(err)
		}
		rec := record(t, db.Dialect.Ent(), create)
		if diff := cmp.Diff([]string{"posts.*"}, rec.Touches); diff != "" {
			t.Errorf("touches (-want +got):\n%s", diff)
		}
		for _, s := range rec.Statements {
			if strings.Contains(strings.ToUpper(s), "RETURNING") {
				t.Errorf("the RETURNING clause was kept: %s", s)
			}
			if _, err := db.SQL.ExecContext(ctx, s); err != nil {
				t.Fatalf("running the recorded %s: %v", s, err)
			}
		}
		posts := db.Client.Post.Query().Order(ent.Asc(post.FieldID)).AllX(ctx)
		if len(posts) != 2 {
			t.Fatalf("%d posts, want 2", len(posts))
		}
		type fields struct {
			Title, Body, Status string
			ViewCount, UserID   int
			PublishedAt         *time.Time
			CreatedAt           time.Time
			UpdatedAt           time.Time
		}
		read := func(p *ent.Post) fields {
			f := fields{p.Title, p.Body, string(p.Status), p.ViewCount, p.UserID, p.PublishedAt, p.CreatedAt, p.UpdatedAt}
			for _, t := range []*time.Time{f.PublishedAt, &f.CreatedAt, &f.UpdatedAt} {
				if t != nil {
					*t = t.UTC() // the same instant, however the driver reads the zone
				}
			}
			return f
		}
		if diff := cmp.Diff(read(posts[0]), read(posts[1])); diff != "" {
			t.Errorf("the recorded SQL stored another post (-driver +recording):\n%s", diff)
		}
	})
}
