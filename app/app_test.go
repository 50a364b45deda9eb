package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/config"
	"github.com/weber-framework/weber/ent/tag"
	"github.com/weber-framework/weber/internal/testdb"
)

// api drives the app's handler through httptest.
type api struct {
	t   *testing.T
	h   http.Handler
	db  *testdb.DB
	log *syncBuffer
}

// syncBuffer collects log output written from handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newAPI(t *testing.T, db *testdb.DB, opts ...Option) *api {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := config.FromEnv(func(string) string { return "" })
	cfg.Logger = logger
	a, err := New(db.Client, db.SQL, cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &api{t: t, h: a.Handler(), db: db, log: logs}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (a *api) do(method, path string, body any, headers ...string) response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequestWithContext(a.t.Context(), method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// expect checks the status and decodes the body into out (when not nil).
func (a *api) expect(r response, status int, out any) {
	a.t.Helper()
	if r.status != status {
		a.t.Fatalf("status = %d, want %d; body: %s", r.status, status, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			a.t.Fatalf("decoding %s: %v", r.body, err)
		}
	}
}

// expectError checks an error response: status, and the field it names.
func (a *api) expectError(r response, status int, field string) ErrorBody {
	a.t.Helper()
	var e ErrorBody
	a.expect(r, status, &e)
	if e.Field != field {
		a.t.Fatalf("error field = %q, want %q; body: %s", e.Field, field, r.body)
	}
	if e.Error == "" {
		a.t.Fatalf("error body has no message: %s", r.body)
	}
	if e.RequestID == "" || e.RequestID != r.header.Get(RequestIDHeader) {
		a.t.Fatalf("error body request_id %q, header %q: want the same id", e.RequestID, r.header.Get(RequestIDHeader))
	}
	return e
}

func (a *api) createUser(name, email string) UserJSON {
	a.t.Helper()
	var u UserJSON
	a.expect(a.do("POST", "/users", map[string]any{"name": name, "email": email}), http.StatusCreated, &u)
	return u
}

func (a *api) createPost(uid int, body map[string]any) PostJSON {
	a.t.Helper()
	var p PostJSON
	a.expect(a.do("POST", fmt.Sprintf("/users/%d/posts", uid), body), http.StatusCreated, &p)
	return p
}

func mustRFC3339(t *testing.T, name, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("%s = %q is not RFC 3339: %v", name, s, err)
	}
	return ts
}

func TestUserLifecycle(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		before := time.Now().Add(-2 * time.Second)
		r := a.do("POST", "/users", map[string]any{"name": " Ada ", "email": "Ada@Example.com", "bio": "math"})
		var u UserJSON
		a.expect(r, http.StatusCreated, &u)
		want := UserJSON{ID: u.ID, Name: "Ada", Email: "ada@example.com", Role: "member", Bio: "math", CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
		if diff := cmp.Diff(want, u); diff != "" || u.ID == 0 {
			t.Fatalf("created user (id %d): want trimmed name, lower-cased email, default role member (-want +got):\n%s", u.ID, diff)
		}
		if loc := r.header.Get("Location"); loc != fmt.Sprintf("/users/%d", u.ID) {
			t.Fatalf("Location = %q", loc)
		}
		if c := mustRFC3339(t, "created_at", u.CreatedAt); c.Before(before) || c.After(time.Now().Add(2*time.Second)) {
			t.Fatalf("created_at = %s, not now", c)
		}
		mustRFC3339(t, "updated_at", u.UpdatedAt)

		var got UserJSON
		a.expect(a.do("GET", fmt.Sprintf("/users/%d", u.ID), nil), http.StatusOK, &got)
		if got != u {
			t.Fatalf("GET = %+v, want what POST returned %+v", got, u)
		}

		var patched UserJSON
		a.expect(a.do("PATCH", fmt.Sprintf("/users/%d", u.ID), map[string]any{"role": "admin", "bio": nil}), http.StatusOK, &patched)
		want = u
		want.Role, want.Bio, want.UpdatedAt = "admin", "", patched.UpdatedAt
		if diff := cmp.Diff(want, patched); diff != "" {
			t.Fatalf("PATCH role=admin bio=null (-want +got):\n%s", diff)
		}
		a.expect(a.do("GET", fmt.Sprintf("/users/%d", u.ID), nil), http.StatusOK, &got)
		if got.Role != "admin" || got.Bio != "" {
			t.Fatalf("after PATCH, GET = %+v: the change was not stored", got)
		}

		a.expect(a.do("DELETE", fmt.Sprintf("/users/%d", u.ID), nil), http.StatusNoContent, nil)
		a.expectError(a.do("GET", fmt.Sprintf("/users/%d", u.ID), nil), http.StatusNotFound, "")
		a.expectError(a.do("DELETE", fmt.Sprintf("/users/%d", u.ID), nil), http.StatusNotFound, "")
		a.expectError(a.do("PATCH", fmt.Sprintf("/users/%d", u.ID), map[string]any{"name": "x"}), http.StatusNotFound, "")
	})
}

func TestInvalidInputNamesTheField(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		u := a.createUser("Ada", "ada@example.com")
		for _, tc := range []struct {
			name, method, path string
			body               any
			status             int
			field              string
		}{
			{"missing name", "POST", "/users", map[string]any{"email": "b@example.com"}, 422, "name"},
			{"empty name", "POST", "/users", map[string]any{"name": "", "email": "b@example.com"}, 422, "name"},
			{"name too long", "POST", "/users", map[string]any{"name": strings.Repeat("n", 101), "email": "b@example.com"}, 422, "name"},
			{"bad email", "POST", "/users", map[string]any{"name": "B", "email": "not-an-address"}, 422, "email"},
			{"bad role", "POST", "/users", map[string]any{"name": "B", "email": "b@example.com", "role": "boss"}, 422, "role"},
			{"name not a string", "POST", "/users", map[string]any{"name": 5, "email": "b@example.com"}, 400, "name"},
			{"unknown field", "POST", "/users", map[string]any{"name": "B", "email": "b@example.com", "admin": true}, 400, "admin"},
			{"not JSON", "POST", "/users", `{"name": `, 400, ""},
			{"not an object", "POST", "/users", `["name"]`, 400, ""},
			{"null name on patch", "PATCH", fmt.Sprintf("/users/%d", u.ID), map[string]any{"name": nil}, 422, "name"},
			{"bad email on patch", "PATCH", fmt.Sprintf("/users/%d", u.ID), map[string]any{"email": "@"}, 422, "email"},
			{"id not a number", "GET", "/users/abc", nil, 400, "id"},
			{"bad role filter", "GET", "/users?role=boss", nil, 400, "role"},
			{"bad status filter", "GET", "/posts?status=gone", nil, 400, "status"},
			{"post without title", "POST", fmt.Sprintf("/users/%d/posts", u.ID), map[string]any{"body": "b"}, 422, "title"},
			{"post bad status", "POST", fmt.Sprintf("/users/%d/posts", u.ID), map[string]any{"title": "t", "status": "gone"}, 422, "status"},
			{"post bad published_at", "POST", fmt.Sprintf("/users/%d/posts", u.ID), map[string]any{"title": "t", "published_at": "yesterday"}, 400, "published_at"},
			{"post empty tag", "POST", fmt.Sprintf("/users/%d/posts", u.ID), map[string]any{"title": "t", "tags": []string{"ok", " "}}, 422, "tags"},
			{"tags not a list", "POST", fmt.Sprintf("/users/%d/posts", u.ID), map[string]any{"title": "t", "tags": "go"}, 400, "tags"},
			{"tag name too long", "POST", "/tags", map[string]any{"name": strings.Repeat("t", 51)}, 422, "name"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := *a
				a.t = t
				a.expectError(a.do(tc.method, tc.path, tc.body), tc.status, tc.field)
			})
		}
		// Nothing invalid was stored.
		if n := db.Client.User.Query().CountX(t.Context()); n != 1 {
			t.Fatalf("users = %d after invalid requests, want 1", n)
		}
		if n := db.Client.Post.Query().CountX(t.Context()); n != 0 {
			t.Fatalf("posts = %d after invalid requests, want 0", n)
		}
	})
}

func TestDuplicateUniqueValueIsConflict(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		a.createUser("Ada", "ada@example.com")
		e := a.expectError(a.do("POST", "/users", map[string]any{"name": "Other", "email": "ADA@example.com"}), http.StatusConflict, "email")
		if !strings.Contains(e.Error, "email") {
			t.Fatalf("409 message %q does not name the field", e.Error)
		}
		bob := a.createUser("Bob", "bob@example.com")
		a.expectError(a.do("PATCH", fmt.Sprintf("/users/%d", bob.ID), map[string]any{"email": "ada@example.com"}), http.StatusConflict, "email")

		var t1 TagJSON
		a.expect(a.do("POST", "/tags", map[string]any{"name": "Go"}), http.StatusCreated, &t1)
		a.expectError(a.do("POST", "/tags", map[string]any{"name": "go"}), http.StatusConflict, "name")
		var t2 TagJSON
		a.expect(a.do("POST", "/tags", map[string]any{"name": "sql"}), http.StatusCreated, &t2)
		a.expectError(a.do("PATCH", fmt.Sprintf("/tags/%d", t2.ID), map[string]any{"name": "go"}), http.StatusConflict, "name")
		if strings.Contains(a.log.String(), "level=ERROR") {
			t.Fatalf("a 409 was logged as an error:\n%s", a.log.String())
		}
	})
}

func TestPagination(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		var ids []int
		for i := range 5 {
			ids = append(ids, a.createUser(fmt.Sprintf("U%d", i), fmt.Sprintf("u%d@example.com", i)).ID)
		}
		a.expect(a.do("PATCH", fmt.Sprintf("/users/%d", ids[1]), map[string]any{"role": "admin"}), http.StatusOK, nil)
		a.expect(a.do("PATCH", fmt.Sprintf("/users/%d", ids[3]), map[string]any{"role": "admin"}), http.StatusOK, nil)

		// Follow the cursor: every user once, in order.
		var seen []int
		path := "/users?limit=2"
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("the cursor never ends")
			}
			var page listBody[UserJSON]
			a.expect(a.do("GET", path, nil), http.StatusOK, &page)
			if len(page.Items) > 2 {
				t.Fatalf("limit=2 gave %d items", len(page.Items))
			}
			for _, u := range page.Items {
				seen = append(seen, u.ID)
			}
			if page.NextAfter == nil {
				break
			}
			path = fmt.Sprintf("/users?limit=2&after=%d", *page.NextAfter)
		}
		if fmt.Sprint(seen) != fmt.Sprint(ids) {
			t.Fatalf("paging with after gave %v, want %v", seen, ids)
		}

		var page listBody[UserJSON]
		a.expect(a.do("GET", "/users", nil), http.StatusOK, &page)
		if len(page.Items) != 5 || page.NextAfter != nil {
			t.Fatalf("default page: %d items, next %v; want all 5 and no next", len(page.Items), page.NextAfter)
		}
		a.expect(a.do("GET", "/users?offset=3&limit=1", nil), http.StatusOK, &page)
		if len(page.Items) != 1 || page.Items[0].ID != ids[3] || page.NextAfter == nil {
			t.Fatalf("offset=3&limit=1 gave %+v", page)
		}
		a.expect(a.do("GET", "/users?offset=10", nil), http.StatusOK, &page)
		if len(page.Items) != 0 || !bytes.Contains(a.do("GET", "/users?offset=10", nil).body, []byte(`"items":[]`)) {
			t.Fatalf("offset past the end: %+v; want an empty list, not null", page)
		}
		a.expect(a.do("GET", "/users?role=admin", nil), http.StatusOK, &page)
		if len(page.Items) != 2 || page.Items[0].ID != ids[1] || page.Items[1].ID != ids[3] {
			t.Fatalf("role=admin gave %+v, want users %d and %d", page.Items, ids[1], ids[3])
		}
		a.expect(a.do("GET", "/users?limit=100", nil), http.StatusOK, nil)
		a.expect(a.do("GET", "/users?limit=1", nil), http.StatusOK, nil)
		for _, bad := range []struct{ query, field string }{
			{"limit=0", "limit"},
			{"limit=101", "limit"},
			{"limit=-1", "limit"},
			{"limit=ten", "limit"},
			{"limit=", "limit"},
			{"offset=-1", "offset"},
			{"after=x", "after"},
			{"after=1&offset=1", "offset"},
		} {
			e := a.expectError(a.do("GET", "/users?"+bad.query, nil), http.StatusBadRequest, bad.field)
			if !strings.Contains(e.Error, bad.field) {
				t.Fatalf("?%s: message %q does not name %s", bad.query, e.Error, bad.field)
			}
		}
		a.expectError(a.do("GET", "/posts?limit=1000", nil), http.StatusBadRequest, "limit")
		a.expectError(a.do("GET", "/tags?limit=0", nil), http.StatusBadRequest, "limit")
	})
}

func TestUserPostsFollowsTheEdge(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		ada := a.createUser("Ada", "ada@example.com")
		bob := a.createUser("Bob", "bob@example.com")
		carol := a.createUser("Carol", "carol@example.com")
		p1 := a.createPost(ada.ID, map[string]any{"title": "one"})
		p2 := a.createPost(ada.ID, map[string]any{"title": "two", "status": "published"})
		a.createPost(bob.ID, map[string]any{"title": "bob's"})

		var page listBody[PostJSON]
		a.expect(a.do("GET", fmt.Sprintf("/users/%d/posts", ada.ID), nil), http.StatusOK, &page)
		if len(page.Items) != 2 || page.Items[0].ID != p1.ID || page.Items[1].ID != p2.ID {
			t.Fatalf("Ada's posts = %+v, want %d and %d", page.Items, p1.ID, p2.ID)
		}
		for _, p := range page.Items {
			if p.UserID != ada.ID {
				t.Fatalf("post %d of user %d listed under Ada", p.ID, p.UserID)
			}
		}
		a.expect(a.do("GET", fmt.Sprintf("/users/%d/posts?status=published", ada.ID), nil), http.StatusOK, &page)
		if len(page.Items) != 1 || page.Items[0].ID != p2.ID || page.Items[0].PublishedAt == nil {
			t.Fatalf("Ada's published posts = %+v, want only %d with published_at", page.Items, p2.ID)
		}
		mustRFC3339(t, "published_at", *page.Items[0].PublishedAt)
		a.expect(a.do("GET", fmt.Sprintf("/users/%d/posts?limit=1", ada.ID), nil), http.StatusOK, &page)
		if len(page.Items) != 1 || page.NextAfter == nil {
			t.Fatalf("limit=1 on the edge: %+v", page)
		}
		r := a.do("GET", fmt.Sprintf("/users/%d/posts", carol.ID), nil)
		a.expect(r, http.StatusOK, &page)
		if len(page.Items) != 0 || !bytes.Contains(r.body, []byte(`"items":[]`)) {
			t.Fatalf("a user without posts: %s; want an empty list", r.body)
		}
		a.expectError(a.do("GET", "/users/999999/posts", nil), http.StatusNotFound, "")

		// Deleting the author deletes the posts (ON DELETE CASCADE).
		a.expect(a.do("DELETE", fmt.Sprintf("/users/%d", ada.ID), nil), http.StatusNoContent, nil)
		a.expectError(a.do("GET", fmt.Sprintf("/posts/%d", p1.ID), nil), http.StatusNotFound, "")
		a.expect(a.do("GET", "/posts", nil), http.StatusOK, &page)
		if len(page.Items) != 1 || page.Items[0].UserID != bob.ID {
			t.Fatalf("after deleting Ada, posts = %+v; want only Bob's", page.Items)
		}
	})
}

func TestCreatePostWithTags(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		ada := a.createUser("Ada", "ada@example.com")
		var existing TagJSON
		a.expect(a.do("POST", "/tags", map[string]any{"name": "go"}), http.StatusCreated, &existing)

		p := a.createPost(ada.ID, map[string]any{"title": "Hello", "body": "text", "tags": []string{"Go", "db", " go "}})
		want := PostJSON{ID: p.ID, Title: "Hello", Body: "text", Status: "draft", UserID: ada.ID, Tags: []string{"db", "go"},
			ViewCount: p.ViewCount, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Fatalf("created post (-want +got):\n%s", diff)
		}
		// The existing tag was reused, not duplicated.
		goTag := db.Client.Tag.Query().Where(tag.Name("go")).OnlyX(t.Context())
		if goTag.ID != existing.ID {
			t.Fatalf("tag go has id %d, want the existing %d", goTag.ID, existing.ID)
		}
		p2 := a.createPost(ada.ID, map[string]any{"title": "Again", "tags": []string{"db", "sql"}})
		if fmt.Sprint(p2.Tags) != "[db sql]" {
			t.Fatalf("second post tags = %v", p2.Tags)
		}
		if n := db.Client.Tag.Query().CountX(t.Context()); n != 3 {
			t.Fatalf("tags = %d, want 3 (go, db, sql)", n)
		}
		var got PostJSON
		a.expect(a.do("GET", fmt.Sprintf("/posts/%d", p.ID), nil), http.StatusOK, &got)
		if fmt.Sprint(got.Tags) != "[db go]" {
			t.Fatalf("GET post tags = %v", got.Tags)
		}
		var page listBody[PostJSON]
		a.expect(a.do("GET", "/posts?tag=db", nil), http.StatusOK, &page)
		if len(page.Items) != 2 {
			t.Fatalf("posts tagged db = %d, want 2", len(page.Items))
		}
		a.expect(a.do("GET", fmt.Sprintf("/tags/%d/posts", existing.ID), nil), http.StatusOK, &page)
		if len(page.Items) != 1 || page.Items[0].ID != p.ID {
			t.Fatalf("posts of tag go = %+v, want only %d", page.Items, p.ID)
		}

		// PATCH: publish (stamps published_at) and replace the tags.
		var up PostJSON
		a.expect(a.do("PATCH", fmt.Sprintf("/posts/%d", p.ID), map[string]any{"status": "published", "tags": []string{"sql", "new"}}), http.StatusOK, &up)
		want.Status, want.Tags, want.UpdatedAt, want.PublishedAt = "published", []string{"new", "sql"}, up.UpdatedAt, up.PublishedAt
		if diff := cmp.Diff(want, up); diff != "" || up.PublishedAt == nil {
			t.Fatalf("patched post: want it published now, with the new tags (-want +got):\n%s(published at %v)", diff, up.PublishedAt)
		}
		a.expect(a.do("PATCH", fmt.Sprintf("/posts/%d", p.ID), map[string]any{"published_at": nil}), http.StatusOK, &up)
		if up.PublishedAt != nil {
			t.Fatalf("published_at null did not clear it: %+v", up)
		}
		a.expect(a.do("DELETE", fmt.Sprintf("/posts/%d", p.ID), nil), http.StatusNoContent, nil)
		a.expectError(a.do("GET", fmt.Sprintf("/posts/%d", p.ID), nil), http.StatusNotFound, "")
		// Tags outlive their posts.
		if n := db.Client.Tag.Query().CountX(t.Context()); n != 4 {
			t.Fatalf("tags = %d after deleting a post, want 4", n)
		}
	})
}

// The transactional endpoint writes nothing when a later step fails: tags
// created earlier in the same request are rolled back.
func TestCreatePostRollsBackEverything(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		ada := a.createUser("Ada", "ada@example.com")
		a.createPost(ada.ID, map[string]any{"title": "kept", "tags": []string{"old"}})
		tagsBefore := db.Client.Tag.Query().CountX(t.Context())

		for _, tc := range []struct {
			name   string
			body   map[string]any
			status int
			field  string
		}{
			// The tags are inserted first; the title fails ent's validator afterwards.
			{"empty title after new tags", map[string]any{"title": " ", "tags": []string{"fresh1", "old", "fresh2"}}, 422, "title"},
			{"title too long after new tags", map[string]any{"title": strings.Repeat("t", 201), "tags": []string{"fresh3"}}, 422, "title"},
			{"bad status after new tags", map[string]any{"title": "t", "status": "gone", "tags": []string{"fresh4"}}, 422, "status"},
		} {
			a.expectError(a.do("POST", fmt.Sprintf("/users/%d/posts", ada.ID), tc.body), tc.status, tc.field)
			if n := db.Client.Tag.Query().CountX(t.Context()); n != tagsBefore {
				names := db.Client.Tag.Query().Select(tag.FieldName).StringsX(t.Context())
				t.Fatalf("%s: tags = %v after a failed request; want the %d from before: the transaction leaked", tc.name, names, tagsBefore)
			}
		}
		a.expectError(a.do("POST", "/users/999999/posts", map[string]any{"title": "t", "tags": []string{"fresh5"}}), http.StatusNotFound, "")
		if n := db.Client.Post.Query().CountX(t.Context()); n != 1 {
			t.Fatalf("posts = %d after failed requests, want 1", n)
		}
		if n := db.Client.Tag.Query().CountX(t.Context()); n != tagsBefore {
			t.Fatalf("tags = %d after failed requests, want %d", n, tagsBefore)
		}
		// PATCH with tags is transactional too.
		p := db.Client.Post.Query().OnlyX(t.Context())
		a.expectError(a.do("PATCH", fmt.Sprintf("/posts/%d", p.ID), map[string]any{"title": "", "tags": []string{"fresh6"}}), 422, "title")
		var got PostJSON
		a.expect(a.do("GET", fmt.Sprintf("/posts/%d", p.ID), nil), http.StatusOK, &got)
		if got.Title != "kept" || fmt.Sprint(got.Tags) != "[old]" {
			t.Fatalf("after a failed PATCH the post is %+v; want it unchanged", got)
		}
		if n := db.Client.Tag.Query().CountX(t.Context()); n != tagsBefore {
			t.Fatalf("tags = %d after a failed PATCH, want %d", n, tagsBefore)
		}
		// The database is usable afterwards: no transaction was left open.
		a.createPost(ada.ID, map[string]any{"title": "after", "tags": []string{"fresh1"}})
	})
}

func TestTags(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		var tg TagJSON
		a.expect(a.do("POST", "/tags", map[string]any{"name": " Databases "}), http.StatusCreated, &tg)
		if tg.Name != "databases" {
			t.Fatalf("tag = %+v, want the name trimmed and lower-cased", tg)
		}
		var got TagJSON
		a.expect(a.do("GET", fmt.Sprintf("/tags/%d", tg.ID), nil), http.StatusOK, &got)
		if got != tg {
			t.Fatalf("GET = %+v, want %+v", got, tg)
		}
		a.expect(a.do("PATCH", fmt.Sprintf("/tags/%d", tg.ID), map[string]any{"name": "db"}), http.StatusOK, &got)
		if got.Name != "db" {
			t.Fatalf("renamed tag = %+v", got)
		}
		a.expect(a.do("POST", "/tags", map[string]any{"name": "dba"}), http.StatusCreated, nil)
		a.expect(a.do("POST", "/tags", map[string]any{"name": "go"}), http.StatusCreated, nil)
		var page listBody[TagJSON]
		a.expect(a.do("GET", "/tags?prefix=db", nil), http.StatusOK, &page)
		if len(page.Items) != 2 {
			t.Fatalf("tags with prefix db = %+v", page.Items)
		}
		a.expect(a.do("DELETE", fmt.Sprintf("/tags/%d", tg.ID), nil), http.StatusNoContent, nil)
		a.expectError(a.do("GET", fmt.Sprintf("/tags/%d", tg.ID), nil), http.StatusNotFound, "")
	})
}

func TestLivezAndReadyz(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		pending := NotReady("2 migration files pending: run weberctl db upgrade")
		// A driver's error names the user, host and database: the log gets
		// it, the public body does not.
		leaky := fmt.Errorf("reading the migration status: %w",
			errors.New(`failed to connect to user=weber database=shop host=10.1.2.3:5432: password authentication failed`))
		var failing bool
		var failWith error
		var mu sync.Mutex
		a := newAPI(t, db, WithReadiness("migrations", func(ctx context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			if failing {
				return failWith
			}
			return nil
		}))
		type health struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		var h health
		a.expect(a.do("GET", "/livez", nil), http.StatusOK, &h)
		a.expect(a.do("GET", "/readyz", nil), http.StatusOK, &h)
		if h.Status != "ready" || h.Checks["database"] != "ok" || h.Checks["migrations"] != "ok" {
			t.Fatalf("readyz = %+v", h)
		}

		mu.Lock()
		failing, failWith = true, pending
		mu.Unlock()
		a.expect(a.do("GET", "/readyz", nil), http.StatusServiceUnavailable, &h)
		if h.Checks["migrations"] != pending.Error() || h.Checks["database"] != "ok" {
			t.Fatalf("readyz with a failing check = %+v", h)
		}

		mu.Lock()
		failWith = leaky
		mu.Unlock()
		r := a.do("GET", "/readyz", nil)
		a.expect(r, http.StatusServiceUnavailable, &h)
		for _, secret := range []string{"weber", "shop", "10.1.2.3", "5432", "password"} {
			if strings.Contains(string(r.body), secret) {
				t.Errorf("/readyz shows %q to anyone: %s", secret, r.body)
			}
		}
		if h.Checks["migrations"] != "unavailable" {
			t.Errorf("readyz with a driver error: checks = %v, want migrations: unavailable", h.Checks)
		}
		if !strings.Contains(a.log.String(), "host=10.1.2.3:5432") {
			t.Errorf("the log lacks the details of the failed check:\n%s", a.log.String())
		}
		mu.Lock()
		failing = false
		mu.Unlock()

		// The database goes away: not ready, but alive.
		if err := db.SQL.Close(); err != nil {
			t.Fatal(err)
		}
		a.expect(a.do("GET", "/readyz", nil), http.StatusServiceUnavailable, &h)
		if h.Status != "unavailable" || h.Checks["database"] != "unreachable" {
			t.Fatalf("readyz on a closed database = %+v", h)
		}
		a.expect(a.do("GET", "/livez", nil), http.StatusOK, &h)
		if h.Status != "ok" {
			t.Fatalf("livez = %+v", h)
		}
	})
}

// Readiness without a *sql.DB goes through the client.
func TestReadyzWithoutSQLDB(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	app, err := New(db.Client, nil, config.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a := &api{t: t, h: app.Handler(), db: db}
	a.expect(a.do("GET", "/readyz", nil), http.StatusOK, nil)
	db.SQL.Close()
	a.expect(a.do("GET", "/readyz", nil), http.StatusServiceUnavailable, nil)
}

// An unexpected error is a 500 whose body says nothing internal, logged
// once at error level with the request id the client sees.
func TestInternalErrorLoggedOnceWithRequestID(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		db.SQL.Close()
		r := a.do("GET", "/users", nil, RequestIDHeader, "req-abc-123")
		e := a.expectError(r, http.StatusInternalServerError, "")
		if e.RequestID != "req-abc-123" {
			t.Fatalf("request id = %q, want the one sent", e.RequestID)
		}
		if strings.Contains(e.Error, "closed") || strings.Contains(e.Error, "sql") {
			t.Fatalf("500 body leaks the cause: %q", e.Error)
		}
		logs := a.log.String()
		if n := strings.Count(logs, "level=ERROR"); n != 1 {
			t.Fatalf("%d error lines, want 1:\n%s", n, logs)
		}
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, "level=ERROR") && (!strings.Contains(line, "request_id=req-abc-123") || !strings.Contains(line, "database is closed")) {
				t.Fatalf("the error line lacks the request id or the cause: %s", line)
			}
		}
	})
}

func TestRequestLogAndID(t *testing.T) {
	t.Parallel()
	a := newAPI(t, testdb.New(t))
	r := a.do("GET", "/users/424242", nil)
	id := r.header.Get(RequestIDHeader)
	if len(id) != 24 {
		t.Fatalf("generated request id %q", id)
	}
	if other := a.do("GET", "/livez", nil).header.Get(RequestIDHeader); other == id {
		t.Fatalf("two requests got the same id %q", id)
	}
	if got := a.do("GET", "/livez", nil, RequestIDHeader, "bad id\nwith newline").header.Get(RequestIDHeader); strings.ContainsAny(got, " \n") {
		t.Fatalf("a malformed request id was echoed: %q", got)
	}
	logs := a.log.String()
	want := []string{"method=GET", "path=/users/424242", "status=404", "request_id=" + id, "duration="}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "request_id="+id) {
			for _, w := range want {
				if !strings.Contains(line, w) {
					t.Fatalf("request log line lacks %q: %s", w, line)
				}
			}
			return
		}
	}
	t.Fatalf("no request log line for %s:\n%s", id, logs)
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	if _, err := New(nil, nil, config.Config{}); err == nil {
		t.Fatal("New(nil client) succeeded")
	}
	db := testdb.New(t)
	if _, err := New(db.Client, db.SQL, config.Config{}, WithReadiness("x", nil)); err == nil {
		t.Fatal("a nil readiness check was accepted")
	}
	ok := func(context.Context) error { return nil }
	if _, err := New(db.Client, db.SQL, config.Config{}, WithReadiness("x", ok), WithReadiness("x", ok)); err == nil {
		t.Fatal("two readiness checks with one name were accepted")
	}
	if _, err := New(db.Client, db.SQL, config.Config{}, WithReadiness("", ok)); err == nil {
		t.Fatal("an unnamed readiness check was accepted")
	}
}

// Requests naming the same new tag at the same time all succeed and the
// tag exists once.
func TestConcurrentPostsShareNewTags(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		ada := a.createUser("Ada", "ada@example.com")
		const n = 8
		var wg sync.WaitGroup
		codes := make([]response, n)
		for i := range n {
			wg.Go(func() {
				codes[i] = a.do("POST", fmt.Sprintf("/users/%d/posts", ada.ID),
					map[string]any{"title": fmt.Sprintf("p%d", i), "tags": []string{"shared", fmt.Sprintf("own%d", i), "common"}})
			})
		}
		wg.Wait()
		for i, r := range codes {
			if r.status != http.StatusCreated {
				t.Errorf("request %d: status %d: %s", i, r.status, r.body)
			}
		}
		if got := db.Client.Tag.Query().Where(tag.Name("shared")).CountX(t.Context()); got != 1 {
			t.Fatalf("tag shared exists %d times", got)
		}
		if got := db.Client.Tag.Query().CountX(t.Context()); got != n+2 {
			t.Fatalf("tags = %d, want %d", got, n+2)
		}
	})
}

func TestTagDescription(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		var tg TagJSON
		a.expect(a.do("POST", "/tags", map[string]any{"name": "sql", "description": "Structured queries"}), http.StatusCreated, &tg)
		if tg.Description != "Structured queries" {
			t.Fatalf("created tag = %+v, want the description kept", tg)
		}
		var got TagJSON
		a.expect(a.do("PATCH", fmt.Sprintf("/tags/%d", tg.ID), map[string]any{"description": "SQL"}), http.StatusOK, &got)
		if got.Name != "sql" || got.Description != "SQL" {
			t.Fatalf("patched tag = %+v, want name kept and description changed", got)
		}
		a.expectError(a.do("POST", "/tags", map[string]any{"name": "x", "description": strings.Repeat("d", 501)}), http.StatusUnprocessableEntity, "description")
		a.expectError(a.do("PATCH", fmt.Sprintf("/tags/%d", tg.ID), map[string]any{"description": nil}), http.StatusUnprocessableEntity, "description")
	})
}

func TestConcurrentViewsAreAllCounted(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		u := a.createUser("Viewed", "viewed@example.com")
		p := a.createPost(u.ID, map[string]any{"title": "Popular"})
		if p.ViewCount != 0 {
			t.Fatalf("new post view_count = %d, want 0", p.ViewCount)
		}
		const views = 12
		var wg sync.WaitGroup
		statuses := make([]int, views)
		for i := range views {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := httptest.NewRequest("POST", fmt.Sprintf("/posts/%d/views", p.ID), nil)
				rec := httptest.NewRecorder()
				a.h.ServeHTTP(rec, req)
				statuses[i] = rec.Code
			}()
		}
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusOK {
				t.Fatalf("view %d answered %d", i, s)
			}
		}
		var got PostJSON
		a.expect(a.do("GET", fmt.Sprintf("/posts/%d", p.ID), nil), http.StatusOK, &got)
		if got.ViewCount != views {
			t.Fatalf("view_count = %d after %d concurrent views", got.ViewCount, views)
		}
		a.expectError(a.do("POST", "/posts/999999/views", nil), http.StatusNotFound, "")
	})
}

// Text is counted in characters, as the columns count it, and NUL is
// refused with the field named on every backend (PostgreSQL cannot store
// it; the others would).
func TestTextLimitsAndNUL(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		name := strings.Repeat("é", 100) // 200 bytes, 100 characters: the limit
		var u UserJSON
		a.expect(a.do("POST", "/users", map[string]any{"name": name, "email": "e@example.com"}), http.StatusCreated, &u)
		if u.Name != name {
			t.Errorf("name read back as %q (%d characters), want 100 × é", u.Name, utf8.RuneCountInString(u.Name))
		}
		e := a.expectError(a.do("POST", "/users", map[string]any{"name": name + "é", "email": "f@example.com"}), http.StatusUnprocessableEntity, "name")
		if want := `field "name" is 101 characters long; it may be at most 100`; e.Error != want {
			t.Errorf("too long: error = %q, want %q", e.Error, want)
		}
		a.expectError(a.do("PATCH", fmt.Sprintf("/users/%d", u.ID), map[string]any{"bio": strings.Repeat("ü", 1001)}), http.StatusUnprocessableEntity, "bio")

		for _, c := range []struct {
			method, path string
			body         map[string]any
			field        string
		}{
			{"POST", "/users", map[string]any{"name": "a\x00b", "email": "g@example.com"}, "name"},
			{"PATCH", fmt.Sprintf("/users/%d", u.ID), map[string]any{"bio": "\x00"}, "bio"},
			{"POST", "/tags", map[string]any{"name": "go", "description": "x\x00"}, "description"},
			{"POST", fmt.Sprintf("/users/%d/posts", u.ID), map[string]any{"title": "t", "tags": []string{"ok", "b\x00d"}}, "tags"},
		} {
			e := a.expectError(a.do(c.method, c.path, c.body), http.StatusBadRequest, c.field)
			if !strings.Contains(e.Error, "NUL") {
				t.Errorf("%s %s: error = %q, want it to name the NUL character", c.method, c.path, e.Error)
			}
		}
		a.expectError(a.do("GET", "/tags?prefix=a%00", nil), http.StatusBadRequest, "prefix")

		var tags listBody[TagJSON]
		a.expect(a.do("GET", "/tags", nil), http.StatusOK, &tags)
		if len(tags.Items) != 0 {
			t.Errorf("a refused request wrote tags: %+v", tags.Items)
		}
	})
}

// A body must be sent as JSON: a cross-site form (text/plain or
// form-encoded) cannot create records.
func TestBodyMustBeJSON(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		a := newAPI(t, db)
		body := `{"name":"Ada","email":"ada@example.com"}`
		for _, ct := range []string{"", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
			r := a.do("POST", "/users", body, "Content-Type", ct)
			if ct == "" {
				r = a.doNoType("POST", "/users", body)
			}
			e := a.expectError(r, http.StatusUnsupportedMediaType, "")
			if !strings.Contains(e.Error, "Content-Type: application/json") {
				t.Errorf("Content-Type %q: error = %q, want it to name the header to send", ct, e.Error)
			}
		}
		var users listBody[UserJSON]
		a.expect(a.do("GET", "/users", nil), http.StatusOK, &users)
		if len(users.Items) != 0 {
			t.Fatalf("a body that is not JSON created users: %+v", users.Items)
		}
		for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/merge-patch+json"} {
			email := strings.NewReplacer("/", "", ";", "", " ", "", "=", "", "+", "").Replace(ct) + "@example.com"
			a.expect(a.do("POST", "/users", `{"name":"Ada","email":"`+email+`"}`, "Content-Type", ct), http.StatusCreated, nil)
		}
	})
}

// doNoType sends a body without a Content-Type header.
func (a *api) doNoType(method, path, body string) response {
	a.t.Helper()
	req := httptest.NewRequestWithContext(a.t.Context(), method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}
