package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/ent/post"
	"github.com/weber-framework/weber/ent/tag"
)

// PostJSON is a post as the API shows it, with its tags' names.
type PostJSON struct {
	ID          int      `json:"id"`
	Title       string   `json:"title"`
	Body        string   `json:"body"`
	Status      string   `json:"status"`
	PublishedAt *string  `json:"published_at"`
	ViewCount   int      `json:"view_count"`
	UserID      int      `json:"user_id"`
	Tags        []string `json:"tags"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
}

func postJSON(p *ent.Post) PostJSON {
	tags := make([]string, 0, len(p.Edges.Tags))
	for _, t := range p.Edges.Tags {
		tags = append(tags, t.Name)
	}
	slices.Sort(tags)
	return PostJSON{
		ID: p.ID, Title: p.Title, Body: p.Body, Status: string(p.Status),
		PublishedAt: timestampPtr(p.PublishedAt), ViewCount: p.ViewCount, UserID: p.UserID, Tags: tags,
		CreatedAt: timestamp(p.CreatedAt), UpdatedAt: timestamp(p.UpdatedAt),
	}
}

// txAttempts bounds how often withTx runs a transaction that the database
// aborted to break a deadlock.
const txAttempts = 5

// withTx runs fn in one ent transaction: committed when fn returns nil,
// rolled back (nothing written) when it returns an error or panics. A
// transaction the database aborted to break a deadlock or a serialization
// conflict (concurrent requests creating the same tag) is run again from
// the start, so fn must only write through tx and set its results afresh.
func withTx(ctx context.Context, client *ent.Client, fn func(tx *ent.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := runTx(ctx, client, fn)
		if err == nil || attempt == txAttempts || !retryable(err) {
			return err
		}
		// Back off a little, randomly, so the contenders do not meet again.
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*(5+rand.IntN(10))) * time.Millisecond):
		}
	}
}

func runTx(ctx context.Context, client *ent.Client, fn func(tx *ent.Tx) error) (err error) {
	tx, err := client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("starting a transaction: %w", err)
	}
	defer func() {
		if v := recover(); v != nil {
			_ = tx.Rollback()
			panic(v)
		}
	}()
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return fmt.Errorf("%w (and rolling back failed: %v)", err, rerr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// retryable reports a transaction aborted by the database to resolve a
// conflict with another one: MySQL's deadlock (1213), PostgreSQL's
// serialization failure (40001) and deadlock (40P01). Running it again is
// safe because nothing of it was kept.
func retryable(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// tagNames normalizes the "tags" field: trimmed, lower-cased, deduplicated,
// each a valid tag name.
func tagNames(names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if err := tag.NameValidator(n); err != nil {
			return nil, invalid("tags", "tag %q: must be 1 to %d characters", n, maxChars(migrate.TagsTable, tag.FieldName))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	// One order for every request, so concurrent ones lock tags alike.
	slices.Sort(out)
	return out, nil
}

// upsertTags creates the tags that do not exist yet and returns the ids of
// all of them, one INSERT ... ON CONFLICT (name) per tag, so that two
// requests naming the same new tag both succeed.
func upsertTags(ctx context.Context, tx *ent.Tx, names []string) ([]int, error) {
	ids := make([]int, 0, len(names))
	for _, n := range names {
		id, err := tx.Tag.Create().SetName(n).OnConflictColumns(tag.FieldName).Ignore().ID(ctx)
		if err != nil {
			return nil, fmt.Errorf("creating or getting tag %q: %w", n, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

var postFields = []string{"title", "body", "status", "published_at", "tags"}

// postInput is a post's fields as a request body gives them: nil where a
// field is absent.
type postInput struct {
	title, body, status *string
	publishedAt         *time.Time
	hasPublishedAt      bool // present, perhaps null (which clears it)
	tags                []string
	hasTags             bool
}

// readPost reads a post's fields from the request body, for a create
// (title required) or an update (every field optional, none but
// published_at may be null).
func readPost(w http.ResponseWriter, r *http.Request, create bool) (*postInput, error) {
	obj, err := readObject(w, r, migrate.PostsTable, postFields...)
	if err != nil {
		return nil, err
	}
	var in postInput
	if create {
		title, err := required[string](obj, "title")
		if err != nil {
			return nil, err
		}
		in.title = &title
	} else if in.title, err = notNull[string](obj, "title"); err != nil {
		return nil, err
	}
	if in.body, err = notNull[string](obj, "body"); err != nil {
		return nil, err
	}
	if in.status, err = notNull[string](obj, "status"); err != nil {
		return nil, err
	}
	if in.publishedAt, in.hasPublishedAt, err = field[time.Time](obj, "published_at"); err != nil {
		return nil, err
	}
	rawTags, err := notNull[[]string](obj, "tags")
	if err != nil {
		return nil, err
	}
	if rawTags != nil {
		in.hasTags = true
		if in.tags, err = tagNames(*rawTags); err != nil {
			return nil, err
		}
	}
	return &in, nil
}

// createUserPost: POST /users/{id}/posts {"title", "body"?, "status"?,
// "published_at"?, "tags"?: ["go", ...]} → 201. In one transaction it
// checks the author, creates or gets every tag by name and creates the post
// linked to them: when any step fails nothing is written.
func (a *App) createUserPost(w http.ResponseWriter, r *http.Request) error {
	uid, err := pathID(r)
	if err != nil {
		return err
	}
	in, err := readPost(w, r, true)
	if err != nil {
		return err
	}
	publishedAt := in.publishedAt
	ctx := r.Context()
	var created *ent.Post
	err = withTx(ctx, a.client, func(tx *ent.Tx) error {
		if _, err := tx.User.Get(ctx, uid); err != nil {
			return err
		}
		tagIDs, err := upsertTags(ctx, tx, in.tags)
		if err != nil {
			return err
		}
		c := tx.Post.Create().SetAuthorID(uid).SetTitle(strings.TrimSpace(*in.title)).
			SetNillableBody(in.body).AddTagIDs(tagIDs...)
		if in.status != nil {
			c.SetStatus(post.Status(*in.status))
			if post.Status(*in.status) == post.StatusPublished && publishedAt == nil {
				publishedAt = ptr(time.Now())
			}
		}
		if publishedAt != nil {
			c.SetPublishedAt(publishedAt.UTC().Truncate(time.Second))
		}
		p, err := c.Save(ctx)
		if err != nil {
			return err
		}
		created, err = tx.Post.Query().Where(post.ID(p.ID)).WithTags().Only(ctx)
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/posts/"+itoa(created.ID))
	writeJSON(w, http.StatusCreated, postJSON(created))
	return nil
}

// getPost: GET /posts/{id}, with its tags.
func (a *App) getPost(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := a.client.Post.Query().Where(post.ID(id)).WithTags().Only(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, postJSON(p))
	return nil
}

// listPosts: GET /posts?limit=&after=|offset=&status=draft|published&tag=NAME.
func (a *App) listPosts(w http.ResponseWriter, r *http.Request) error {
	return a.writePosts(w, r, a.client.Post.Query(), nil)
}

// writePosts pages through q with the request's paging and filters: two
// queries, the page and its posts' tags. When q follows an edge, parent
// checks that the record it starts from exists; it runs only when the page
// is empty, to tell "no posts" (an empty list) from "no such record" (404).
func (a *App) writePosts(w http.ResponseWriter, r *http.Request, q *ent.PostQuery, parent func(context.Context) error) error {
	p, err := readPage(r)
	if err != nil {
		return err
	}
	params := r.URL.Query()
	if params.Has("status") {
		s := post.Status(params.Get("status"))
		if err := post.StatusValidator(s); err != nil {
			return badRequest("status", "status must be %s or %s, got %q", post.StatusDraft, post.StatusPublished, s)
		}
		q.Where(post.StatusEQ(s))
	}
	if params.Has("tag") {
		q.Where(post.HasTagsWith(tag.Name(strings.ToLower(strings.TrimSpace(params.Get("tag"))))))
	}
	if p.After > 0 {
		q.Where(post.IDGT(p.After))
	}
	// Unique(false): no filter here can repeat a post (edges and tags are
	// matched by IN or a join on a unique pair), and the DISTINCT that ent
	// adds to an edge's query by default makes the database compare whole
	// rows, bodies included.
	rows, err := q.Unique(false).WithTags().Order(post.ByID()).Offset(p.Offset).Limit(p.Limit + 1).All(r.Context())
	if err != nil {
		return err
	}
	if len(rows) == 0 && parent != nil {
		if err := parent(r.Context()); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, pageOf(p, rows, func(p *ent.Post) int { return p.ID }, postJSON))
	return nil
}

// updatePost: PATCH /posts/{id} with any of title, body, status,
// published_at (null clears it) and tags (replaces the set, creating tags
// as needed), in one transaction. Publishing a post without a publication
// time stamps it now.
func (a *App) updatePost(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	in, err := readPost(w, r, false)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var updated *ent.Post
	err = withTx(ctx, a.client, func(tx *ent.Tx) error {
		cur, err := tx.Post.Get(ctx, id)
		if err != nil {
			return err
		}
		up := tx.Post.UpdateOne(cur)
		if in.title != nil {
			up.SetTitle(strings.TrimSpace(*in.title))
		}
		if in.body != nil {
			up.SetBody(*in.body)
		}
		if in.status != nil {
			up.SetStatus(post.Status(*in.status))
		}
		switch {
		case in.publishedAt != nil:
			up.SetPublishedAt(in.publishedAt.UTC().Truncate(time.Second))
		case in.hasPublishedAt:
			up.ClearPublishedAt()
		case in.status != nil && post.Status(*in.status) == post.StatusPublished && cur.PublishedAt == nil:
			up.SetPublishedAt(time.Now().UTC().Truncate(time.Second))
		}
		if in.hasTags {
			tagIDs, err := upsertTags(ctx, tx, in.tags)
			if err != nil {
				return err
			}
			up.ClearTags().AddTagIDs(tagIDs...)
		}
		if _, err := up.Save(ctx); err != nil {
			return err
		}
		updated, err = tx.Post.Query().Where(post.ID(id)).WithTags().Only(ctx)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, postJSON(updated))
	return nil
}

// deletePost: DELETE /posts/{id} → 204.
func (a *App) deletePost(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := a.client.Post.DeleteOneID(id).Exec(r.Context()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func ptr[T any](v T) *T { return &v }

// viewPost: POST /posts/{id}/views counts one view. The increment happens in
// the database (view_count = view_count + 1), so concurrent views are never
// lost to a read-modify-write race.
func (a *App) viewPost(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := a.client.Post.UpdateOneID(id).AddViewCount(1).Exec(r.Context()); err != nil {
		return err
	}
	p, err := a.client.Post.Query().Where(post.ID(id)).WithTags().Only(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, postJSON(p))
	return nil
}
