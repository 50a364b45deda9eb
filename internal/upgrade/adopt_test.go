package upgrade

import (
	"context"
	"errors"
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
