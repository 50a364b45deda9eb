// Package devdb is the development half of Weber's database workflow: it
// creates a database and brings it up to the models without ever dropping
// anything (Ensure), and it removes a database completely, but only when
// the caller has confirmed it and the database is not marked as production
// (Drop).
//
// Ensure is what `weberctl db ensure` and `weberctl serve` run on the
// embedded default. It creates the database if missing, takes the same
// lock as `db upgrade`, applies the migration history to an empty
// database (so the result can be upgraded later) or the pending files to a
// database with a history (recording them as applied without running them
// when an earlier Ensure already added their changes from the models, as
// happens between editing a model and writing its revision), then adds every table,
// column, index and foreign key the models have and the database lacks. It
// changes and drops nothing that exists: a difference it will not resolve
// is reported in EnsureResult.Skipped, for a revision to handle.
//
// Like the rest of the engine, devdb never prints and never exits: it
// returns result structs and typed errors, and the CLI renders them.
package devdb
