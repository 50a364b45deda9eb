package upgrade

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"
	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// Options.Adopt: the check decides; refused, nothing is recorded; accepted,
// the pending files get baseline rows that the tamper checks accept.
func TestAdopt(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		ctx := context.Background()
		dir := writeDir(t, d.dia(), file{"1_a.sql", "CREATE TABLE a (id integer PRIMARY KEY);\n"})

		// No history yet: adoption is refused, nothing changes.
		check := func(context.Context, []*migdir.File) error { return nil }
		_, err := upgrade(t, d, dir, Options{Adopt: true, AdoptCheck: check})
		wantRefusal(t, err, KindAdopt, "no migration history")
		if tableExists(t, d, "a") {
			t.Fatal("a refused adoption ran a file")
		}
		if _, err := upgrade(t, d, dir, Options{Adopt: true}); err == nil || !strings.Contains(err.Error(), "AdoptCheck") {
			t.Errorf("Adopt without AdoptCheck: %v", err)
		}
		mustUpgrade(t, d, dir, Options{})

		// The database already has b's effect, made by hand.
		addFiles(t, dir, file{"2_b.sql", "CREATE TABLE b (id integer PRIMARY KEY);\n"})
		if _, err := d.db.ExecContext(ctx, "CREATE TABLE b (id integer PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		mismatch := errors.New("the live schema differs")
		_, err = upgrade(t, d, dir, Options{Adopt: true, AdoptCheck: func(context.Context, []*migdir.File) error { return mismatch }})
		r := wantRefusal(t, err, KindAdopt, "2_b.sql", "the live schema differs")
		if !errors.Is(r, mismatch) || !slices.Equal(r.Files, []string{"2_b.sql"}) {
			t.Errorf("refusal %+v does not carry the check's error and the files", r)
		}
		if n := len(revisions(t, d)); n != 1 {
			t.Fatalf("a refused adoption left %d revisions, want 1", n)
		}

		var seen []string
		res := mustUpgrade(t, d, dir, Options{Adopt: true, AdoptCheck: func(_ context.Context, files []*migdir.File) error {
			for _, f := range files {
				seen = append(seen, f.Name)
			}
			return nil
		}})
		if !slices.Equal(seen, []string{"1_a.sql", "2_b.sql"}) {
			t.Errorf("the check was given %v, want every file of the directory", seen)
		}
		if diff := cmp.Diff(struct {
			Adopted []string
			Result  applied
		}{[]string{"2_b.sql"}, applied{After: "2"}}, struct {
			Adopted []string
			Result  applied
		}{res.Adopted, appliedOf(res)}); diff != "" || res.NothingToDo() {
			t.Errorf("adopt result (-want +got):\n%s(nothing to do: %v)", diff, res.NothingToDo())
		}
		rev := revision(t, d, "2")
		if rev == nil {
			t.Fatal("no revision 2 after the adoption")
		}
		type baseline struct {
			Type       migrate.RevisionType
			Done, Hash bool
		}
		if diff := cmp.Diff(baseline{revstore.TypeBaseline, true, true}, baseline{rev.Type, rev.Done(), rev.Hash != ""}); diff != "" {
			t.Errorf("the adopted revision %+v: want a complete baseline with the file's hash (-want +got):\n%s", rev, diff)
		}
		st, err := Status(ctx, d.db, d.u, dir)
		if err != nil || !st.UpToDate() || st.Applied != 2 {
			t.Errorf("status after adoption: %v, %+v", err, st)
		}
		if again := mustUpgrade(t, d, dir, Options{}); !again.NothingToDo() {
			t.Errorf("upgrade after adoption ran %v", again.Files)
		}

		// Tampering with an adopted file is still caught.
		addFiles(t, dir, file{"2_b.sql", "CREATE TABLE b (id integer PRIMARY KEY, x integer);\n"})
		_, err = upgrade(t, d, dir, Options{})
		wantRefusal(t, err, KindEdited, "2_b.sql")
	})
}

// Options.Adopt with data migrations pending: the schema files are
// recorded, the files that change rows run, in version order. An
// unregistered Go migration is refused before the check and before
// anything is recorded; a data migration that fails leaves the files
// before it recorded and the ones after it pending.
func TestAdoptRunsDataMigrations(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		ctx := context.Background()
		dir := writeDir(t, d.dia(), file{"1_t.sql",
			"CREATE TABLE t (id int NOT NULL, v int NOT NULL, n int NOT NULL, w int NULL, PRIMARY KEY (id));\n" + seedRows(d.dia(), 1000)})
		mustUpgrade(t, d, dir, Options{})
		// The database already has the schema files' effect, as db ensure
		// would have added it from the models.
		for _, stmt := range []string{"ALTER TABLE t ADD COLUMN s varchar(10) NULL", "CREATE TABLE u (id int NOT NULL, PRIMARY KEY (id))"} {
			if _, err := d.db.ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		addFiles(t, dir,
			file{"2_s.sql", "ALTER TABLE t ADD COLUMN s varchar(10) NULL;\n"},
			file{"3_fill.sql", "-- weber:touches t.s\n\nUPDATE t SET s = 'sql' WHERE id <= 10;\n"},
			file{"4_double.sql", "-- weber:go double\n-- weber:touches t.w, t.n\n\n"},
			file{"5_u.sql", "CREATE TABLE u (id int NOT NULL, PRIMARY KEY (id));\n"})
		checks := 0
		check := func(context.Context, []*migdir.File) error { checks++; return nil }

		_, err := upgrade(t, d, dir, Options{Adopt: true, AdoptCheck: check})
		wantRefusal(t, err, KindDataMigration, "4_double.sql", `"double"`, "nothing was applied")
		if n := len(revisions(t, d)); n != 1 || checks != 0 {
			t.Fatalf("an unregistered data migration: %d revisions, %d checks; want 1 and none", n, checks)
		}

		broken := errors.New("the batch broke")
		res, err := upgrade(t, d, dir, Options{Adopt: true, AdoptCheck: check,
			DataMigrations: doubling(func(int64) error { return broken })})
		if !errors.Is(err, broken) || !strings.Contains(err.Error(), "4_double.sql") {
			t.Fatalf("a failing data migration: %v; want its error, naming 4_double.sql", err)
		}
		type took struct {
			Adopted, Ran []string
			Recorded     []string
		}
		recorded := func() []string {
			var out []string
			for _, r := range revisions(t, d) {
				out = append(out, fmt.Sprintf("%s %v done=%v", r.Version, r.Type, r.Done()))
			}
			return out
		}
		ran := func(res *Result) []string {
			var out []string
			for _, f := range res.Files {
				out = append(out, f.Name)
			}
			return out
		}
		base, exe := revstore.TypeBaseline, revstore.TypeExecute
		want := took{[]string{"2_s.sql"}, []string{"3_fill.sql"}, []string{
			fmt.Sprintf("1 %v done=true", exe), fmt.Sprintf("2 %v done=true", base), fmt.Sprintf("3 %v done=true", exe)}}
		if diff := cmp.Diff(want, took{res.Adopted, ran(res), recorded()}); diff != "" {
			t.Errorf("after the failed data migration (-want +got):\n%s", diff)
		}

		res = mustUpgrade(t, d, dir, Options{Adopt: true, AdoptCheck: check, DataMigrations: doubling(nil)})
		want = took{[]string{"5_u.sql"}, []string{"4_double.sql"}, append(want.Recorded,
			fmt.Sprintf("4 %v done=true", exe), fmt.Sprintf("5 %v done=true", base))}
		if diff := cmp.Diff(want, took{res.Adopted, ran(res), recorded()}); diff != "" || res.After != "5" {
			t.Errorf("after the second adoption, at %s (-want +got):\n%s", res.After, diff)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM t WHERE s = 'sql'"); n != 10 {
			t.Errorf("%d rows filled by 3_fill.sql, want 10", n)
		}
		if once, total := changedOnce(t, d); once != total || total != 1000 {
			t.Errorf("%d of %d rows changed exactly once by 4_double.sql; want all 1000", once, total)
		}
		st, err := Status(ctx, d.db, d.u, dir)
		if err != nil || !st.UpToDate() || st.Applied != 5 {
			t.Errorf("status after adoption: %v, %+v", err, st)
		}
	})
}
