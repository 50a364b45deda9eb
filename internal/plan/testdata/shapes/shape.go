package shapes

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// Shape has one field of every type, with and without defaults.
type Shape struct {
	ent.Schema
}

// Annotations: an unnamed and a named check, table comments.
func (Shape) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Check("small >= 0"),
		entsql.Checks(map[string]string{
			"shapes_ratio_positive": "ratio > 0",
		}),
		entsql.WithComments(true),
		schema.Comment("every field type"),
	}
}

// Fields of every type.
func (Shape) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New),
		field.Int("count").Default(0).Comment("a counter"),
		field.Int8("tiny").Optional(),
		field.Int16("small").Default(1),
		field.Int32("medium").Optional().Nillable(),
		field.Int64("big").Default(-5),
		field.Uint("ucount").Default(0),
		field.Uint8("utiny").Optional(),
		field.Uint16("usmall").Optional(),
		field.Uint32("umedium").Optional(),
		field.Uint64("ubig").Optional(),
		field.Float("ratio").Default(1.5),
		field.Float32("ratio32").Optional(),
		field.Float("price").Optional().SchemaType(map[string]string{
			dialect.MySQL:    "decimal(10,2)",
			dialect.Postgres: "numeric(10,2)",
			dialect.SQLite:   "numeric(10,2)",
		}),
		field.Bool("active").Default(true),
		field.String("name").Default("unnamed").MaxLen(100),
		field.String("code").Unique().MaxLen(32),
		field.String("long_unique").Unique(),
		field.Text("body").Optional(),
		field.Text("slug").Unique(),
		field.Bytes("hash").Unique(),
		field.Bytes("blob").Optional(),
		field.Bytes("digest").MaxLen(32).Optional(),
		field.JSON("tags", []string{}).Optional(),
		field.JSON("meta", map[string]any{}).Optional(),
		field.Enum("status").Values("draft", "published", "archived").Default("draft"),
		field.Enum("kind").Values("a", "b").Optional(),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("seen_at").Optional().Nillable(),
		field.Time("stamped_at").Optional().Annotations(entsql.DefaultExpr("CURRENT_TIMESTAMP")),
		field.String("label").Optional().Annotations(entsql.Default("none")),
		field.String("region").Optional().Annotations(entsql.DefaultExprs(map[string]string{
			dialect.MySQL:    "(lower('EU'))",
			dialect.Postgres: "lower('EU')",
			dialect.SQLite:   "(lower('EU'))",
		})),
		field.UUID("ref", uuid.UUID{}).Optional(),
		field.Time("day").Optional().SchemaType(map[string]string{
			dialect.MySQL: "date", dialect.Postgres: "date", dialect.SQLite: "date",
		}),
		field.String("ip").Optional().SchemaType(map[string]string{dialect.Postgres: "inet"}),
		field.Other("amount", Cents(0)).Optional().SchemaType(map[string]string{
			dialect.MySQL: "bigint", dialect.Postgres: "bigint", dialect.SQLite: "integer",
		}),
		field.Int("owner_id").Optional(),
	}
}

// Edges: an O2M edge with an edge field, an O2O edge, M2M and a self
// reference.
func (Shape) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("owner", Owner.Type).Ref("shapes").Field("owner_id").Unique(),
		edge.To("detail", Detail.Type).Unique().Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("labels", Label.Type),
		edge.To("children", Shape.Type).From("parent").Unique(),
		edge.To("friends", Shape.Type),
	}
}

// Indexes of every form.
func (Shape) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("name", "count"),
		index.Fields("status", "big").Unique(),
		index.Fields("body").Annotations(entsql.Prefix(20)),
		index.Fields("name", "body").Annotations(entsql.PrefixColumn("body", 16)),
		index.Fields("big").Annotations(entsql.Desc()),
		index.Fields("active").Annotations(entsql.IndexWhere("active")),
		index.Fields("ucount").Edges("owner").Unique(),
		index.Fields("created_at").Annotations(entsql.DescColumns("created_at")),
		index.Fields("body").Annotations(entsql.IndexTypes(map[string]string{dialect.MySQL: "FULLTEXT"})).StorageKey("shape_body_text"),
		index.Fields("code").Annotations(entsql.IncludeColumns("name")).StorageKey("shape_code_incl"),
		index.Fields("name").Annotations(entsql.OpClass("varchar_pattern_ops")).StorageKey("shape_name_pattern"),
	}
}
