package app

import (
	"context"
	"net/http"
	"net/mail"
	"strings"

	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/ent/post"
	"github.com/weber-framework/weber/ent/user"
)

// UserJSON is a user as the API shows it.
type UserJSON struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Role      string `json:"role"`
	Bio       string `json:"bio"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func userJSON(u *ent.User) UserJSON {
	return UserJSON{
		ID: u.ID, Name: u.Name, Email: u.Email, Role: string(u.Role), Bio: u.Bio,
		CreatedAt: timestamp(u.CreatedAt), UpdatedAt: timestamp(u.UpdatedAt),
	}
}

// normalizeEmail trims and lower-cases an address and checks its form, so
// that uniqueness means the same thing on every backend.
func normalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", invalid("email", "field %q is required", "email")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", invalid("email", "email %q is not an address of the form name@example.com", s)
	}
	return s, nil
}

// createUser: POST /users {"name", "email", "role"?, "bio"?} → 201.
func (a *App) createUser(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, migrate.UsersTable, "name", "email", "role", "bio")
	if err != nil {
		return err
	}
	name, err := required[string](obj, "name")
	if err != nil {
		return err
	}
	email, err := required[string](obj, "email")
	if err != nil {
		return err
	}
	if email, err = normalizeEmail(email); err != nil {
		return err
	}
	role, err := notNull[string](obj, "role")
	if err != nil {
		return err
	}
	bio, _, err := field[string](obj, "bio")
	if err != nil {
		return err
	}
	c := a.client.User.Create().SetName(strings.TrimSpace(name)).SetEmail(email).SetNillableBio(bio)
	if role != nil {
		c.SetRole(user.Role(*role))
	}
	u, err := c.Save(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/users/"+itoa(u.ID))
	writeJSON(w, http.StatusCreated, userJSON(u))
	return nil
}

// getUser: GET /users/{id}.
func (a *App) getUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := a.client.User.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userJSON(u))
	return nil
}

// listUsers: GET /users?limit=&after=|offset=&role=member|admin.
func (a *App) listUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := readPage(r)
	if err != nil {
		return err
	}
	q := a.client.User.Query().Order(user.ByID())
	if r.URL.Query().Has("role") {
		role := user.Role(r.URL.Query().Get("role"))
		if err := user.RoleValidator(role); err != nil {
			return badRequest("role", "role must be %s or %s, got %q", user.RoleMember, user.RoleAdmin, role)
		}
		q.Where(user.RoleEQ(role))
	}
	if p.After > 0 {
		q.Where(user.IDGT(p.After))
	}
	rows, err := q.Offset(p.Offset).Limit(p.Limit + 1).All(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(p, rows, func(u *ent.User) int { return u.ID }, userJSON))
	return nil
}

// updateUser: PATCH /users/{id} with any of name, email, role, bio (null
// clears bio).
func (a *App) updateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	obj, err := readObject(w, r, migrate.UsersTable, "name", "email", "role", "bio")
	if err != nil {
		return err
	}
	up := a.client.User.UpdateOneID(id)
	name, err := notNull[string](obj, "name")
	if err != nil {
		return err
	}
	if name != nil {
		up.SetName(strings.TrimSpace(*name))
	}
	email, err := notNull[string](obj, "email")
	if err != nil {
		return err
	}
	if email != nil {
		e, err := normalizeEmail(*email)
		if err != nil {
			return err
		}
		up.SetEmail(e)
	}
	role, err := notNull[string](obj, "role")
	if err != nil {
		return err
	}
	if role != nil {
		up.SetRole(user.Role(*role))
	}
	bio, present, err := field[string](obj, "bio")
	if err != nil {
		return err
	}
	switch {
	case present && bio == nil:
		up.ClearBio()
	case bio != nil:
		up.SetBio(*bio)
	}
	u, err := up.Save(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userJSON(u))
	return nil
}

// deleteUser: DELETE /users/{id} → 204; the user's posts go with it, in
// one transaction. (The schema means posts.user_id to cascade, but the
// posts are deleted explicitly so that this holds whatever the foreign
// key's ON DELETE says in a given database.)
func (a *App) deleteUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	err = withTx(ctx, a.client, func(tx *ent.Tx) error {
		u, err := tx.User.Get(ctx, id)
		if err != nil {
			return err
		}
		if _, err := tx.Post.Delete().Where(post.UserID(u.ID)).Exec(ctx); err != nil {
			return err
		}
		return tx.User.DeleteOne(u).Exec(ctx)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listUserPosts: GET /users/{id}/posts follows the user's posts edge;
// same paging and ?status= filter as GET /posts. 404 when the user does
// not exist (an existing user without posts gives an empty list).
func (a *App) listUserPosts(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	return a.writePosts(w, r, a.client.Post.Query().Where(post.UserID(id)), func(ctx context.Context) error {
		_, err := a.client.User.Get(ctx, id)
		return err
	})
}
