// Package engine runs a database's migration history: the one value that
// `weberctl db upgrade`, `db downgrade`, `db status` and `db history` use,
// and that another Go program can use the same way.
//
// An Engine is built once, with New, from an open database, the URL it was
// opened from and the dialect's migration folder (e.g. migrations/sqlite:
// numbered .sql files and their atlas.sum, as `weberctl db revision`
// writes them). New checks what it is given, so that a nil database, a
// missing folder or a bad option fails there and not halfway through an
// upgrade. Its methods share one reader of the applied history:
//
//   - Upgrade applies the pending files, each in its own transaction with
//     its revision, under a lock that excludes other upgraders; a dry run
//     returns the SQL instead.
//   - Downgrade brings the schema back to an earlier applied version.
//   - Status compares the applied history with the folder: pending,
//     partial, edited, deleted or out-of-order files.
//   - History lists the applied revisions.
//   - Drift compares the live schema with what its applied history builds,
//     and Overview adds the models to Status and Drift (`db status`).
//   - Verify rehearses the files on a populated scratch database and proves
//     that no row was lost (`db verify`), without touching the database.
//
// The methods return results and typed errors and never print: a
// *Refusal (KindOf tells its Kind) when the history, the folder and the
// database disagree and nothing was changed; a *StatementError when a
// statement failed, saying what persists. The results carry no encoding of
// their own; weberctl renders them as tables or JSON.
//
// The result and option types are defined in Weber's internal packages
// and named here by type aliases, so a program can name them all.
package engine
