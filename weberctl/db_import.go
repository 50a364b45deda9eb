package weberctl

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/dialect"
	"github.com/weber-framework/weber/internal/importhist"
	"github.com/weber-framework/weber/internal/migdir"
)

func dbImportCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "import",
		Usage: "adopt a history written for golang-migrate, goose, dbmate or Atlas",
		Description: `Reads the folder --source as --from lays out its migrations and writes them into the
migration folder of one dialect (--dir/<dialect>, the database URL's dialect
unless --dialect) in Weber's layout, with atlas.sum:

  golang-migrate  {version}_{title}.up.sql / .down.sql pairs
  goose           {version}_{name}.sql with -- +goose Up / Down sections,
                  StatementBegin/End blocks, NO TRANSACTION (SQL only: Go
                  migrations are refused)
  dbmate          {version}_{name}.sql with -- migrate:up / down sections
                  (transaction:false is kept)
  atlas           already Weber's layout: validated and copied as it is

Each Weber file holds the up section; the down section is kept as a comment
at its end (Weber plans downgrades itself). A section the tool ran outside a
transaction gets -- atlas:txmode none; goose blocks that would otherwise be
cut at a semicolon get -- atlas:delimiter. Versions are zero-padded to one
width so that Weber applies the files in the tool's order. The folder must be
empty or missing; running the same import again changes nothing.

With --take-over it then reads the tool's version table in the database
(--database-url) and records the files the tool applied as applied in
Weber's history, so that ` + "`weberctl db upgrade`" + ` runs only the rest. It refuses
a dirty golang-migrate database and a version that is not in the files. The
tool's table is left in place: drop it yourself once the tool is retired.
Run the take-over on every database the tool migrated.

Example:
   weberctl db import --from golang-migrate --source db/migrations --dialect postgres
   weberctl db import --from goose --source db/migrations --take-over --database-url postgres://app@db.internal/app
   weberctl db upgrade --database-url postgres://app@db.internal/app`,
		Flags: withGlobal(
			&cli.StringFlag{Name: "from", Usage: "the `TOOL` that wrote the history: golang-migrate, goose, dbmate or atlas"},
			&cli.StringFlag{Name: "source", Usage: "the `DIR` that holds the tool's migration files"},
			&cli.StringFlag{Name: "dialect", Usage: "write migrations/`DIALECT` (sqlite, postgres or mysql; default: the database URL's)"},
			&cli.BoolFlag{Name: "take-over", Usage: "also record in the database (--database-url) what the tool applied there"},
			&cli.StringFlag{Name: "table", Usage: "the tool's version `TABLE` (default: schema_migrations; goose_db_version for goose)"},
			lockTimeoutFlag(),
			&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("what was imported and recorded")},
		),
		Action: func(c *cli.Context) error { return runImport(c, e) },
	}
}

// runImport reads the foreign history, imports it and, with --take-over,
// records what the tool applied; then renders both.
func runImport(c *cli.Context, e *env) error {
	if err := noArgs(c); err != nil {
		return err
	}
	if c.String("from") == "" || c.String("source") == "" {
		return usagef("`weberctl db import` needs --from (the tool: golang-migrate, goose, dbmate or atlas) and --source (its migrations folder), e.g. `weberctl db import --from goose --source db/migrations`")
	}
	tool, err := importhist.ParseTool(c.String("from"))
	if err != nil {
		return usagef("--from: %v", err)
	}
	cfg, u, err := e.target(c)
	if err != nil {
		return err
	}
	dia, err := importDialect(c.String("dialect"), u, c.Bool("take-over"))
	if err != nil {
		return err
	}
	dir, err := migdir.DialectDir(cfg.MigrationsDir, dia)
	if err != nil {
		return err
	}
	src, err := importhist.Read(tool, c.String("source"), dia)
	if err != nil {
		return err
	}
	res, err := importhist.Import(src, dir, dia)
	if err != nil {
		return err
	}
	asJSON := c.Bool("json")
	v := importResultView{Import: newImportView(res)}
	if !asJSON {
		renderImport(e, res)
	}
	if c.Bool("take-over") {
		tu, to, err := takeOver(c, e, tool, dir)
		if err != nil {
			return err
		}
		if !asJSON {
			renderTakeOver(e, tu, dir, to)
		}
		tv := newTakeOverView(tu, to)
		v.TakeOver = &tv
	}
	if asJSON {
		return writeJSON(e.stdout, v)
	}
	return nil
}

// importDialect picks the dialect from --dialect or the database URL; with
// --take-over the two must agree.
func importDialect(flag string, u *dbconn.URL, takeOver bool) (string, error) {
	if flag == "" {
		return u.Dialect, nil
	}
	d, err := dialect.Parse(flag)
	if err != nil {
		return "", usagef("--dialect %s: use sqlite, postgres or mysql", flag)
	}
	if takeOver && d.Ent() != u.Dialect {
		return "", usagef("--dialect %s but --database-url is a %s database: the take-over needs the folder of the database's own dialect; drop --dialect", flag, u.Dialect)
	}
	return d.Ent(), nil
}

// takeOver opens the database and records what the tool applied there.
func takeOver(c *cli.Context, e *env, tool importhist.Tool, dirPath string) (*dbconn.URL, *importhist.TakeOverResult, error) {
	_, u, db, _, err := e.openTarget(c, false)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	dir, err := migdir.OpenDialect(dirPath, u.Dialect)
	if err != nil {
		return nil, nil, err
	}
	res, err := importhist.TakeOver(c.Context, db, u, dir, importhist.TakeOverOptions{
		Tool: tool, Table: c.String("table"), Operator: operator(), LockTimeout: c.Duration("lock-timeout"),
	})
	if err != nil {
		return nil, nil, err
	}
	return u, res, nil
}

func renderImport(e *env, r *importhist.ImportResult) {
	w := e.stdout
	if r.Tool == importhist.Atlas {
		fmt.Fprintf(w, "%s is in Atlas's layout, which is Weber's own: %d files accepted as they are", r.Source, len(r.Files))
		if !r.Unchanged {
			fmt.Fprintf(w, " and copied with atlas.sum into %s", r.Dir)
		}
		fmt.Fprintln(w, ".")
		return
	}
	if r.Unchanged {
		fmt.Fprintf(w, "Nothing to write: %s already holds these %d files imported from %s (%s).\n", r.Dir, len(r.Files), r.Tool, r.Source)
		return
	}
	fmt.Fprintf(w, "Imported %d %s migrations from %s into %s:\n", len(r.Files), r.Tool, r.Source, r.Dir)
	for _, f := range r.Files {
		var notes []string
		if f.NoTx {
			notes = append(notes, "outside a transaction")
		}
		if f.Delimiter {
			notes = append(notes, "statement blocks kept with -- atlas:delimiter")
		}
		if f.Unwrapped {
			notes = append(notes, "its own BEGIN/COMMIT commented out")
		}
		note := ""
		if len(notes) > 0 {
			note = "  (" + strings.Join(notes, "; ") + ")"
		}
		fmt.Fprintf(w, "  %-40s <- %s%s\n", f.Name, strings.Join(f.Sources, " + "), note)
	}
	fmt.Fprintf(w, "Wrote %s. Down sections are kept as comments at the end of each file; Weber plans downgrades itself.\n", filepath.Join(r.Dir, migdir.SumFile))
	if len(r.Ignored) > 0 {
		fmt.Fprintf(w, "Skipped, as %s skips them: %s.\n", r.Tool, strings.Join(r.Ignored, ", "))
	}
	fmt.Fprintf(w, "Next: review and commit %s; on each database %s migrated, run `weberctl db import --from %s --source %s --take-over --database-url URL`.\n",
		r.Dir, r.Tool, r.Tool, r.Source)
}

func renderTakeOver(e *env, u *dbconn.URL, dir string, r *importhist.TakeOverResult) {
	w := e.stdout
	fmt.Fprintf(w, "Took over %s from %s (read %s: %s).\n", u.Redacted(), r.Tool, r.Table, appliedSummary(r.Applied))
	switch {
	case r.Tool == importhist.Atlas:
		fmt.Fprintf(w, "Atlas's revision table is Weber's own: nothing to record.\n")
	case r.AlreadyRecorded:
		fmt.Fprintf(w, "Weber's history already records these files: nothing recorded.\n")
	case len(r.Recorded) > 0:
		fmt.Fprintf(w, "Recorded as applied, without running them:\n")
		for _, n := range r.Recorded {
			fmt.Fprintf(w, "  %s\n", n)
		}
	default:
		fmt.Fprintf(w, "%s applied nothing here, so nothing was recorded; `weberctl db upgrade` refuses a database that holds tables, %s included: drop %s (it records nothing) or upgrade an empty database.\n",
			r.Tool, r.Table, r.Table)
	}
	if len(r.Pending) == 0 {
		fmt.Fprintf(w, "Nothing pending: the database is at the end of %s.\n", dir)
	} else {
		fmt.Fprintf(w, "Pending, for `weberctl db upgrade`: %s.\n", strings.Join(r.Pending, ", "))
	}
	if len(r.Behind) > 0 {
		fmt.Fprintf(w, "%s older than the newest applied file: `weberctl db upgrade --allow-out-of-order` applies them.\n", strings.Join(r.Behind, ", "))
	}
	if r.Tool != importhist.Atlas {
		fmt.Fprintf(w, "The %s table is left in place (Weber does not drop it): drop it once %s no longer runs.\n", r.Table, r.Tool)
	}
}

func appliedSummary(vs []string) string {
	switch len(vs) {
	case 0:
		return "no version applied"
	case 1:
		return "version " + vs[0] + " applied"
	}
	return fmt.Sprintf("%d versions applied, %s to %s", len(vs), vs[0], vs[len(vs)-1])
}

// importResultView is the JSON of `db import`.
type importResultView struct {
	Import   importView    `json:"import"`
	TakeOver *takeOverView `json:"take_over"`
}

type importView struct {
	Tool      string             `json:"tool"`
	Source    string             `json:"source"`
	Dir       string             `json:"dir"`
	Unchanged bool               `json:"unchanged"`
	Files     []importedFileView `json:"files"`
	Ignored   []string           `json:"ignored"`
}

type importedFileView struct {
	Name          string   `json:"name"`
	Version       string   `json:"version"`
	SourceVersion string   `json:"source_version"`
	Sources       []string `json:"sources"`
	Statements    int      `json:"statements"`
	TxModeNone    bool     `json:"txmode_none"`
	Delimiter     bool     `json:"delimiter"`
	Unwrapped     bool     `json:"unwrapped"`
	DownKept      bool     `json:"down_kept"`
}

type takeOverView struct {
	Database        string   `json:"database"`
	Tool            string   `json:"tool"`
	Table           string   `json:"table"`
	Applied         []string `json:"applied"`
	Recorded        []string `json:"recorded"`
	AlreadyRecorded bool     `json:"already_recorded"`
	Pending         []string `json:"pending"`
	Behind          []string `json:"behind"`
}

func newImportView(r *importhist.ImportResult) importView {
	v := importView{Tool: string(r.Tool), Source: r.Source, Dir: r.Dir, Unchanged: r.Unchanged, Files: []importedFileView{}, Ignored: list(r.Ignored)}
	for _, f := range r.Files {
		v.Files = append(v.Files, importedFileView{Name: f.Name, Version: f.Version, SourceVersion: f.SourceVersion, Sources: list(f.Sources),
			Statements: f.Stmts, TxModeNone: f.NoTx, Delimiter: f.Delimiter, Unwrapped: f.Unwrapped, DownKept: f.DownKept})
	}
	return v
}

func newTakeOverView(u *dbconn.URL, r *importhist.TakeOverResult) takeOverView {
	return takeOverView{Database: u.Redacted(), Tool: string(r.Tool), Table: r.Table, Applied: list(r.Applied), Recorded: list(r.Recorded),
		AlreadyRecorded: r.AlreadyRecorded, Pending: list(r.Pending), Behind: list(r.Behind)}
}
