package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// User is a person who writes posts.
type User struct {
	ent.Schema
}

// Mixin adds created_at and updated_at.
func (User) Mixin() []ent.Mixin {
	return []ent.Mixin{Timestamps{}}
}

// Fields of the User.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxRuneLen(100),
		field.String("email").NotEmpty().MaxRuneLen(255).Unique(),
		field.Enum("role").Values("member", "admin").Default("member"),
		field.String("bio").Optional().MaxRuneLen(1000),
		// first_name and last_name are filled from name by the data
		// migration split_user_names (migrations/data).
		field.String("first_name").Optional().MaxRuneLen(100),
		field.String("last_name").Optional().MaxRuneLen(100),
	}
}

// Edges of the User.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		// Deleting a user deletes their posts (ON DELETE CASCADE).
		edge.To("posts", Post.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the User.
func (User) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("created_at"),
	}
}
