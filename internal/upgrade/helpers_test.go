package upgrade

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/preflight"
	"github.com/weber-framework/weber/internal/revstore"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// tdb is a fresh database of one backend, dropped after the test.
type tdb struct {
	name string // "sqlite", "postgres", "mysql"
	u    *dbconn.URL
	db   *sql.DB
}

func (d *tdb) dia() string { return d.u.Dialect }

// open returns another pool on the same database (as another process would
// have), closed after the test.
func (d *tdb) open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := dbconn.Open(context.Background(), d.u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newDB returns a fresh, empty database on the backend named name
// (testserver.NewEmpty), skipping the test when its server is not set.
func newDB(t *testing.T, name string) *tdb {
	t.Helper()
	db, u := testserver.NewEmpty(t, testserver.Lookup(t, name), nil)
	return &tdb{name: name, u: u, db: db}
}

// file is one migration file to write.
type file struct{ name, body string }

// writeDir writes a dialect folder with the files and a matching atlas.sum,
// the way `db revision` does (Atlas's LocalDir and WriteSumFile).
func writeDir(t *testing.T, dia string, files ...file) string {
	t.Helper()
	folder, err := migdir.Folder(dia)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), folder)
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	addFiles(t, path, files...)
	return path
}

// addFiles writes or replaces files in path and re-hashes atlas.sum.
func addFiles(t *testing.T, path string, files ...file) {
	t.Helper()
	ld, err := migrate.NewLocalDir(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := ld.WriteFile(f.name, []byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := ld.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.WriteSumFile(ld, sum); err != nil {
		t.Fatal(err)
	}
}

func upgrade(t *testing.T, d *tdb, dir string, opts Options) (*Result, error) {
	t.Helper()
	return Upgrade(context.Background(), d.db, d.u, dir, opts)
}

func mustUpgrade(t *testing.T, d *tdb, dir string, opts Options) *Result {
	t.Helper()
	res, err := upgrade(t, d, dir, opts)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	return res
}

func wantRefusal(t *testing.T, err error, kind Kind, contains ...string) *Refusal {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("want a %s refusal, got %v", kind, err)
	}
	if got := KindOf(err); got != kind {
		t.Fatalf("want a %s refusal, got %s: %v", kind, got, err)
	}
	checkMessage(t, err, contains...)
	return r
}

func checkMessage(t *testing.T, err error, contains ...string) {
	t.Helper()
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, c := range contains {
		if !strings.Contains(msg, c) {
			t.Errorf("error %q does not mention %q", msg, c)
		}
	}
}

func tableExists(t *testing.T, d *tdb, name string) bool {
	t.Helper()
	tables, err := userTables(context.Background(), d.db, d.dia())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range tables {
		if n == name {
			return true
		}
	}
	return false
}

func count(t *testing.T, d *tdb, query string) int {
	t.Helper()
	var n int
	if err := d.db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func revisions(t *testing.T, d *tdb) []*revstore.Revision {
	t.Helper()
	revs, err := History(context.Background(), d.db, d.u)
	if err != nil {
		t.Fatal(err)
	}
	return revs
}

func revision(t *testing.T, d *tdb, version string) *revstore.Revision {
	t.Helper()
	for _, r := range revisions(t, d) {
		if r.Version == version {
			return r
		}
	}
	return nil
}

// noTx returns the directive that runs a file outside a transaction on the
// dialects where files are transactional (MySQL always runs that way).
func noTx(dia string) string {
	if dia == dialect.MySQL {
		return ""
	}
	return "-- atlas:txmode none\n\n"
}

// progress is what the tests check of a revision: how far its file got and
// why it stopped. Error and ErrorStmt hold what the test looks for in them
// (see contains); PartialHashes counts the hashes of the applied part.
type progress struct {
	Applied, Total   int
	Error, ErrorStmt string
	PartialHashes    int
}

// progressOf returns r's progress, with its error and failing statement
// reduced to errHas and stmtHas when they contain them (contains).
func progressOf(r *revstore.Revision, errHas, stmtHas string) progress {
	if r == nil {
		return progress{Error: "no revision"}
	}
	return progress{Applied: r.Applied, Total: r.Total, Error: contains(r.Error, errHas),
		ErrorStmt: contains(r.ErrorStmt, stmtHas), PartialHashes: len(r.PartialHashes)}
}

// contains returns sub when s contains it, else s itself, so that a
// cmp.Diff against sub shows the whole text that lacks it. An empty sub
// asks for an empty s.
func contains(s, sub string) string {
	if sub != "" && strings.Contains(s, sub) {
		return sub
	}
	return s
}

// stmtErr is what the tests check of a *StatementError.
type stmtErr struct {
	File          string
	Stmt, Line    int
	Transactional bool
	Applied       int
}

func stmtErrOf(se *StatementError) stmtErr {
	return stmtErr{File: se.File, Stmt: se.Stmt, Line: se.Line, Transactional: se.Transactional, Applied: se.Applied}
}

// applied is what the tests check of a *Result: what was baselined, the
// files run, and the version after.
type applied struct {
	Baselined []string
	Files     []string
	After     string
}

func appliedOf(res *Result) applied {
	a := applied{Baselined: res.Baselined, After: res.After}
	for _, f := range res.Files {
		a.Files = append(a.Files, f.Name)
	}
	return a
}

// status is what the tests check of a *StatusResult: the pending files by
// name, each problem as its kind and file.
type status struct {
	HasHistory           bool
	Current, CurrentName string
	Applied, Files       int
	Pending, Problems    []string
}

func statusOf(st *StatusResult) status {
	s := status{HasHistory: st.HasHistory, Current: st.Current, CurrentName: st.CurrentName, Applied: st.Applied, Files: st.Files}
	for _, p := range st.Pending {
		s.Pending = append(s.Pending, p.Name)
	}
	for _, p := range st.Problems {
		s.Problems = append(s.Problems, string(p.Kind)+" "+p.File)
	}
	return s
}

// risksOf lists pre-flight risks as "kind table.column: N rows", with
// ", blocks" for those that refuse the upgrade.
func risksOf(rs []preflight.Risk) []string {
	var out []string
	for _, r := range rs {
		s := fmt.Sprintf("%s %s.%s: %d rows", r.Kind, r.Table, r.Column, r.Rows)
		if r.Blocks() {
			s += ", blocks"
		}
		out = append(out, s)
	}
	return out
}
