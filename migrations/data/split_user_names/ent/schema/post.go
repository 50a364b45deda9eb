package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Post is an article written by one user and labelled with any number of tags.
type Post struct {
	ent.Schema
}

// Mixin adds created_at and updated_at.
func (Post) Mixin() []ent.Mixin {
	return []ent.Mixin{Timestamps{}}
}

// Fields of the Post.
func (Post) Fields() []ent.Field {
	return []ent.Field{
		field.String("title").NotEmpty().MaxRuneLen(200),
		field.Text("body").Default(""),
		field.Enum("status").Values("draft", "published").Default("draft"),
		field.Time("published_at").Optional().Nillable(),
		field.Int("view_count").NonNegative().Default(0),
		field.Int("user_id"),
	}
}

// Edges of the Post.
func (Post) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("author", User.Type).Ref("posts").Field("user_id").Unique().Required(),
		edge.To("tags", Tag.Type),
	}
}
