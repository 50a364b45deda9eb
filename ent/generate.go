// Package ent holds the typed client that ent generates from the models in
// ent/schema. Everything in this folder except schema/ and generate.go is
// generated: edit the models, then run `go generate ./ent`.
package ent

// The generator is pinned in go.mod as a tool, so this needs nothing installed.
// The features are chosen on purpose:
//   - sql/versioned-migration: exposes migrate.Tables, the desired schema that
//     `weberctl db revision` diffs against the migration history;
//   - sql/upsert: OnConflict builders, so handlers can create-or-get a tag;
//   - sql/execquery: ExecContext/QueryContext on the client, for health checks
//     and the rare hand-written query.
//
// The template weberschema/renames.tmpl adds ent/migrate/renames.go: the
// renames the models declare with weberschema.RenamedFrom, which
// `weberctl db revision` reads (a project of its own keeps a copy in
// ent/template: see weberschema.RenamesTemplate).
//go:generate go tool ent generate --feature sql/versioned-migration,sql/upsert,sql/execquery --template file=../weberschema/renames.tmpl ./schema
