// Package weberschema holds the annotations a Weber project's models
// (ent/schema) may carry for `weberctl db revision`. It is small and has no
// dependency beyond ent, so a project's schema package can import it.
//
// A rename is declared on the new name:
//
//	field.String("biography").Optional().
//		Annotations(weberschema.RenamedFrom("bio")),
//
// and, for an entity whose table changed name, on the type:
//
//	func (Label) Annotations() []schema.Annotation {
//		return []schema.Annotation{weberschema.RenamedFrom("tags")}
//	}
//
// `go generate ./ent` (with Weber's template, RenamesTemplate, kept as
// ent/template/renames.tmpl) writes every declared rename into
// ent/migrate/renames.go as migrate.Renames, which `db revision` reads
// (weberctl.Project.Renames): it writes RENAME COLUMN or
// RENAME TABLE instead of an added column and a dropped one. Once the
// rename is in the history the annotation may be removed; `db check`
// says so.
package weberschema

// AnnotationName is the name ent stores the annotation under
// (Annotation.Name), which the template reads.
const AnnotationName = "WeberRenamedFrom"

// RenamedFromAnnotation says that a field's column, or an entity's table,
// was called From before. Build it with RenamedFrom.
type RenamedFromAnnotation struct {
	// From is the old name of the column or the table, as stored in the
	// database (a field's storage key, an entity's table name).
	From string
}

// Name implements ent's schema.Annotation.
func (RenamedFromAnnotation) Name() string { return AnnotationName }

// RenamedFrom declares that the annotated field (its column) or entity (its
// table) was named old in the database: `db revision` renames it instead of
// adding the new name and leaving the old one to be dropped. For an edge's
// foreign key, annotate the field the edge names (edge.Field).
func RenamedFrom(old string) RenamedFromAnnotation {
	return RenamedFromAnnotation{From: old}
}

// Rename is one declared rename, as the generated migrate.Renames lists
// them.
type Rename struct {
	// Table is the table that holds the renamed column, by its new name;
	// "" when the table itself was renamed.
	Table string
	// From and To are the old and the new name of the column (or of the
	// table when Table is "").
	From, To string
}

// String renders the rename: "users.bio -> users.biography", or
// "tags -> labels" for a table.
func (r Rename) String() string {
	if r.Table == "" {
		return r.From + " -> " + r.To
	}
	return r.Table + "." + r.From + " -> " + r.Table + "." + r.To
}
