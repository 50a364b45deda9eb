package devdb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"
	"github.com/google/go-cmp/cmp"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/devdb"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"github.com/weber-framework/weber/internal/upgrade"
)

// noteTables is the models of the development-loop tests: notes(id,
// title), plus the nullable columns named in extra (subtitle, body).
func noteTables(extra ...string) []*entschema.Table {
	cols := []*entschema.Column{
		{Name: "id", Type: field.TypeInt, Increment: true},
		{Name: "title", Type: field.TypeString, Size: 50},
	}
	for _, name := range extra {
		cols = append(cols, &entschema.Column{Name: name, Type: field.TypeString, Size: 100, Nullable: true})
	}
	return []*entschema.Table{{Name: "notes", Columns: cols, PrimaryKey: cols[:1]}}
}

// loop is one backend's setup for the development-loop tests: the target
// database, its dev server, a migration directory and the SQL each step
// of the models takes (written by Ensure on a scratch database, so that
// the files say exactly what Ensure itself adds, as `db revision` would).
type loop struct {
	u      *dbconn.URL
	devURL string
	dir    string // the migrations directory, one folder per dialect
	folder string // its folder for u's dialect
	// initial creates notes(id, title); subtitle and body add one column each.
	initial, subtitle, body string
}

// newLoop sets up the development loop on backend b; a server's scratch
// databases go on its dev server (Backend.DevURL).
func newLoop(t *testing.T, b testserver.Backend) *loop {
	t.Helper()
	l := &loop{u: testserver.NewURL(t, b, nil), dir: t.TempDir(), devURL: b.DevURL()}
	l.folder = filepath.Join(l.dir, b.Name)
	if err := os.MkdirAll(l.folder, 0o755); err != nil {
		t.Fatal(err)
	}
	var so *testserver.Options
	if b.URL == "" {
		so = &testserver.Options{Name: "scratch.db"}
	}
	scratch := testserver.NewURL(t, b, so)
	step := func(tables []*entschema.Table) string {
		t.Helper()
		res, err := devdb.Ensure(t.Context(), scratch, devdb.EnsureOptions{Tables: tables})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Statements) == 0 {
			t.Fatalf("ensure on the scratch database ran nothing for %v", res)
		}
		return strings.Join(res.Statements, ";\n") + ";\n"
	}
	l.initial = step(noteTables())
	l.subtitle = step(noteTables("subtitle"))
	l.body = step(noteTables("subtitle", "body"))
	return l
}

// add writes a migration file into the dialect folder and re-hashes it.
func (l *loop) add(t *testing.T, name, body string) {
	t.Helper()
	if err := writeFile(filepath.Join(l.folder, name), body); err != nil {
		t.Fatal(err)
	}
	if err := migdir.Rehash(l.folder); err != nil {
		t.Fatal(err)
	}
}

// ensure runs Ensure on the target with the directory and the tables.
func (l *loop) ensure(t *testing.T, tables []*entschema.Table) (*devdb.EnsureResult, error) {
	t.Helper()
	return devdb.Ensure(t.Context(), l.u, devdb.EnsureOptions{Root: l.dir, DevURL: l.devURL, Tables: tables})
}

// revisions returns the versions and types of the target's revisions.
func (l *loop) revisions(t *testing.T) []*revstore.Revision {
	t.Helper()
	revs, err := upgrade.History(t.Context(), open(t, l.u), l.u)
	if err != nil {
		t.Fatal(err)
	}
	return revs
}

// upToDate checks that nothing is pending and that upgrade has nothing to
// do, which also proves the tamper checks accept the revisions.
func (l *loop) upToDate(t *testing.T, applied int) {
	t.Helper()
	db := open(t, l.u)
	st, err := upgrade.Status(t.Context(), db, l.u, l.folder)
	if err != nil {
		t.Fatal(err)
	}
	if !st.UpToDate() || st.Applied != applied {
		t.Errorf("status: up to date %v, applied %d (want %d), pending %v, problems %v", st.UpToDate(), st.Applied, applied, st.Pending, st.Problems)
	}
	r, err := upgrade.Upgrade(t.Context(), db, l.u, l.folder, upgrade.Options{DevURL: l.devURL})
	if err != nil {
		t.Fatalf("upgrade after ensure: %v", err)
	}
	if !r.NothingToDo() {
		t.Errorf("upgrade after ensure did something: files %v, adopted %v", r.Files, r.Adopted)
	}
}

const (
	file1 = "20261201000000_notes.sql"
	file2 = "20261202000000_notes_subtitle.sql"
)

// Flow A: a teammate's file arrives on a database at file 1: Ensure runs it
// instead of adding its column from the models.
func TestEnsureAppliesPendingFiles(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		l := newLoop(t, b)
		l.add(t, file1, l.initial)
		res, err := l.ensure(t, noteTables())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.History, []string{file1}) {
			t.Fatalf("first ensure applied %v, want [%s]", res.History, file1)
		}
		l.add(t, file2, l.subtitle)
		res, err = l.ensure(t, noteTables("subtitle"))
		if err != nil {
			t.Fatalf("ensure with %s pending: %v", file2, err)
		}
		if !slices.Equal(res.History, []string{file2}) || len(res.Adopted) != 0 || len(res.Columns) != 0 {
			t.Errorf("ensure: applied %v, adopted %v, columns from the models %v; want %s applied only", res.History, res.Adopted, res.Columns, file2)
		}
		revs := l.revisions(t)
		if len(revs) != 2 || revs[1].Type == revstore.TypeBaseline {
			t.Errorf("revisions after ensure: %d, the second of type %v; want 2, the second executed", len(revs), revs[len(revs)-1].Type)
		}
		l.upToDate(t, 2)
	})
}

// Flow B: the developer adds a column to a model and runs ensure, then
// writes the revision that adds it. The next ensure records the file as
// applied without running it, and the column's data stays.
func TestEnsureAdoptsWhatItAddedBefore(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		l := newLoop(t, b)
		l.add(t, file1, l.initial)
		if _, err := l.ensure(t, noteTables()); err != nil {
			t.Fatal(err)
		}
		res, err := l.ensure(t, noteTables("subtitle"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Columns, []string{"notes.subtitle"}) {
			t.Fatalf("ensure with the new model added %v, want [notes.subtitle]", res.Columns)
		}
		db := open(t, l.u)
		exec(t, db, "INSERT INTO notes (title, subtitle) VALUES ('a', 'keep-me')")

		l.add(t, file2, l.subtitle)
		res, err = l.ensure(t, noteTables("subtitle"))
		if err != nil {
			t.Fatalf("ensure after the revision: %v", err)
		}
		if !slices.Equal(res.Adopted, []string{file2}) || len(res.History) != 0 || res.NothingToDo() {
			t.Errorf("ensure after the revision: adopted %v, applied %v; want %s adopted", res.Adopted, res.History, file2)
		}
		revs := l.revisions(t)
		if len(revs) != 2 || revs[1].Type != revstore.TypeBaseline || revs[1].Applied != revs[1].Total {
			t.Errorf("revisions: %d, the second %+v; want 2, the second recorded as a complete baseline", len(revs), revs[len(revs)-1])
		}
		l.upToDate(t, 2)
		var sub string
		if err := db.QueryRowContext(t.Context(), "SELECT subtitle FROM notes WHERE title = 'a'").Scan(&sub); err != nil || sub != "keep-me" {
			t.Errorf("subtitle after adoption = %q, %v; want keep-me", sub, err)
		}
		again, err := l.ensure(t, noteTables("subtitle"))
		if err != nil || !again.NothingToDo() {
			t.Errorf("third ensure: %v, %+v; want nothing to do", err, again)
		}
	})
}

// A file that adds a column ensure already added and one more: the
// database matches neither the history before it nor after it, so it is
// neither adopted nor applicable. The error names the file and the way
// out, and the way out works.
func TestEnsurePendingFileHalfInEffect(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		l := newLoop(t, b)
		l.add(t, file1, l.initial)
		if _, err := l.ensure(t, noteTables()); err != nil {
			t.Fatal(err)
		}
		if _, err := l.ensure(t, noteTables("subtitle")); err != nil {
			t.Fatal(err)
		}
		l.add(t, file2, l.subtitle+l.body)
		_, err := l.ensure(t, noteTables("subtitle", "body"))
		var pe *devdb.PendingError
		if !errors.As(err, &pe) {
			t.Fatalf("ensure with a half-applied file: %v (%T), want a *devdb.PendingError", err, err)
		}
		msg := err.Error()
		for _, want := range []string{file2, "statement 1", "weberctl db drop --yes && weberctl db ensure", "run `weberctl db ensure` again"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not contain %q", msg, want)
			}
		}
		if strings.Contains(msg, "\n") || strings.Contains(msg, "db hash") {
			t.Errorf("error is not one line or gives the production advice: %q", msg)
		}
		db := open(t, l.u)
		// file 1 stays the only complete revision (MySQL also records the
		// failed attempt at file 2, with nothing applied).
		for i, r := range l.revisions(t) {
			if (i == 0) != r.Done() || (i > 0 && r.Applied != 0) {
				t.Errorf("revision %d after the failure: %+v", i, r)
			}
		}
		var n int
		if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM notes WHERE body IS NULL").Scan(&n); err == nil {
			t.Errorf("notes.body exists after the failed file")
		}

		// The advice: undo what statement 1 adds, ensure again.
		exec(t, db, "ALTER TABLE notes DROP COLUMN subtitle")
		res, err := l.ensure(t, noteTables("subtitle", "body"))
		if err != nil {
			t.Fatalf("ensure after undoing the column: %v", err)
		}
		if !slices.Equal(res.History, []string{file2}) {
			t.Errorf("ensure after undoing the column applied %v, want [%s]", res.History, file2)
		}
		l.upToDate(t, 2)
	})
}

// The developer keeps editing models after writing a revision: the database
// has the file's column and one more that no file adds yet. The file is
// still adopted (the extra column is the next revision's business), and the
// extra column and its data stay.
func TestEnsureAdoptsWithExtraModelChanges(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		l := newLoop(t, b)
		l.add(t, file1, l.initial)
		if _, err := l.ensure(t, noteTables()); err != nil {
			t.Fatal(err)
		}
		if _, err := l.ensure(t, noteTables("subtitle", "body")); err != nil {
			t.Fatal(err)
		}
		db := open(t, l.u)
		exec(t, db, "INSERT INTO notes (title, subtitle, body) VALUES ('a', 's', 'keep-me')")

		l.add(t, file2, l.subtitle)
		res, err := l.ensure(t, noteTables("subtitle", "body"))
		if err != nil {
			t.Fatalf("ensure after the revision: %v", err)
		}
		if !slices.Equal(res.Adopted, []string{file2}) || len(res.History) != 0 {
			t.Errorf("adopted %v, applied %v; want %s adopted", res.Adopted, res.History, file2)
		}
		l.upToDate(t, 2)
		var body string
		if err := db.QueryRowContext(t.Context(), "SELECT body FROM notes WHERE title = 'a'").Scan(&body); err != nil || body != "keep-me" {
			t.Errorf("body after adoption = %q, %v; want keep-me", body, err)
		}
	})
}

// Flow B with data migrations: the developer pulls a branch whose new
// columns ensure already added from the models, with a backfill in SQL
// (`-- weber:touches`) and one in Go (`-- weber:go`) between them. Ensure
// records the schema files as applied without running them but runs the
// data migrations, in version order: their effect is on rows, which the
// schema comparison cannot see.
func TestEnsureRunsPendingDataMigrations(t *testing.T) {
	t.Parallel()
	const (
		fileSQL  = "20261203000000_subtitle_sql.sql"
		fileGo   = "20261204000000_subtitle_go.sql"
		fileBody = "20261205000000_notes_body.sql"
	)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		// The Go migration fills what the SQL one left: run before it, it
		// would fill row a too, and the SQL one would find nothing to do.
		var goRuns int
		fill := map[string]upgrade.DataMigration{"fill_subtitles": {Batch: func(ctx context.Context, b upgrade.DataBatch) (upgrade.DataBatchDone, error) {
			goRuns++
			err := b.Driver.Exec(ctx, "UPDATE notes SET subtitle = 'from go' WHERE subtitle IS NULL", []any{}, nil)
			return upgrade.DataBatchDone{Through: b.After + 1, Rows: 1, Done: true}, err
		}}}
		l := newLoop(t, b)
		l.add(t, file1, l.initial)
		if _, err := l.ensure(t, noteTables()); err != nil {
			t.Fatal(err)
		}
		db := open(t, l.u)
		exec(t, db, "INSERT INTO notes (title) VALUES ('a')")
		exec(t, db, "INSERT INTO notes (title) VALUES ('b')")
		if res, err := l.ensure(t, noteTables("subtitle", "body")); err != nil || len(res.Columns) != 2 {
			t.Fatalf("ensure with the new models: %v, columns %v; want 2 columns added", err, res.Columns)
		}

		l.add(t, file2, l.subtitle)
		l.add(t, fileSQL, "-- weber:touches notes.subtitle\n\nUPDATE notes SET subtitle = 'from sql' WHERE title = 'a' AND subtitle IS NULL;\n")
		l.add(t, fileGo, "-- weber:go fill_subtitles\n-- weber:touches notes.subtitle\n\n-- Fills the subtitles left empty.\n")
		l.add(t, fileBody, l.body)
		res, err := devdb.Ensure(t.Context(), l.u, devdb.EnsureOptions{Root: l.dir, DevURL: l.devURL,
			Tables: noteTables("subtitle", "body"), DataMigrations: fill})
		if err != nil {
			t.Fatalf("ensure with data migrations pending: %v", err)
		}
		type took struct{ Adopted, Ran []string }
		if diff := cmp.Diff(took{[]string{file2, fileBody}, []string{fileSQL, fileGo}}, took{res.Adopted, res.History}); diff != "" {
			t.Errorf("ensure: the schema files must be recorded, the data migrations run (-want +got):\n%s", diff)
		}
		rows := map[string]string{}
		for _, title := range []string{"a", "b"} {
			var sub sql.NullString
			if err := db.QueryRowContext(t.Context(), "SELECT subtitle FROM notes WHERE title = '"+title+"'").Scan(&sub); err != nil {
				t.Fatal(err)
			}
			rows[title] = sub.String
		}
		if diff := cmp.Diff(map[string]string{"a": "from sql", "b": "from go"}, rows); diff != "" {
			t.Errorf("subtitles after ensure: the data migrations did not run, or not in version order (-want +got):\n%s", diff)
		}
		types := map[string]string{}
		for _, r := range l.revisions(t) {
			types[r.Version] = fmt.Sprintf("%v done=%v", r.Type, r.Done())
		}
		base, exe := fmt.Sprintf("%v done=true", revstore.TypeBaseline), fmt.Sprintf("%v done=true", revstore.TypeExecute)
		want := map[string]string{"20261201000000": exe, "20261202000000": base, "20261203000000": exe, "20261204000000": exe, "20261205000000": base}
		if diff := cmp.Diff(want, types); diff != "" {
			t.Errorf("revisions (-want +got):\n%s", diff)
		}
		l.upToDate(t, 5)
		if goRuns != 1 {
			t.Errorf("the Go data migration ran %d times, want once", goRuns)
		}
	})
}

// A data migration that fails while ensure adopts the schema files before
// it: the error says what was recorded and which file failed, the record
// stays, and the next ensure, with the migration fixed, runs it.
func TestEnsureDataMigrationFailsAfterAdopting(t *testing.T) {
	t.Parallel()
	const fileGo = "20261203000000_subtitle_go.sql"
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		broken := errors.New("the batch broke")
		fail := true
		fill := map[string]upgrade.DataMigration{"fill_subtitles": {Batch: func(ctx context.Context, b upgrade.DataBatch) (upgrade.DataBatchDone, error) {
			if fail {
				return upgrade.DataBatchDone{}, broken
			}
			err := b.Driver.Exec(ctx, "UPDATE notes SET subtitle = 'from go' WHERE subtitle IS NULL", []any{}, nil)
			return upgrade.DataBatchDone{Through: b.After + 1, Rows: 1, Done: true}, err
		}}}
		l := newLoop(t, b)
		l.add(t, file1, l.initial)
		if _, err := l.ensure(t, noteTables()); err != nil {
			t.Fatal(err)
		}
		db := open(t, l.u)
		exec(t, db, "INSERT INTO notes (title) VALUES ('a')")
		if _, err := l.ensure(t, noteTables("subtitle")); err != nil {
			t.Fatal(err)
		}
		l.add(t, file2, l.subtitle)
		l.add(t, fileGo, "-- weber:go fill_subtitles\n-- weber:touches notes.subtitle\n\n")
		ensure := func() (*devdb.EnsureResult, error) {
			return devdb.Ensure(t.Context(), l.u, devdb.EnsureOptions{Root: l.dir, DevURL: l.devURL,
				Tables: noteTables("subtitle"), DataMigrations: fill})
		}
		_, err := ensure()
		if !errors.Is(err, broken) {
			t.Fatalf("ensure with a failing data migration: %v; want its error", err)
		}
		for _, want := range []string{"recorded " + file2 + " as applied", "then applying " + fileGo, "the batch broke"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if revs := l.revisions(t); len(revs) != 2 || revs[1].Type != revstore.TypeBaseline {
			t.Errorf("after the failure: %d revisions; want 2, the second recorded", len(revs))
		}

		fail = false
		res, err := ensure()
		if err != nil || !slices.Equal(res.History, []string{fileGo}) || len(res.Adopted) != 0 {
			t.Fatalf("ensure with the migration fixed: %v, ran %v, adopted %v; want %s run", err, res.History, res.Adopted, fileGo)
		}
		var sub string
		if err := db.QueryRowContext(t.Context(), "SELECT subtitle FROM notes WHERE title = 'a'").Scan(&sub); err != nil || sub != "from go" {
			t.Errorf("subtitle = %q, %v; want from go", sub, err)
		}
		l.upToDate(t, 3)
	})
}

// A data file that also changes the schema, which ensure added from the
// models before the file existed: running it fails on its DDL, and the
// error names the ways out that work in development (db set, db reset),
// not "upgrade again".
func TestEnsureMixedDataFileAdvice(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		l := newLoop(t, b)
		l.add(t, file1, l.initial)
		if _, err := l.ensure(t, noteTables()); err != nil {
			t.Fatal(err)
		}
		if _, err := l.ensure(t, noteTables("subtitle")); err != nil {
			t.Fatal(err)
		}
		l.add(t, file2, l.subtitle+"\n-- weber:touches notes.subtitle\nUPDATE notes SET subtitle = 'x';\n")
		_, err := l.ensure(t, noteTables("subtitle"))
		if err == nil {
			t.Fatal("ensure ran a file whose column the database has already")
		}
		for _, want := range []string{file2 + " also changes the schema", "weberctl db set 20261202000000", "weberctl db reset"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
}
