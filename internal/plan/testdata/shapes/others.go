package shapes

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Owner has many shapes and an integer key.
type Owner struct {
	ent.Schema
}

// Fields of the Owner.
func (Owner) Fields() []ent.Field {
	return []ent.Field{
		field.String("email").Unique(),
		field.String("nick").Optional().Unique().Nillable(),
	}
}

// Edges of the Owner.
func (Owner) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("shapes", Shape.Type),
		edge.To("labels", Label.Type).Through("memberships", Membership.Type),
	}
}

// Detail is the other side of an O2O edge, with a string key.
type Detail struct {
	ent.Schema
}

// Annotations give the table another name.
func (Detail) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "shape_details", Options: "ENGINE = InnoDB"}}
}

// Fields of the Detail.
func (Detail) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").MaxLen(40),
		field.Text("note").Optional(),
	}
}

// Label is the other side of an M2M edge.
type Label struct {
	ent.Schema
}

// Annotations give the table a MySQL collation of its own and a first
// identity value.
func (Label) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Collation: "utf8mb4_general_ci"}, entsql.IncrementStart(1000)}
}

// Fields of the Label.
func (Label) Fields() []ent.Field {
	return []ent.Field{
		field.String("text").NotEmpty(),
		field.Int("weight").Positive(),
	}
}

// Edges of the Label.
func (Label) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("shapes", Shape.Type).Ref("labels"),
		edge.From("owners", Owner.Type).Ref("labels"),
	}
}

// Indexes of the Label: a composite unique one and a named check.
func (Label) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("text", "weight").Unique().StorageKey("label_text_weight"),
	}
}
