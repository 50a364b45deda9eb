package upgrade

import (
	"errors"
	"fmt"
	"strings"

	"github.com/weber-framework/weber/internal/errtext"
)

// Kind classifies a Refusal: what disagrees, and so what a person must
// decide. Its values are stable words, shown by `weberctl db status --json`.
type Kind string

// Kinds of Refusal.
const (
	// KindEdited: an applied file's content differs from the hash stored in
	// its revision (whether or not atlas.sum was re-hashed).
	KindEdited Kind = "edited"
	// KindDeleted: a revision names a file that is no longer in the directory.
	KindDeleted Kind = "deleted"
	// KindOutOfOrder: pending files older than the latest applied one.
	KindOutOfOrder Kind = "out-of-order"
	// KindNotClean: the database has tables but no revision history.
	KindNotClean Kind = "not-clean"
	// KindPartialChanged: a partially applied file was edited in its
	// applied part (changed, reordered or shrunk below what ran).
	KindPartialChanged Kind = "partial-changed"
	// KindUnconfirmed: a statement started outside a transaction and its
	// completion was never recorded (the process died, or the fault was
	// injected); the user must say whether it ran.
	KindUnconfirmed Kind = "unconfirmed"
	// KindTarget: --to or --baseline names no file, or a version behind the
	// database.
	KindTarget Kind = "target"
	// KindBaseline: a baseline was asked for a database that already has a
	// history.
	KindBaseline Kind = "baseline"
	// KindAdopt: Options.Adopt was asked but the pending files cannot be
	// recorded as applied without running them (the live schema does not
	// match the history with them, a file is partially applied, or the
	// database has no history).
	KindAdopt Kind = "adopt"
	// KindLocked: another schema change holds the lock past the timeout.
	KindLocked Kind = "locked"
	// KindRevisions: the revision table holds rows Weber cannot interpret.
	KindRevisions Kind = "revisions"
	// KindForeignKeys: a SQLite file left foreign key violations; it was
	// rolled back.
	KindForeignKeys Kind = "foreign-keys"
	// KindDataLoss: a pending statement would destroy or reject rows on
	// the target (the pre-flight check counted them; the Refusal wraps a
	// *preflight.DataLossError), or a downgrade plan drops tables or
	// columns, and AllowDataLoss was not set.
	KindDataLoss Kind = "data-loss"
	// KindPreflight: a pending statement may destroy or reject rows of a
	// database that holds data, and the pre-flight check that counts them
	// could not run (no dev server for PostgreSQL or MySQL: the Refusal
	// wraps preflight.ErrNoDev; or a statement failed on the copy of the
	// target's schema). Set a dev URL, fix the cause, or allow data loss.
	KindPreflight Kind = "preflight"
	// KindDirectory: the migration directory is refused by package migdir
	// (a status Problem only; Upgrade returns the *migdir.Error itself).
	KindDirectory Kind = "directory"
	// KindMismatch: `db set` was asked to record a version whose schema
	// the live database does not have.
	KindMismatch Kind = "mismatch"
	// KindDataMigration: a pending `-- weber:go` file names a data
	// migration the binary does not have.
	KindDataMigration Kind = "data-migration"
)

// KindOf returns the Kind of the *Refusal in err's chain, or "" when err
// is not a refusal.
func KindOf(err error) Kind {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Kind
	}
	return ""
}

// Refusal is an expected reason not to proceed: the history, the directory
// and the database disagree, and a person must decide. Nothing was changed
// by the call that returned it. Its message is one line naming the file and
// the next step.
type Refusal struct {
	// Op is the operation refused: "upgrade" or "downgrade". It is ""
	// for a refusal found by Status, which refuses nothing itself, and for
	// the two whose message starts with its own subject: a --to or
	// --baseline that names no file ("--to 3: ..."), and a SQLite file
	// that left foreign key violations ("applying 3_x.sql: ...").
	Op string
	// Kind classifies the refusal (KindEdited, ...).
	Kind Kind
	// File is the migration file concerned ("" when none is).
	File string
	// Files lists every file concerned, for refusals about several
	// (out-of-order files).
	Files []string
	// Msg is the one-line explanation with the next step, without the
	// operation (Error adds it).
	Msg string
	// Err is the underlying error, if any.
	Err error

	// sep joins Op and Msg: " refused: " when empty; ": " for a message
	// that says itself what was refused or went wrong ("upgrade: --to 3
	// is behind ...").
	sep string
}

// Error returns the message the user reads: "upgrade refused: " and the
// explanation, or the explanation alone when Op is empty.
func (r *Refusal) Error() string {
	switch {
	case r.Op == "":
		return r.Msg
	case r.sep == "":
		return r.Op + " refused: " + r.Msg
	default:
		return r.Op + r.sep + r.Msg
	}
}

// Unwrap returns the underlying error.
func (r *Refusal) Unwrap() error { return r.Err }

// refuse makes a Refusal found by the analysis of the history: without an
// operation (Status reports it as it is; Upgrade and Downgrade set theirs).
func refuse(kind Kind, file, format string, args ...any) *Refusal {
	return &Refusal{Kind: kind, File: file, Files: nonEmpty(file), Msg: fmt.Sprintf(format, args...)}
}

// refuseOp makes a Refusal of the operation op, whose message reads
// "op refused: ...".
func refuseOp(op string, kind Kind, file, format string, args ...any) *Refusal {
	r := refuse(kind, file, format, args...)
	r.Op = op
	return r
}

// failOp makes a Refusal of the operation op whose message reads "op:
// ..." (it says itself what was refused or is wrong).
func failOp(op string, kind Kind, file, format string, args ...any) *Refusal {
	r := refuseOp(op, kind, file, format, args...)
	r.sep = ": "
	return r
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// StatementError is a statement that failed while a file was applied.
type StatementError struct {
	// File is the migration file's name, Version its version.
	File, Version string
	// Stmt is the failing statement's 1-based index, Line its first line.
	Stmt, Line int
	// Total is the number of statements in the file.
	Total int
	// SQL is the failing statement.
	SQL string
	// Transactional reports that the file ran in a transaction that was
	// rolled back: nothing of the file persists.
	Transactional bool
	// Applied is the number of the file's statements that persist (and are
	// recorded in the revision): 0 when Transactional.
	Applied int
	// Leftover names what the failure left that no rollback removes (an
	// INVALID index of a failed concurrent build), "" for nothing.
	Leftover string
	// OwnTx is the 1-based index of the BEGIN of the file's own
	// transaction (a file run as written) that was open when the statement
	// failed and was rolled back; 0 when none was.
	OwnTx int
	// OwnTxLine is the line of that BEGIN.
	OwnTxLine int
	// Err is the database's error.
	Err error
}

func (e *StatementError) Error() string {
	var next string
	switch {
	case e.OwnTx > 0:
		next = fmt.Sprintf("the file's own transaction (statements %d-%d, from line %d) was rolled back; statements 1-%d persist and are recorded (applied %d of %d); fix statement %d, run `weberctl db hash` and upgrade again to resume at statement %d",
			e.OwnTx, e.Stmt, e.OwnTxLine, e.Applied, e.Applied, e.Total, e.Stmt, e.Applied+1)
		if e.Applied == 0 {
			next = fmt.Sprintf("the file's own transaction (statements %d-%d, from line %d) was rolled back and no statement of the file persists (applied 0 of %d); fix statement %d, run `weberctl db hash` and upgrade again",
				e.OwnTx, e.Stmt, e.OwnTxLine, e.Total, e.Stmt)
		}
	case e.Transactional:
		next = "the file's transaction was rolled back and nothing of it persists; fix the statement, run `weberctl db hash` and upgrade again"
		if e.Applied > 0 {
			next = fmt.Sprintf("this run's transaction was rolled back; statements 1-%d, from an earlier run, persist (applied %d of %d); fix statement %d, run `weberctl db hash` and upgrade again", e.Applied, e.Applied, e.Total, e.Stmt)
		}
	default:
		next = fmt.Sprintf("statements 1-%d persist and are recorded (applied %d of %d); fix statement %d, run `weberctl db hash` and upgrade again to resume there", e.Applied, e.Applied, e.Total, e.Stmt)
		if e.Applied == 0 {
			next = fmt.Sprintf("no statement of it persists (applied 0 of %d); fix statement %d, run `weberctl db hash` and upgrade again", e.Total, e.Stmt)
		}
	}
	if e.Leftover != "" {
		next = e.Leftover + "; " + strings.Replace(next, "no statement of it persists", "no other statement of it persists", 1)
	}
	return fmt.Sprintf("applying %s, statement %d (line %d): %s: %s", e.File, e.Stmt, e.Line, errtext.OneLine(e.Err), next)
}

// Unwrap returns the database's error.
func (e *StatementError) Unwrap() error { return e.Err }

// short abbreviates a statement for a message.
func short(sql string) string {
	s := errtext.Flatten(sql)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
