package weberctl

// The JSON that --json prints: views of the engine's result structs, so
// that every command speaks the same dialect to scripts whatever the
// engine's Go names are. The rules: snake_case keys; a list is always a
// list ([] when empty, never null or missing); durations are milliseconds
// in a number named *_ms; times are RFC 3339 in UTC.

import (
	"time"

	"github.com/weber-framework/weber/internal/devdb"
	"github.com/weber-framework/weber/internal/drift"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/fingerprint"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/preflight"
	"github.com/weber-framework/weber/internal/revstore"
	"github.com/weber-framework/weber/internal/upgrade"
	"github.com/weber-framework/weber/internal/verify"
)

// ms is a duration in milliseconds, for JSON.
func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// list returns s, or an empty list for nil (JSON [] instead of null).
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// pendingView is a file not (yet) applied.
type pendingView struct {
	Version    string `json:"version"`
	Name       string `json:"name"`
	Statements int    `json:"statements"`
	// Go names the data migration a `-- weber:go` file runs.
	Go string `json:"go,omitempty"`
}

func pendingViews(ps []upgrade.PendingFile) []pendingView {
	out := []pendingView{}
	for _, p := range ps {
		out = append(out, pendingView{Version: p.Version, Name: p.Name, Statements: p.Statements, Go: p.Go})
	}
	return out
}

// fileRunView is a file an upgrade applied, or would apply.
type fileRunView struct {
	Version       string   `json:"version"`
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	Statements    int      `json:"statements"`
	From          int      `json:"from"`
	Transactional bool     `json:"transactional"`
	DurationMS    float64  `json:"duration_ms"`
	SQL           []string `json:"sql"`
	// RebuiltIndexes are INVALID indexes of interrupted concurrent builds
	// that were dropped and built again.
	RebuiltIndexes []string `json:"rebuilt_indexes"`
}

// riskView is a pending statement that would destroy or reject rows.
type riskView struct {
	File        string `json:"file"`
	Statement   int    `json:"statement"`
	Line        int    `json:"line"`
	SQL         string `json:"sql"`
	Table       string `json:"table"`
	Column      string `json:"column"`
	Kind        string `json:"kind"`
	Rows        int64  `json:"rows"`
	Groups      int64  `json:"groups"`
	Approximate bool   `json:"approximate"`
	Declared    bool   `json:"declared"`
	Blocks      bool   `json:"blocks"`
	Message     string `json:"message"`
}

func riskViews(rs []preflight.Risk) []riskView {
	out := []riskView{}
	for _, r := range rs {
		out = append(out, riskView{File: r.File, Statement: r.Index, Line: r.Line, SQL: r.Statement, Table: r.Table,
			Column: r.Column, Kind: string(r.Kind), Rows: r.Rows, Groups: r.Groups, Approximate: r.Approximate,
			Declared: r.Declared, Blocks: r.Blocks(), Message: errtext.Flatten(r.Message)})
	}
	return out
}

// upgradeView is `db upgrade --json`.
type upgradeView struct {
	Database         string         `json:"database"`
	Dialect          string         `json:"dialect"`
	Dir              string         `json:"dir"`
	DryRun           bool           `json:"dry_run"`
	NothingToDo      bool           `json:"nothing_to_do"`
	Before           string         `json:"before"`
	After            string         `json:"after"`
	Baselined        []string       `json:"baselined"`
	Files            []fileRunView  `json:"files"`
	Remaining        []pendingView  `json:"remaining"`
	Risks            []riskView     `json:"risks"`
	PreflightSkipped string         `json:"preflight_skipped,omitempty"`
	Blocking         []blockingView `json:"blocking"`
	BlockingRefusal  string         `json:"blocking_refusal,omitempty"`
	LockWaitMS       float64        `json:"lock_wait_ms"`
	DurationMS       float64        `json:"duration_ms"`
}

// blockingView is a pending statement that blocks writes on a table.
type blockingView struct {
	File        string `json:"file"`
	Statement   int    `json:"statement"`
	Line        int    `json:"line"`
	Table       string `json:"table"`
	Rows        int64  `json:"rows"`
	Bytes       int64  `json:"bytes"`
	Code        string `json:"code"`
	Message     string `json:"message"`
	Alternative string `json:"alternative"`
}

// folderOf names an ent dialect by its folder name, as every view does.
func folderOf(dia string) string {
	if f, err := migdir.Folder(dia); err == nil {
		return f
	}
	return dia
}

func newUpgradeView(database string, r *upgrade.Result) upgradeView {
	v := upgradeView{Database: database, Dialect: folderOf(r.Dialect), Dir: r.Dir, DryRun: r.DryRun, NothingToDo: r.NothingToDo(),
		Before: r.Before, After: r.After, Baselined: list(r.Baselined), Files: []fileRunView{},
		Remaining: pendingViews(r.Remaining), Risks: riskViews(r.Risks), PreflightSkipped: errtext.Flatten(r.PreflightSkipped),
		LockWaitMS: ms(r.LockWait), DurationMS: ms(r.Duration)}
	v.Blocking, v.BlockingRefusal = []blockingView{}, errtext.Flatten(r.BlockingRefusal)
	for _, b := range r.Blocking {
		v.Blocking = append(v.Blocking, blockingView{File: b.File, Statement: b.Stmt, Line: b.Line, Table: b.Table,
			Rows: b.Rows, Bytes: b.Bytes, Code: b.Finding.Code, Message: b.Finding.Message, Alternative: b.Finding.Alternative})
	}
	for _, f := range r.Files {
		v.Files = append(v.Files, fileRunView{Version: f.Version, Name: f.Name, Description: f.Description,
			Statements: f.Statements, From: f.From, Transactional: f.Transactional, DurationMS: ms(f.Duration), SQL: list(f.SQL),
			RebuiltIndexes: list(f.RebuiltIndexes)})
	}
	return v
}

// downgradeView is `db downgrade --json`.
type downgradeView struct {
	Database   string        `json:"database"`
	Dialect    string        `json:"dialect"`
	Dir        string        `json:"dir"`
	DryRun     bool          `json:"dry_run"`
	From       string        `json:"from"`
	To         string        `json:"to"`
	Reverted   []pendingView `json:"reverted"`
	Statements []string      `json:"statements"`
	DataLoss   []string      `json:"data_loss"`
	DurationMS float64       `json:"duration_ms"`
}

func newDowngradeView(database string, r *upgrade.DowngradeResult) downgradeView {
	return downgradeView{Database: database, Dialect: folderOf(r.Dialect), Dir: r.Dir, DryRun: r.DryRun, From: r.From, To: r.To,
		Reverted: pendingViews(r.Reverted), Statements: list(r.Statements), DataLoss: list(r.DataLoss), DurationMS: ms(r.Duration)}
}

// revisionView is one applied revision, `db history --json`.
type revisionView struct {
	Version         string   `json:"version"`
	Description     string   `json:"description"`
	State           string   `json:"state"` // applied, baseline, set or partial
	Applied         int      `json:"applied"`
	Total           int      `json:"total"`
	ExecutedAt      string   `json:"executed_at"`
	DurationMS      float64  `json:"duration_ms"`
	Error           string   `json:"error,omitempty"`
	ErrorStatement  string   `json:"error_statement,omitempty"`
	Hash            string   `json:"hash"`
	PartialHashes   []string `json:"partial_hashes"`
	OperatorVersion string   `json:"operator_version"`
}

// revisionState names a revision's state for people and scripts.
func revisionState(r *revstore.Revision) string {
	switch {
	case r.Type == revstore.TypeBaseline:
		return "baseline"
	case r.Type == revstore.TypeResolved:
		return "set" // recorded by `db set`, not run
	case !r.Done():
		return "partial"
	}
	return "applied"
}

func revisionViews(revs []*revstore.Revision) []revisionView {
	out := []revisionView{}
	for _, r := range revs {
		out = append(out, revisionView{Version: r.Version, Description: r.Description, State: revisionState(r),
			Applied: r.Applied, Total: r.Total, ExecutedAt: r.ExecutedAt.UTC().Format(time.RFC3339),
			DurationMS: ms(r.ExecutionTime), Error: errtext.Flatten(r.Error), ErrorStatement: r.ErrorStmt, Hash: r.Hash,
			PartialHashes: list(r.PartialHashes), OperatorVersion: r.OperatorVersion})
	}
	return out
}

// findingView is one lint finding.
type findingView struct {
	File        string `json:"file"`
	Line        int    `json:"line"`
	Code        string `json:"code"`
	Analyzer    string `json:"analyzer"`
	Severity    string `json:"severity"`
	Intended    bool   `json:"intended"`
	Message     string `json:"message"`
	Statement   string `json:"statement"`
	Explanation string `json:"explanation"`
	Alternative string `json:"alternative"`
}

func findingViews(fs []plan.Finding) []findingView {
	out := []findingView{}
	for _, f := range fs {
		out = append(out, findingView{File: f.File, Line: f.Line, Code: f.Code, Analyzer: f.Analyzer, Severity: f.Severity,
			Intended: f.Intended, Message: f.Message, Statement: f.Statement, Explanation: f.Explanation, Alternative: f.Alternative})
	}
	return out
}

// lintedFileView is the lint of one file.
type lintedFileView struct {
	Name       string        `json:"name"`
	Version    string        `json:"version"`
	Statements int           `json:"statements"`
	Findings   []findingView `json:"findings"`
}

func lintedFileViews(fs []plan.LintedFile) []lintedFileView {
	out := []lintedFileView{}
	for _, f := range fs {
		out = append(out, lintedFileView{Name: f.Name, Version: f.Version, Statements: f.Statements, Findings: findingViews(f.Findings)})
	}
	return out
}

// leftOutView is a destructive change a revision left out.
type leftOutView struct {
	Kind        string `json:"kind"`
	Table       string `json:"table"`
	Name        string `json:"name"`
	Detail      string `json:"detail"`
	Description string `json:"description"`
}

func leftOutViews(ls []plan.LeftOut) []leftOutView {
	out := []leftOutView{}
	for _, l := range ls {
		out = append(out, leftOutView{Kind: l.Kind, Table: l.Table, Name: l.Name, Detail: l.Detail, Description: l.String()})
	}
	return out
}

// statementView is one planned statement.
type statementView struct {
	SQL         string `json:"sql"`
	Comment     string `json:"comment"`
	Destructive bool   `json:"destructive"`
}

// revisionDialectView is what `db revision` did for one dialect.
type revisionDialectView struct {
	Dialect    string          `json:"dialect"`
	Dir        string          `json:"dir"`
	File       string          `json:"file"`
	Replayed   int             `json:"replayed"`
	Statements []statementView `json:"statements"`
	LeftOut    []leftOutView   `json:"left_out"`
	Findings   []findingView   `json:"findings"`
	Warnings   []string        `json:"warnings"`
	DurationMS float64         `json:"duration_ms"`
}

// reviseView is `db revision --json`.
type reviseView struct {
	Version  string                `json:"version"`
	Name     string                `json:"name"`
	Written  bool                  `json:"written"`
	Dialects []revisionDialectView `json:"dialects"`
}

func newReviseView(r *plan.ReviseResult) reviseView {
	v := reviseView{Version: r.Version, Name: r.Name, Written: r.Written, Dialects: []revisionDialectView{}}
	for _, d := range r.Dialects {
		dv := revisionDialectView{Dialect: d.Dialect, Dir: d.Dir, File: d.File, Replayed: d.Replayed, Statements: []statementView{},
			LeftOut: leftOutViews(d.LeftOut), Findings: findingViews(d.Findings), Warnings: list(d.Warnings), DurationMS: ms(d.Duration)}
		for _, s := range d.Statements {
			dv.Statements = append(dv.Statements, statementView{SQL: s.SQL, Comment: s.Comment, Destructive: s.Destructive})
		}
		v.Dialects = append(v.Dialects, dv)
	}
	return v
}

// differenceView is one way the live database differs from its applied
// history.
type differenceView struct {
	Kind        string `json:"kind"`
	Table       string `json:"table"`
	Column      string `json:"column"`
	Index       string `json:"index"`
	Detail      string `json:"detail"`
	Description string `json:"description"`
}

func differenceViews(ds []drift.Difference) []differenceView {
	out := []differenceView{}
	for _, d := range ds {
		out = append(out, differenceView{Kind: d.Kind, Table: d.Table, Column: d.Column, Index: d.Index, Detail: d.Detail, Description: describeDifference(d)})
	}
	return out
}

// problemView is something an upgrade would refuse.
type problemView struct {
	Kind    string `json:"kind"`
	File    string `json:"file"`
	Message string `json:"message"`
}

// partialView is a file applied in part.
type partialView struct {
	Version        string `json:"version"`
	Name           string `json:"name"`
	Applied        int    `json:"applied"`
	Total          int    `json:"total"`
	Error          string `json:"error,omitempty"`
	ErrorStatement string `json:"error_statement,omitempty"`
	Unconfirmed    bool   `json:"unconfirmed"`
	Progress       string `json:"progress,omitempty"`
}

// historyView is the history against the live database.
type historyView struct {
	UpToDate        bool          `json:"up_to_date"`
	HasHistory      bool          `json:"has_history"`
	Current         string        `json:"current"`
	CurrentName     string        `json:"current_name"`
	Applied         int           `json:"applied"`
	Files           int           `json:"files"`
	Pending         []pendingView `json:"pending"`
	OutOfOrder      []string      `json:"out_of_order"`
	Partial         *partialView  `json:"partial"`
	UntrackedTables []string      `json:"untracked_tables"`
	Problems        []problemView `json:"problems"`
	InvalidIndexes  []string      `json:"invalid_indexes"`
}

func newHistoryView(s *upgrade.StatusResult) historyView {
	v := historyView{UpToDate: s.UpToDate(), HasHistory: s.HasHistory, Current: s.Current, CurrentName: s.CurrentName,
		Applied: s.Applied, Files: s.Files, Pending: pendingViews(s.Pending), OutOfOrder: list(s.OutOfOrder),
		UntrackedTables: list(s.UntrackedTables), Problems: []problemView{}, InvalidIndexes: list(s.InvalidIndexes)}
	if p := s.Partial; p != nil {
		v.Partial = &partialView{Version: p.Version, Name: p.Name, Applied: p.Applied, Total: p.Total,
			Error: errtext.Flatten(p.Error), ErrorStatement: p.ErrorStmt, Unconfirmed: p.Unconfirmed, Progress: p.Progress}
	}
	for _, p := range s.Problems {
		v.Problems = append(v.Problems, problemView{Kind: string(p.Kind), File: p.File, Message: errtext.Flatten(p.Message)})
	}
	return v
}

// verifyStepView is one step of a rehearsal.
type verifyStepView struct {
	Name       string            `json:"name"`
	Status     string            `json:"status"`
	Detail     string            `json:"detail"`
	Findings   []fingerprintView `json:"findings"`
	DurationMS float64           `json:"duration_ms"`
}

// fingerprintView is one finding of a rehearsal's comparison of the data
// before and after (package fingerprint).
type fingerprintView struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Table    string `json:"table"`
	Column   string `json:"column,omitempty"`
	Before   int64  `json:"before"`
	After    int64  `json:"after"`
	Count    int64  `json:"count"`
	Example  string `json:"example,omitempty"`
	NewName  string `json:"new_name,omitempty"`
	Message  string `json:"message"`
}

func fingerprintViews(fs []fingerprint.Finding) []fingerprintView {
	out := make([]fingerprintView, 0, len(fs))
	for _, f := range fs {
		out = append(out, fingerprintView{Kind: string(f.Kind), Severity: string(f.Severity), Table: f.Table, Column: f.Column,
			Before: f.Before, After: f.After, Count: f.Count, Example: f.Example, NewName: f.NewName, Message: f.Message})
	}
	return out
}

// verifyDialectView is the rehearsal on one dialect.
type verifyDialectView struct {
	Dialect  string           `json:"dialect"`
	Database string           `json:"database"`
	From     string           `json:"from"`
	Files    []string         `json:"files"`
	Passed   bool             `json:"passed"`
	Skipped  bool             `json:"skipped"`
	Steps    []verifyStepView `json:"steps"`
}

// verifyView is `db verify --json`.
type verifyView struct {
	Passed   bool                `json:"passed"`
	Failures []string            `json:"failures"`
	Dialects []verifyDialectView `json:"dialects"`
}

func newVerifyView(r *verify.Report) verifyView {
	v := verifyView{Passed: r.Passed(), Failures: list(r.Failures()), Dialects: []verifyDialectView{}}
	for _, d := range r.Dialects {
		dv := verifyDialectView{Dialect: d.Dialect, Database: d.Database, From: d.From, Files: list(d.Files),
			Passed: d.Passed(), Skipped: d.Skipped, Steps: []verifyStepView{}}
		for _, s := range d.Steps {
			dv.Steps = append(dv.Steps, verifyStepView{Name: s.Name, Status: string(s.Status), Detail: errtext.Flatten(s.Detail),
				Findings: fingerprintViews(s.Findings), DurationMS: ms(s.Duration)})
		}
		v.Dialects = append(v.Dialects, dv)
	}
	return v
}

// ensureView is `db ensure --json`.
type ensureView struct {
	Database        string   `json:"database"`
	Dialect         string   `json:"dialect"`
	DatabaseCreated bool     `json:"database_created"`
	History         []string `json:"history"`
	Adopted         []string `json:"adopted"`
	Renamed         []string `json:"renamed"`
	Tables          []string `json:"tables"`
	Columns         []string `json:"columns"`
	Indexes         []string `json:"indexes"`
	ForeignKeys     []string `json:"foreign_keys"`
	Skipped         []string `json:"skipped"`
	Statements      []string `json:"statements"`
	Env             string   `json:"env"`
	EnvPrevious     string   `json:"env_previous,omitempty"`
	EnvKept         bool     `json:"env_kept,omitempty"`
	DurationMS      float64  `json:"duration_ms"`
}

func newEnsureView(r *devdb.EnsureResult) ensureView {
	return ensureView{Database: r.Database, Dialect: folderOf(r.Dialect), DatabaseCreated: r.DatabaseCreated,
		History: list(r.History), Adopted: list(r.Adopted), Renamed: list(r.Renamed), Tables: list(r.Tables), Columns: list(r.Columns), Indexes: list(r.Indexes),
		ForeignKeys: list(r.ForeignKeys), Skipped: list(r.Skipped), Statements: list(r.Statements), Env: r.Env,
		EnvPrevious: r.EnvPrevious, EnvKept: r.EnvKept, DurationMS: ms(r.Duration)}
}

// dropView is `db drop --json`.
type dropView struct {
	Database string   `json:"database"`
	Existed  bool     `json:"existed"`
	Dropped  bool     `json:"dropped"`
	Env      string   `json:"env"`
	Files    []string `json:"files"`
}

func newDropView(r *devdb.DropResult) dropView {
	return dropView{Database: r.Database, Existed: r.Existed, Dropped: r.Dropped, Env: r.Env, Files: list(r.Files)}
}
