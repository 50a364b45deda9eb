package engine

import (
	"context"
	"database/sql"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/drift"
	"github.com/weber-framework/weber/internal/fingerprint"
	"github.com/weber-framework/weber/internal/livelint"
	"github.com/weber-framework/weber/internal/lockwait"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/preflight"
	"github.com/weber-framework/weber/internal/revstore"
	"github.com/weber-framework/weber/internal/upgrade"
	"github.com/weber-framework/weber/internal/verify"
)

// URL is a parsed database URL: sqlite://PATH, postgres://... or
// mysql://.... Its String and Redacted methods never show the password.
type URL = dbconn.URL

// ParseURL parses a database URL. Its errors never contain the password.
func ParseURL(raw string) (*URL, error) { return dbconn.Parse(raw) }

// Open opens and pings the database u names with the right driver and,
// for SQLite, Weber's pragmas (foreign keys on, a busy timeout, WAL).
func Open(ctx context.Context, u *URL) (*sql.DB, error) { return dbconn.Open(ctx, u) }

// DDLPolicy bounds how long each statement waits for its table's lock on
// PostgreSQL and MySQL, how long a file is retried, and each statement's
// run time. The zero value is the defaults.
type DDLPolicy = lockwait.Policy

// MigrationFile is one parsed file of the migration folder.
type MigrationFile = migdir.File

// UpgradeOptions configure Upgrade; the zero value applies every pending
// file. Its DevURL, LockTimeout, DDL, Operator and Logger default to the
// Engine's Config.
type UpgradeOptions = upgrade.Options

// UpgradeResult is what Upgrade did (or would do, in a dry run).
type UpgradeResult = upgrade.Result

// FileRun is one file Upgrade applied.
type FileRun = upgrade.FileRun

// FileEvent reports a file starting or ending (UpgradeOptions.OnFile).
type FileEvent = upgrade.FileEvent

// BatchEvent reports a committed batch of a `-- weber:batch` statement or
// of a Go data migration.
type BatchEvent = upgrade.BatchEvent

// DataMigration is a data migration written in Go, run in batches by the
// `-- weber:go NAME` file of the history that names it (Config.DataMigrations).
type DataMigration = upgrade.DataMigration

// DataBatch is what one batch of a DataMigration works with: an ent driver
// on the batch's transaction, the key done through, the batch size.
type DataBatch = upgrade.DataBatch

// DataBatchDone is what one batch of a DataMigration did.
type DataBatchDone = upgrade.DataBatchDone

// LockWaitEvent reports a statement that gave up waiting for a lock and
// will be tried again.
type LockWaitEvent = upgrade.LockWaitEvent

// BlockingStatement is a pending statement that blocks writes on, or
// rewrites, an existing table.
type BlockingStatement = upgrade.BlockingStatement

// Risk is a pending statement that may destroy or reject rows, with the
// rows the pre-flight check counted.
type Risk = preflight.Risk

// PendingFile is a file not yet applied.
type PendingFile = upgrade.PendingFile

// Unconfirmed says what Upgrade does with a statement whose outcome was
// never recorded.
type Unconfirmed = upgrade.Unconfirmed

// What Upgrade does with a statement whose outcome was never recorded.
const (
	// UnconfirmedRefuse refuses, naming the statement (the default).
	UnconfirmedRefuse = upgrade.UnconfirmedRefuse
	// UnconfirmedRetry runs it again (`--retry`).
	UnconfirmedRetry = upgrade.UnconfirmedRetry
	// UnconfirmedMarkApplied records it as applied without running it
	// (`--mark-applied`).
	UnconfirmedMarkApplied = upgrade.UnconfirmedMarkApplied
)

// DowngradeOptions configure Downgrade; the zero value goes back one file.
type DowngradeOptions = upgrade.DowngradeOptions

// DowngradeResult is what Downgrade did (or would do, in a dry run).
type DowngradeResult = upgrade.DowngradeResult

// SetOptions configure Set: the version, Force, DryRun, the lock wait.
type SetOptions = upgrade.SetOptions

// SetResult is what Set recorded (or would record, in a dry run).
type SetResult = upgrade.SetResult

// Empty is the DowngradeOptions.To that goes back before the first file.
const Empty = upgrade.Empty

// StatusResult describes the database against its migration folder.
type StatusResult = upgrade.StatusResult

// PartialFile is a file applied in part.
type PartialFile = upgrade.PartialFile

// Problem is something an upgrade would refuse, as Status reports it.
type Problem = upgrade.Problem

// Revision is one applied (or partially applied) file as the database
// records it.
type Revision = revstore.Revision

// DriftReport is the live database against its applied history.
type DriftReport = drift.Report

// Difference is one way the live database differs from its history.
type Difference = drift.Difference

// Overview is `weberctl db status`: the models against the history, the
// history against the database, and the database against its history.
type Overview = drift.OverviewReport

// VerifyReport is a rehearsal's outcome: Passed, Failures, and each
// step with its findings.
type VerifyReport = verify.Report

// VerifyProgress is a rehearsal's work under way (VerifyOptions.Progress).
type VerifyProgress = verify.Progress

// VerifyDialect is the rehearsal of one dialect folder.
type VerifyDialect = verify.DialectReport

// VerifyStep is one check of a rehearsal.
type VerifyStep = verify.Step

// VerifyStatus is a step's outcome: "pass", "fail" or "skip".
type VerifyStatus = verify.Status

// Finding is one difference a rehearsal found between the data before
// and after (rows lost, values changed, a foreign key broken...).
type Finding = fingerprint.Finding

// BlockingFinding is why a statement blocks a table's writes or rewrites
// it, with the gentler form to use instead.
type BlockingFinding = livelint.Finding

// ModelsPlan is the models against the history (Overview.Models): the
// statements a new revision would write, and what it would leave out.
type ModelsPlan = plan.Plan

// PlannedStatement is one statement of a ModelsPlan.
type PlannedStatement = plan.Statement

// LeftOut is a destructive change a ModelsPlan leaves out unless allowed.
type LeftOut = plan.LeftOut

// LintFinding is what the linter says about a planned statement.
type LintFinding = plan.Finding

// Refusal is an expected reason not to proceed: nothing was changed.
type Refusal = upgrade.Refusal

// StatementError is a statement that failed while a file was applied.
type StatementError = upgrade.StatementError

// Kind classifies a Refusal.
type Kind = upgrade.Kind

// KindOf returns the Kind of the *Refusal in err's chain, or "".
func KindOf(err error) Kind { return upgrade.KindOf(err) }

// Kinds of Refusal.
const (
	// KindEdited: an applied file's content differs from its recorded hash.
	KindEdited = upgrade.KindEdited
	// KindDeleted: an applied file is missing from the folder.
	KindDeleted = upgrade.KindDeleted
	// KindOutOfOrder: pending files older than the latest applied one.
	KindOutOfOrder = upgrade.KindOutOfOrder
	// KindNotClean: the database has tables but no revision history.
	KindNotClean = upgrade.KindNotClean
	// KindPartialChanged: a partially applied file was edited in its
	// applied part.
	KindPartialChanged = upgrade.KindPartialChanged
	// KindUnconfirmed: a statement's outcome was never recorded.
	KindUnconfirmed = upgrade.KindUnconfirmed
	// KindTarget: a version given names no file, or is behind the database.
	KindTarget = upgrade.KindTarget
	// KindBaseline: a baseline asked of a database that has a history.
	KindBaseline = upgrade.KindBaseline
	// KindAdopt: the pending files cannot be recorded as applied.
	KindAdopt = upgrade.KindAdopt
	// KindLocked: another schema change held the lock past the timeout.
	KindLocked = upgrade.KindLocked
	// KindRevisions: the revision table holds rows Weber cannot interpret.
	KindRevisions = upgrade.KindRevisions
	// KindForeignKeys: a file or plan left rows violating foreign keys.
	KindForeignKeys = upgrade.KindForeignKeys
	// KindDataLoss: a statement or plan would destroy or reject rows.
	KindDataLoss = upgrade.KindDataLoss
	// KindPreflight: the check counting the rows at risk could not run.
	KindPreflight = upgrade.KindPreflight
	// KindBlocking: a statement would block a large table's writes.
	KindBlocking = upgrade.KindBlocking
	// KindDirectory: the migration folder is invalid (a Status problem).
	KindDirectory = upgrade.KindDirectory
	// KindMismatch: Set was asked for a version whose schema the live
	// database does not have.
	KindMismatch = upgrade.KindMismatch
	// KindDataMigration: a pending `-- weber:go` file names a data
	// migration that Config.DataMigrations does not hold.
	KindDataMigration = upgrade.KindDataMigration
)
