package shapes

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Membership is an edge schema: the M2M edge between owners and labels
// through a table with a composite primary key and fields of its own.
type Membership struct {
	ent.Schema
}

// Annotations: the composite key.
func (Membership) Annotations() []schema.Annotation {
	return []schema.Annotation{field.ID("owner_id", "label_id")}
}

// Fields of the Membership.
func (Membership) Fields() []ent.Field {
	return []ent.Field{
		field.Int("owner_id"),
		field.Int("label_id"),
		field.Time("joined_at").Default(time.Now),
		field.Int("rank").Default(0).Annotations(entsql.Check("rank >= 0")),
	}
}

// Edges of the Membership.
func (Membership) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("owner", Owner.Type).Required().Unique().Field("owner_id"),
		edge.To("label", Label.Type).Required().Unique().Field("label_id"),
	}
}
