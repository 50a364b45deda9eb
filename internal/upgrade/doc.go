// Package upgrade applies a migration directory to a database, safely: it
// is the engine behind `weberctl db upgrade`, `db status`, `db history` and
// `db downgrade`.
//
// Upgrade drives the apply loop itself instead of Atlas's migrate.Executor,
// whose pinned version panics or loops on an edited partial file, panics on
// duplicate versions, never compares the stored hash of an applied file and
// re-hashes the whole directory for every file (quadratic). Here the
// directory is read and hashed once (package migdir), the lock is taken
// (package dblock), the revisions are read under it (package revstore), and
// each file runs:
//
//   - on SQLite and PostgreSQL, in its own transaction, with its revision
//     written through that transaction: a failing statement leaves nothing
//     behind, and a file is never applied without its record. On SQLite the
//     connection is pinned, foreign keys are switched off before BEGIN and
//     checked with PRAGMA foreign_key_check before COMMIT, so a table
//     rebuild keeps the child rows of an ON DELETE CASCADE relation;
//   - on MySQL (whose DDL commits implicitly) and for files marked
//     `-- atlas:txmode none`, statement by statement: before each statement
//     the revision is marked "statement k started", after it "applied k of
//     n" with the running statement hashes, or the error and the failing
//     statement. A failed file resumes at the failed statement once fixed;
//     editing its applied statements is refused; a statement whose outcome
//     was never recorded (a crash between the statement and its record) is
//     named, and the user says whether it ran (Options.Unconfirmed);
//   - for files marked `-- weber:as-written`, exactly as written, their own
//     BEGIN/COMMIT included (aswritten.go): progress is recorded only outside
//     the file's own transactions, and a statement failing inside one rolls
//     it back and leaves the record at the statement before its BEGIN. A
//     file with transaction control and no such mark never gets here: the
//     folder is refused before anything runs (package migdir).
//
// Before anything runs, under the lock, the pending statements that could
// destroy or reject rows (a dropped table or column holding data, NOT NULL
// over NULLs or without a default on a populated table, UNIQUE over
// duplicates, a narrowed type, a foreign key over orphans) are rehearsed on
// a copy of the target's schema and the rows they affect are counted on the
// target (package preflight): any such row stops the upgrade with a
// KindDataLoss Refusal unless Options.AllowDataLoss. The check runs only
// when a statement looks risky and the target holds rows; PostgreSQL and
// MySQL need a dev server for it (Options.DevURL).
//
// Nothing pending is a success: Result.NothingToDo reports it. Expected
// disagreements between files, history and database are *Refusal errors
// (see the Kind constants); a failed statement is a *StatementError.
package upgrade
