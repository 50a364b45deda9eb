package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/internal/testdb"
	publictestdb "github.com/weber-framework/weber/testdb"
)

// countingDriver is the real ent driver, counting the statements it sends
// to the database (transactions' statements included). Nothing is faked:
// every statement runs on the test's database.
type countingDriver struct {
	dialect.Driver
	n *atomic.Int64
}

func (d countingDriver) Exec(ctx context.Context, query string, args, v any) error {
	d.n.Add(1)
	return d.Driver.Exec(ctx, query, args, v)
}

func (d countingDriver) Query(ctx context.Context, query string, args, v any) error {
	d.n.Add(1)
	return d.Driver.Query(ctx, query, args, v)
}

func (d countingDriver) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := d.Driver.Tx(ctx)
	if err != nil {
		return nil, err
	}
	return countingTx{Tx: tx, n: d.n}, nil
}

type countingTx struct {
	dialect.Tx
	n *atomic.Int64
}

func (t countingTx) Exec(ctx context.Context, query string, args, v any) error {
	t.n.Add(1)
	return t.Tx.Exec(ctx, query, args, v)
}

func (t countingTx) Query(ctx context.Context, query string, args, v any) error {
	t.n.Add(1)
	return t.Tx.Query(ctx, query, args, v)
}

// fanout is a set of rows for TestListsRunAFixedNumberOfQueries: a user,
// a tag and a post with few related rows, and the same with many.
type fanout struct {
	user, tag, post int
}

// seedFanout gives the "few" user n posts, each with 3 tags, one of which
// is the "few" tag (on those n posts only), and one post with n tags.
func seedFanout(t *testing.T, c *ent.Client, name string, n int) fanout {
	t.Helper()
	ctx := t.Context()
	u := c.User.Create().SetName(name).SetEmail(name + "@example.com").SaveX(ctx)
	own := c.Tag.Create().SetName(name).SaveX(ctx)
	var tagIDs []int
	for i := range n {
		tagIDs = append(tagIDs, c.Tag.Create().SetName(fmt.Sprintf("%s-%d", name, i)).SaveX(ctx).ID)
	}
	bulk := make([]*ent.PostCreate, n)
	for i := range n {
		bulk[i] = c.Post.Create().SetAuthorID(u.ID).SetTitle(fmt.Sprintf("%s %d", name, i)).
			AddTagIDs(own.ID, tagIDs[i], tagIDs[(i+1)%n])
	}
	c.Post.CreateBulk(bulk...).ExecX(ctx)
	p := c.Post.Create().SetAuthorID(u.ID).SetTitle(name + " tagged").AddTagIDs(tagIDs...).SaveX(ctx)
	return fanout{user: u.ID, tag: own.ID, post: p.ID}
}

// TestListsRunAFixedNumberOfQueries counts the statements each list and
// edge endpoint sends to the database when it answers with 5 items and
// with 50: the same number, so no endpoint runs a query per item (N+1).
func TestListsRunAFixedNumberOfQueries(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		var n atomic.Int64
		client := ent.NewClient(ent.Driver(countingDriver{Driver: entsql.OpenDB(db.Dialect.Ent(), db.SQL), n: &n}))
		a := newAPI(t, &testdb.DB{DB: &publictestdb.DB{SQL: db.SQL}, Client: client})
		few := seedFanout(t, db.Client, "few", 5)
		many := seedFanout(t, db.Client, "many", 50)
		for i := range 60 {
			db.Client.User.Create().SetName("u").SetEmail(fmt.Sprintf("u%d@example.com", i)).ExecX(t.Context())
		}
		items := func(body []byte) int {
			var page listBody[json.RawMessage]
			a.expect(response{status: http.StatusOK, body: body}, http.StatusOK, &page)
			return len(page.Items)
		}
		tags := func(body []byte) int {
			var p PostJSON
			a.expect(response{status: http.StatusOK, body: body}, http.StatusOK, &p)
			return len(p.Tags)
		}
		for _, ep := range []struct {
			name      string
			few, many string
			count     func(body []byte) int
		}{
			{"list users", "/users?limit=5", "/users?limit=50", items},
			{"list posts", "/posts?limit=5", "/posts?limit=50", items},
			{"list tags", "/tags?limit=5", "/tags?limit=50", items},
			{"a user's posts", fmt.Sprintf("/users/%d/posts?limit=5", few.user), fmt.Sprintf("/users/%d/posts?limit=50", many.user), items},
			{"a tag's posts", fmt.Sprintf("/tags/%d/posts", few.tag), fmt.Sprintf("/tags/%d/posts?limit=100", many.tag), items},
			{"a post and its tags", fmt.Sprintf("/posts/%d", few.post), fmt.Sprintf("/posts/%d", many.post), tags},
		} {
			queries := func(path string, want int) int64 {
				t.Helper()
				n.Store(0)
				r := a.do("GET", path, nil)
				got := n.Load()
				a.expect(r, http.StatusOK, nil)
				if c := ep.count(r.body); c != want {
					t.Fatalf("%s: GET %s gave %d items, want %d: the rows are not what the test meant", ep.name, path, c, want)
				}
				return got
			}
			qFew, qMany := queries(ep.few, 5), queries(ep.many, 50)
			t.Logf("%s: %d queries for 5 items, %d for 50", ep.name, qFew, qMany)
			if qFew != qMany {
				t.Errorf("%s: %d queries for 5 items (%s) but %d for 50 (%s): the count grows with the rows, a query per item",
					ep.name, qFew, ep.few, qMany, ep.many)
			}
		}
	})
}

// TestEdgeListsTellEmptyFromMissing: an edge list reads its parent only when
// the page is empty, to answer 404 for a record that does not exist and an
// empty list for one without (more) posts.
func TestEdgeListsTellEmptyFromMissing(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		u := a.createUser("Ada", "ada@example.com")
		p := a.createPost(u.ID, map[string]any{"title": "One", "tags": []string{"go"}})
		var lonely TagJSON
		a.expect(a.do("POST", "/tags", map[string]any{"name": "lonely"}), http.StatusCreated, &lonely)
		a.expectError(a.do("GET", "/tags/999999/posts", nil), http.StatusNotFound, "")
		a.expectError(a.do("GET", "/users/999999/posts?after=1", nil), http.StatusNotFound, "")
		for _, path := range []string{
			fmt.Sprintf("/tags/%d/posts", lonely.ID),
			fmt.Sprintf("/users/%d/posts?after=%d", u.ID, p.ID),
			fmt.Sprintf("/users/%d/posts?status=draft&limit=1&offset=5", u.ID),
		} {
			var page listBody[PostJSON]
			a.expect(a.do("GET", path, nil), http.StatusOK, &page)
			if len(page.Items) != 0 || page.NextAfter != nil {
				t.Errorf("GET %s = %+v, want an empty page", path, page)
			}
		}
	})
}
