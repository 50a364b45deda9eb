package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/ent/post"
	"github.com/weber-framework/weber/ent/tag"
	"github.com/weber-framework/weber/ent/user"
)

// SeedResult counts what Seed created and what it found already there.
type SeedResult struct {
	// Env is the environment the seed ran for.
	Env string `json:"env"`
	// Created counts the rows Seed inserted, by table.
	Created SeedCounts `json:"created"`
	// Existing counts the seed's rows that were already there, by table.
	Existing SeedCounts `json:"existing"`
}

// SeedCounts are row counts by table.
type SeedCounts struct {
	Users int `json:"users"`
	Tags  int `json:"tags"`
	Posts int `json:"posts"`
}

// Total is the number of rows of every table.
func (c SeedCounts) Total() int { return c.Users + c.Tags + c.Posts }

// seedUser, seedTag and seedPost are the demo rows.
type seedUser struct{ name, email, role, bio string }

type seedTag struct{ name, description string }

type seedPost struct {
	author, title, body string
	published           bool
	tags                []string
}

var (
	seedUsers = []seedUser{
		{"Ada Lovelace", "ada@example.com", "admin", "Writes the notes."},
		{"Grace Hopper", "grace@example.com", "member", "Finds the bugs."},
		{"Alan Turing", "alan@example.com", "member", ""},
	}
	seedTags = []seedTag{
		{"go", "The Go language"},
		{"databases", "SQLite, PostgreSQL, MariaDB"},
		{"migrations", "Changing a schema safely"},
		{"welcome", ""},
	}
	seedPosts = []seedPost{
		{"ada@example.com", "Welcome to Weber", "This post was made by `weberctl db seed`.", true, []string{"welcome", "go"}},
		{"grace@example.com", "Migrations without fear", "Write a revision, check it, upgrade.", true, []string{"migrations", "databases"}},
		{"alan@example.com", "One schema, three databases", "SQLite, PostgreSQL and MariaDB from one model.", true, []string{"databases"}},
	}
	// seedDrafts are added in development environments only.
	seedDrafts = []seedPost{
		{"ada@example.com", "A draft in progress", "Drafts are seeded in development only.", false, []string{"go"}},
	}
)

// seedPublishedAt is the fixed publication time of the seeded posts, so
// that every run writes the same values.
var seedPublishedAt = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// Seed fills the database with the example app's demo rows (users, tags,
// posts) for the environment env (`weberctl db seed --env`, or WEBER_ENV):
// every environment gets the published demo, a development one (no
// environment, development, dev, test, local) a draft too. It is
// idempotent: users are keyed by email and tags by name (unique keys,
// inserted with ON CONFLICT DO NOTHING), posts by author and title; a row
// that exists is left as it is, so running Seed twice leaves the same rows.
// Everything runs in one transaction (run again after a deadlock): on an
// error nothing is kept.
func Seed(ctx context.Context, client *ent.Client, env string) (*SeedResult, error) {
	res := &SeedResult{Env: env}
	posts := seedPosts
	switch strings.ToLower(strings.TrimSpace(env)) {
	case "", "development", "dev", "test", "testing", "local":
		posts = append(append([]seedPost{}, seedPosts...), seedDrafts...)
	}
	err := withTx(ctx, client, func(tx *ent.Tx) error {
		*res = SeedResult{Env: env}
		users, err := seedAllUsers(ctx, tx, res)
		if err != nil {
			return err
		}
		tags, err := seedAllTags(ctx, tx, res)
		if err != nil {
			return err
		}
		for _, p := range posts {
			if err := seedOnePost(ctx, tx, p, users[p.author], tags, res); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// seedAllUsers inserts the missing demo users and returns every demo
// user's id by email.
func seedAllUsers(ctx context.Context, tx *ent.Tx, res *SeedResult) (map[string]int, error) {
	ids := make(map[string]int, len(seedUsers))
	for _, u := range seedUsers {
		existed, err := tx.User.Query().Where(user.Email(u.email)).Exist(ctx)
		if err != nil {
			return nil, fmt.Errorf("seeding user %s: %w", u.email, err)
		}
		c := tx.User.Create().SetName(u.name).SetEmail(u.email).SetRole(user.Role(u.role))
		if u.bio != "" {
			c.SetBio(u.bio)
		}
		id, err := c.OnConflictColumns(user.FieldEmail).Ignore().ID(ctx)
		if err != nil {
			return nil, fmt.Errorf("seeding user %s: %w", u.email, err)
		}
		ids[u.email] = id
		count(&res.Created.Users, &res.Existing.Users, existed)
	}
	return ids, nil
}

// seedAllTags inserts the missing demo tags and returns every demo tag's
// id by name.
func seedAllTags(ctx context.Context, tx *ent.Tx, res *SeedResult) (map[string]int, error) {
	ids := make(map[string]int, len(seedTags))
	for _, t := range seedTags {
		existed, err := tx.Tag.Query().Where(tag.Name(t.name)).Exist(ctx)
		if err != nil {
			return nil, fmt.Errorf("seeding tag %s: %w", t.name, err)
		}
		c := tx.Tag.Create().SetName(t.name)
		if t.description != "" {
			c.SetDescription(t.description)
		}
		id, err := c.OnConflictColumns(tag.FieldName).Ignore().ID(ctx)
		if err != nil {
			return nil, fmt.Errorf("seeding tag %s: %w", t.name, err)
		}
		ids[t.name] = id
		count(&res.Created.Tags, &res.Existing.Tags, existed)
	}
	return ids, nil
}

// seedOnePost creates the post p unless its author already has a post of
// that title, and links the demo tags it misses.
func seedOnePost(ctx context.Context, tx *ent.Tx, p seedPost, author int, tags map[string]int, res *SeedResult) error {
	want := make([]int, 0, len(p.tags))
	for _, name := range p.tags {
		want = append(want, tags[name])
	}
	found, err := tx.Post.Query().Where(post.UserID(author), post.Title(p.title)).
		WithTags().Order(ent.Asc(post.FieldID)).First(ctx)
	switch {
	case ent.IsNotFound(err):
		c := tx.Post.Create().SetUserID(author).SetTitle(p.title).SetBody(p.body).AddTagIDs(want...)
		if p.published {
			c.SetStatus(post.StatusPublished).SetPublishedAt(seedPublishedAt)
		}
		if _, err := c.Save(ctx); err != nil {
			return fmt.Errorf("seeding post %q: %w", p.title, err)
		}
		res.Created.Posts++
		return nil
	case err != nil:
		return fmt.Errorf("seeding post %q: %w", p.title, err)
	}
	res.Existing.Posts++
	have := make(map[int]bool, len(found.Edges.Tags))
	for _, t := range found.Edges.Tags {
		have[t.ID] = true
	}
	var missing []int
	for _, id := range want {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := tx.Post.UpdateOneID(found.ID).AddTagIDs(missing...).Exec(ctx); err != nil {
		return fmt.Errorf("seeding post %q: linking its tags: %w", p.title, err)
	}
	return nil
}

// count adds one to created or to existing.
func count(created, existing *int, existed bool) {
	if existed {
		*existing++
	} else {
		*created++
	}
}
