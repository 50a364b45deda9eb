// Package plan writes Weber's migration history: it replays a dialect's
// migration folder on a dev database, compares the result with the models
// (ent's tables) and plans the statements that bring the history up to the
// models, leaving out destructive changes unless they are asked for, and
// linting what it plans with Atlas's analyzers.
//
// The main calls:
//
//   - Revise plans every kept dialect and, when any of them differs from the
//     models, writes one new file <version>_<name>.sql (the same version and
//     name in each dialect that changed) and updates its atlas.sum. It plans
//     all dialects before it writes any file.
//   - ModelsAhead plans one dialect without writing, for `db status` and
//     `db check`.
//   - Replay executes a history on a database, reading and splitting each file
//     once, so its cost grows linearly with the number of files (Atlas's own
//     Executor re-reads and re-hashes the whole folder for every file).
//   - OpenScratch opens a scratch database: an in-memory SQLite one, or one
//     created on a PostgreSQL or MySQL server and dropped afterwards.
//   - Models diffs a replayed dev database against the models.
//   - LintFiles (`db lint`) lints existing files, hand-written ones included:
//     it replays the history on a dev database, reads the schema change each
//     statement makes, and runs Atlas's analyzers on them, honouring
//     `-- atlas:nolint` directives on a statement or in a file's header.
//   - Check (`db check`, the CI gate) validates each kept dialect's folder,
//     lints every file and compares the history with the models, returning
//     one-line problems.
//
// Dialects are named by their folder names: "sqlite", "postgres", "mysql".
package plan
