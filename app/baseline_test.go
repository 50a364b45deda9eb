package app

// The two baselines BenchmarkAPI measures Weber's handlers against: the
// benchmarked routes written with ent used directly (no middleware, no
// input checks beyond parsing, errors as 404 or 500), and with plain
// database/sql. Both answer with the same JSON as the app.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/ent/post"
	"github.com/weber-framework/weber/internal/testdb"
)

// baseJSON writes v as the app does.
func baseJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// baseFail answers 404 for a missing row, 500 for anything else.
func baseFail(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	if ent.IsNotFound(err) || errors.Is(err, sql.ErrNoRows) {
		status = http.StatusNotFound
	}
	http.Error(w, err.Error(), status)
}

// baseInt reads an integer query parameter, def when absent or bad.
func baseInt(r *http.Request, name string, def int) int {
	if n, err := strconv.Atoi(r.URL.Query().Get(name)); err == nil {
		return n
	}
	return def
}

// basePage trims the limit+1 rows fetched to a page, as the app's lists do.
func basePage[T any](items []T, limit int, id func(T) int) listBody[T] {
	page := listBody[T]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		next := id(page.Items[limit-1])
		page.NextAfter = &next
	}
	return page
}

// entBaseline serves the benchmarked routes with the ent client alone.
type entBaseline struct{ client *ent.Client }

func (e entBaseline) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /users", e.createUser)
	mux.HandleFunc("GET /users/{id}", e.getUser)
	mux.HandleFunc("GET /users/{id}/posts", e.userPosts)
	mux.HandleFunc("GET /posts", e.listPosts)
	mux.HandleFunc("GET /posts/{id}", e.getPost)
	return mux
}

func (e entBaseline) createUser(w http.ResponseWriter, r *http.Request) {
	var in struct{ Name, Email string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	u, err := e.client.User.Create().SetName(in.Name).SetEmail(in.Email).Save(r.Context())
	if err != nil {
		baseFail(w, err)
		return
	}
	baseJSON(w, http.StatusCreated, userJSON(u))
}

func (e entBaseline) getUser(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	u, err := e.client.User.Get(r.Context(), id)
	if err != nil {
		baseFail(w, err)
		return
	}
	baseJSON(w, http.StatusOK, userJSON(u))
}

func (e entBaseline) getPost(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	p, err := e.client.Post.Query().Where(post.ID(id)).WithTags().Only(r.Context())
	if err != nil {
		baseFail(w, err)
		return
	}
	baseJSON(w, http.StatusOK, postJSON(p))
}

func (e entBaseline) listPosts(w http.ResponseWriter, r *http.Request) {
	e.writePosts(w, r, e.client.Post.Query())
}

func (e entBaseline) userPosts(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	u, err := e.client.User.Get(r.Context(), id)
	if err != nil {
		baseFail(w, err)
		return
	}
	e.writePosts(w, r, e.client.User.QueryPosts(u))
}

func (e entBaseline) writePosts(w http.ResponseWriter, r *http.Request, q *ent.PostQuery) {
	limit := baseInt(r, "limit", DefaultLimit)
	if after := baseInt(r, "after", 0); after > 0 {
		q.Where(post.IDGT(after))
	}
	rows, err := q.WithTags().Order(post.ByID()).Limit(limit + 1).All(r.Context())
	if err != nil {
		baseFail(w, err)
		return
	}
	items := make([]PostJSON, len(rows))
	for i, p := range rows {
		items[i] = postJSON(p)
	}
	baseJSON(w, http.StatusOK, basePage(items, limit, func(p PostJSON) int { return p.ID }))
}

// sqlBaseline serves the benchmarked routes with database/sql and
// hand-written SQL: the queries an experienced developer would write, two
// per page of posts (the posts, then all their tags in one IN query).
type sqlBaseline struct {
	db       *sql.DB
	postgres bool
}

const (
	sqlUserCols = "id, name, email, role, bio, created_at, updated_at"
	sqlPostCols = "id, title, body, status, published_at, view_count, user_id, created_at, updated_at"
)

func newSQLBaseline(db *sql.DB, dia string) sqlBaseline {
	return sqlBaseline{db: db, postgres: dia == dialect.Postgres}
}

func (s sqlBaseline) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /users", s.createUser)
	mux.HandleFunc("GET /users/{id}", s.getUser)
	mux.HandleFunc("GET /users/{id}/posts", s.userPosts)
	mux.HandleFunc("GET /posts", s.listPosts)
	mux.HandleFunc("GET /posts/{id}", s.getPost)
	return mux
}

// sql rewrites ? placeholders to $1, $2, ... on PostgreSQL.
func (s sqlBaseline) sql(q string) string {
	if !s.postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (s sqlBaseline) createUser(w http.ResponseWriter, r *http.Request) {
	var in struct{ Name, Email string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now()
	const insert = "INSERT INTO users (created_at, updated_at, name, email, role) VALUES (?, ?, ?, ?, 'member')"
	var id int64
	var err error
	if s.postgres {
		err = s.db.QueryRowContext(r.Context(), s.sql(insert+" RETURNING id"), now, now, in.Name, in.Email).Scan(&id)
	} else {
		var res sql.Result
		if res, err = s.db.ExecContext(r.Context(), insert, now, now, in.Name, in.Email); err == nil {
			id, err = res.LastInsertId()
		}
	}
	if err != nil {
		baseFail(w, err)
		return
	}
	baseJSON(w, http.StatusCreated, UserJSON{ID: int(id), Name: in.Name, Email: in.Email, Role: "member",
		CreatedAt: timestamp(now), UpdatedAt: timestamp(now)})
}

func (s sqlBaseline) getUser(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	var u UserJSON
	var bio sql.NullString
	var created, updated time.Time
	err := s.db.QueryRowContext(r.Context(), s.sql("SELECT "+sqlUserCols+" FROM users WHERE id = ?"), id).
		Scan(&u.ID, &u.Name, &u.Email, &u.Role, &bio, &created, &updated)
	if err != nil {
		baseFail(w, err)
		return
	}
	u.Bio, u.CreatedAt, u.UpdatedAt = bio.String, timestamp(created), timestamp(updated)
	baseJSON(w, http.StatusOK, u)
}

func (s sqlBaseline) getPost(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	posts, err := s.posts(r.Context(), "WHERE id = ?", 1, id)
	if err == nil && len(posts) == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		baseFail(w, err)
		return
	}
	baseJSON(w, http.StatusOK, posts[0])
}

func (s sqlBaseline) listPosts(w http.ResponseWriter, r *http.Request) {
	limit := baseInt(r, "limit", DefaultLimit)
	posts, err := s.posts(r.Context(), "WHERE id > ?", limit+1, baseInt(r, "after", 0))
	if err != nil {
		baseFail(w, err)
		return
	}
	baseJSON(w, http.StatusOK, basePage(posts, limit, func(p PostJSON) int { return p.ID }))
}

func (s sqlBaseline) userPosts(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	var one int
	if err := s.db.QueryRowContext(r.Context(), s.sql("SELECT 1 FROM users WHERE id = ?"), id).Scan(&one); err != nil {
		baseFail(w, err)
		return
	}
	limit := baseInt(r, "limit", DefaultLimit)
	posts, err := s.posts(r.Context(), "WHERE user_id = ? AND id > ?", limit+1, id, baseInt(r, "after", 0))
	if err != nil {
		baseFail(w, err)
		return
	}
	baseJSON(w, http.StatusOK, basePage(posts, limit, func(p PostJSON) int { return p.ID }))
}

// posts reads up to limit posts matching where, in id order, with their
// tags' names: two queries.
func (s sqlBaseline) posts(ctx context.Context, where string, limit int, args ...any) ([]PostJSON, error) {
	q := "SELECT " + sqlPostCols + " FROM posts " + where + " ORDER BY id LIMIT " + strconv.Itoa(limit)
	rows, err := s.db.QueryContext(ctx, s.sql(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PostJSON
	for rows.Next() {
		var p PostJSON
		var published sql.NullTime
		var created, updated time.Time
		if err := rows.Scan(&p.ID, &p.Title, &p.Body, &p.Status, &published, &p.ViewCount, &p.UserID, &created, &updated); err != nil {
			return nil, err
		}
		if published.Valid {
			p.PublishedAt = timestampPtr(&published.Time)
		}
		p.CreatedAt, p.UpdatedAt, p.Tags = timestamp(created), timestamp(updated), []string{}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.addTags(ctx, out)
}

// addTags fills in the tags of posts with one query.
func (s sqlBaseline) addTags(ctx context.Context, posts []PostJSON) error {
	if len(posts) == 0 {
		return nil
	}
	ids := make([]any, len(posts))
	at := make(map[int]*PostJSON, len(posts))
	for i := range posts {
		ids[i] = posts[i].ID
		at[posts[i].ID] = &posts[i]
	}
	q := "SELECT pt.post_id, t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id IN (?" +
		strings.Repeat(", ?", len(ids)-1) + ")"
	rows, err := s.db.QueryContext(ctx, s.sql(q), ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		at[id].Tags = append(at[id].Tags, name)
	}
	for i := range posts {
		slices.Sort(posts[i].Tags)
	}
	return rows.Err()
}

// TestBaselinesAnswerLikeWeber checks that BenchmarkAPI compares like with
// like: for every benchmarked read, the plain-ent and database/sql
// baselines answer with the same JSON as the app, on every backend; and a
// user each creates reads back the same through the app.
func TestBaselinesAnswerLikeWeber(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		fx := populate(t, db.Client)
		a := newAPI(t, db)
		targets := map[string]http.Handler{
			"ent": entBaseline{client: db.Client}.handler(),
			"sql": newSQLBaseline(db.SQL, db.Dialect.Ent()).handler(),
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for _, ep := range benchEndpoints {
			for range 3 {
				path := ep.path(rng, fx)
				if ep.method != "GET" {
					continue
				}
				var want any
				a.expect(a.do("GET", path, nil), http.StatusOK, &want)
				for name, h := range targets {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
					var got any
					if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != http.StatusOK || err != nil {
						t.Fatalf("%s: GET %s: status %d, %v: %s", name, path, rec.Code, err, rec.Body)
					}
					if !reflect.DeepEqual(want, got) {
						t.Errorf("%s: GET %s differs from the app's answer:\napp: %v\n%s: %v", name, path, want, name, got)
					}
				}
			}
		}
		for name, h := range targets {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/users", strings.NewReader(string(benchEndpoints[0].body(fx)))))
			var created, read UserJSON
			if err := json.Unmarshal(rec.Body.Bytes(), &created); rec.Code != http.StatusCreated || err != nil {
				t.Fatalf("%s: POST /users: status %d, %v: %s", name, rec.Code, err, rec.Body)
			}
			a.expect(a.do("GET", "/users/"+strconv.Itoa(created.ID), nil), http.StatusOK, &read)
			if created != read {
				t.Errorf("%s: the created user reads back differently through the app:\ncreated: %+v\nread:    %+v", name, created, read)
			}
		}
	})
}
