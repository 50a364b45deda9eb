package app

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/ent/post"
	"github.com/weber-framework/weber/ent/tag"
)

// TagJSON is a tag as the API shows it.
type TagJSON struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

func tagJSON(t *ent.Tag) TagJSON { return TagJSON{ID: t.ID, Name: t.Name, Description: t.Description} }

func itoa(n int) string { return strconv.Itoa(n) }

// createTag: POST /tags {"name", "description"} → 201; 409 when the name is taken.
func (a *App) createTag(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, migrate.TagsTable, "name", "description")
	if err != nil {
		return err
	}
	name, err := required[string](obj, "name")
	if err != nil {
		return err
	}
	description, err := notNull[string](obj, "description")
	if err != nil {
		return err
	}
	t, err := a.client.Tag.Create().SetName(strings.ToLower(strings.TrimSpace(name))).
		SetNillableDescription(description).Save(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/tags/"+itoa(t.ID))
	writeJSON(w, http.StatusCreated, tagJSON(t))
	return nil
}

// getTag: GET /tags/{id}.
func (a *App) getTag(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	t, err := a.client.Tag.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tagJSON(t))
	return nil
}

// listTags: GET /tags?limit=&after=|offset=&prefix=.
func (a *App) listTags(w http.ResponseWriter, r *http.Request) error {
	p, err := readPage(r)
	if err != nil {
		return err
	}
	q := a.client.Tag.Query().Order(tag.ByID())
	if prefix := r.URL.Query().Get("prefix"); prefix != "" {
		q.Where(tag.NameHasPrefix(strings.ToLower(prefix)))
	}
	if p.After > 0 {
		q.Where(tag.IDGT(p.After))
	}
	rows, err := q.Offset(p.Offset).Limit(p.Limit + 1).All(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(p, rows, func(t *ent.Tag) int { return t.ID }, tagJSON))
	return nil
}

// updateTag: PATCH /tags/{id} {"name", "description"} renames or describes a tag.
func (a *App) updateTag(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	obj, err := readObject(w, r, migrate.TagsTable, "name", "description")
	if err != nil {
		return err
	}
	name, err := notNull[string](obj, "name")
	if err != nil {
		return err
	}
	description, err := notNull[string](obj, "description")
	if err != nil {
		return err
	}
	up := a.client.Tag.UpdateOneID(id).SetNillableDescription(description)
	if name != nil {
		up.SetName(strings.ToLower(strings.TrimSpace(*name)))
	}
	t, err := up.Save(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tagJSON(t))
	return nil
}

// deleteTag: DELETE /tags/{id} → 204; posts lose the tag, nothing else.
func (a *App) deleteTag(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := a.client.Tag.DeleteOneID(id).Exec(r.Context()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listTagPosts: GET /tags/{id}/posts follows the tag's posts edge.
func (a *App) listTagPosts(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	return a.writePosts(w, r, a.client.Post.Query().Where(post.HasTagsWith(tag.ID(id))), func(ctx context.Context) error {
		_, err := a.client.Tag.Get(ctx, id)
		return err
	})
}
