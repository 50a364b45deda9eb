package upgrade

import (
	"fmt"
	"io"
	"strings"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dblock"
	"github.com/weber-framework/weber/internal/lockwait"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plural"
	"github.com/weber-framework/weber/internal/revstore"
)

// ScriptOptions configure Script.
type ScriptOptions struct {
	// Dialect is ent's dialect name; Folder its folder's (for the header).
	Dialect, Folder string
	// Database is the target database's name, for the migration lock the
	// script takes ("" on SQLite, or to take none).
	Database string
	// From is the version the script starts after ("" for an empty
	// database), for its header.
	From string
	// Operator is recorded in each revision, as Options.Operator.
	Operator string
	// DDL is the lock wait each statement gets, as Options.DDL.
	DDL lockwait.Policy
}

// ScriptFiles returns the files of dir after from ("" or Empty: all) up to
// to ("": the latest), in order, for Script.
func ScriptFiles(dir *migdir.Dir, from, to string) ([]*migdir.File, error) {
	if from != "" && from != Empty && dir.Find(from) == nil {
		return nil, failOp("upgrade --sql", KindTarget, "", "--from %s names no file in %s (nearest: %s); give the version the database is at, or %s for an empty one",
			from, dir.Path, dir.Nearest(from), Empty)
	}
	if to != "" && dir.Find(to) == nil {
		return nil, failOp("upgrade --sql", KindTarget, "", "--to %s names no file in %s (nearest: %s; latest: %s)", to, dir.Path, dir.Nearest(to), dir.Latest())
	}
	var out []*migdir.File
	for _, f := range dir.Files {
		if from != "" && from != Empty && migdir.CompareVersions(f.Version, from) <= 0 {
			continue
		}
		if to != "" && migdir.CompareVersions(f.Version, to) > 0 {
			break
		}
		out = append(out, f)
	}
	return out, nil
}

// Script writes the SQL script that applies files as Upgrade would, for a
// DBA to run with the database's own client: the migration lock, the lock
// wait settings, each file in its own transaction (SQLite, PostgreSQL) or
// statement by statement with its progress recorded (MySQL, and files
// marked `-- atlas:txmode none`), and every revision-table write Upgrade
// makes. Run to its end, it leaves the database as Upgrade would, and the
// next Upgrade has nothing to do; stopped by an error, it leaves the record
// Upgrade would have left. It refuses files Upgrade runs in batches chosen
// from the data (`-- weber:batch`) and Go data migrations (`-- weber:go`).
// Upgrade's pre-flight checks do not run.
func Script(w io.Writer, files []*migdir.File, o ScriptOptions) error {
	for _, f := range files {
		if f.Go != "" {
			return failOp("upgrade --sql", KindTarget, f.Name, "%s is a Go data migration (-- weber:go %s): a script cannot run it; apply the files up to it with `db upgrade --sql --to VERSION`, and this one with `weberctl db upgrade`",
				f.Name, f.Go)
		}
		for i, s := range f.Stmts {
			if s.Batch != nil {
				return failOp("upgrade --sql", KindTarget, f.Name, "%s, statement %d (line %d), runs in batches chosen from the data (-- weber:batch): a script cannot; apply the files up to it with `db upgrade --sql --to VERSION`, and this one with `weberctl db upgrade`",
					f.Name, i+1, s.Line)
			}
		}
	}
	store, err := revstore.New(o.Dialect)
	if err != nil {
		return err
	}
	s := &script{w: w, o: o, store: store}
	s.header(files)
	if len(files) == 0 {
		return s.err
	}
	take, release := "", ""
	if o.Database != "" {
		take, release = dblock.ScriptSQL(o.Dialect, o.Database)
	}
	if take != "" {
		s.line(take)
	}
	if o.Dialect == dialect.MySQL {
		s.settings(false, false)
	}
	s.line(store.EnsureSQL() + ";")
	for _, f := range files {
		s.file(f)
	}
	if release != "" {
		s.line("")
		s.line(release)
	}
	return s.err
}

// script writes one script, keeping the first write error.
type script struct {
	w     io.Writer
	o     ScriptOptions
	store *revstore.Store
	err   error
}

func (s *script) line(text string) {
	if s.err == nil {
		_, s.err = fmt.Fprintln(s.w, text)
	}
}

func (s *script) header(files []*migdir.File) {
	from := "an empty database"
	if s.o.From != "" && s.o.From != Empty {
		from = "version " + s.o.From
	}
	s.line(fmt.Sprintf("-- Weber upgrade script (%s): %s after %s, made by `weberctl db upgrade --sql`.", s.o.Folder, plural.Count(len(files), "file", "files"), from))
	s.line("-- It does what `weberctl db upgrade` does, revision records included: run to its end,")
	s.line("-- the next `weberctl db upgrade` has nothing to do. Stop at the first error:")
	switch s.o.Dialect {
	case dialect.Postgres:
		s.line("--   psql -v ON_ERROR_STOP=1 -f upgrade.sql \"$DATABASE_URL\"")
	case dialect.MySQL:
		s.line("--   mariadb DATABASE < upgrade.sql     (or mysql; both stop at the first error)")
	default:
		s.line("--   sqlite3 -bail var/weber.db < upgrade.sql")
	}
	s.line("-- Not in a script: Weber's pre-flight checks (rows a statement would destroy,")
	s.line("-- blocking DDL on big tables) and its retry after a lock wait gives up. Run")
	s.line("-- `weberctl db upgrade --dry-run` against the database first.")
	if len(files) == 0 {
		s.line("-- Nothing to apply.")
	}
	s.line("")
}

// settings writes the lock wait settings (SET LOCAL inside a transaction).
func (s *script) settings(local, exempt bool) {
	for _, set := range s.o.DDL.Settings(s.o.Dialect, local, exempt) {
		s.line(set + ";")
	}
}

// file writes one file's statements and revision writes.
func (s *script) file(f *migdir.File) {
	s.line("")
	s.line(fmt.Sprintf("-- %s (%d statements)", f.Name, len(f.Stmts)))
	r := &revstore.Revision{Version: f.Version, Description: f.Description, Type: revstore.TypeExecute,
		Total: len(f.Stmts), Hash: f.Hash, OperatorVersion: s.o.Operator}
	switch {
	case f.AsWritten:
		s.asWritten(f, r)
	case transactional(s.o.Dialect, f):
		s.inTx(f, r)
	default:
		s.each(f, r)
	}
}

// inTx writes a file run in one transaction with its revision.
func (s *script) inTx(f *migdir.File, r *revstore.Revision) {
	if s.o.Dialect == dialect.SQLite {
		// As Upgrade: a table rebuild must not cascade into child rows.
		s.line("PRAGMA foreign_keys = off;")
	}
	s.line("BEGIN;")
	s.settings(true, false)
	for _, st := range f.Stmts {
		s.stmt(st.Text)
	}
	r.Applied = r.Total
	s.line(s.store.WriteSQL(r) + ";")
	s.line("COMMIT;")
	if s.o.Dialect == dialect.SQLite {
		s.line("PRAGMA foreign_keys = on;")
	}
}

// each writes a file run statement by statement: before each statement a
// record that it started, after it the progress, as Upgrade writes them.
func (s *script) each(f *migdir.File, r *revstore.Revision) {
	ph := f.PartialHashes()
	if s.o.Dialect == dialect.Postgres {
		s.settings(false, false)
	}
	for i, st := range f.Stmts {
		r.Applied, r.PartialHashes = i, ph[:i]
		r.Error, r.ErrorStmt = startedMarker, st.Text
		s.line(s.store.WriteSQL(r) + ";")
		if s.o.Dialect == dialect.Postgres && lockwait.Exempt(st.Text) {
			s.settings(false, true)
		}
		s.stmt(st.Text)
		if s.o.Dialect == dialect.Postgres && lockwait.Exempt(st.Text) {
			s.settings(false, false)
		}
		r.Applied, r.PartialHashes = i+1, ph[:i+1]
		r.Error, r.ErrorStmt = "", ""
		s.line(s.store.WriteSQL(r) + ";")
	}
	r.PartialHashes = nil
	s.line(s.store.WriteSQL(r) + ";")
}

// asWritten writes a file that controls its own transactions exactly as
// written, then its revision.
func (s *script) asWritten(f *migdir.File, r *revstore.Revision) {
	s.line("-- run as written (-- weber:as-written): its own transactions, no lock wait")
	for _, st := range f.Stmts {
		s.stmt(st.Text)
	}
	r.Applied = r.Total
	s.line(s.store.WriteSQL(r) + ";")
}

// stmt writes one statement with its delimiter. On MySQL a statement that
// holds a semicolon (a trigger or routine body) is framed by DELIMITER, as
// the mysql and mariadb clients need.
func (s *script) stmt(text string) {
	text = strings.TrimRight(text, " \t\n;")
	if s.o.Dialect == dialect.MySQL && strings.Contains(text, ";") {
		s.line("DELIMITER $$")
		s.line(text + "$$")
		s.line("DELIMITER ;")
		return
	}
	s.line(text + ";")
}
