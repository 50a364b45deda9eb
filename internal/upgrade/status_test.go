package upgrade

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

func TestStatusAndHistory(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		ctx := context.Background()
		dir := writeDir(t, d.dia(), basic...)
		st, err := Status(ctx, d.db, d.u, dir)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(status{Files: 3, Pending: []string{"1_users.sql", "2_posts.sql", "3_tags.sql"}}, statusOf(st)); diff != "" {
			t.Fatalf("fresh status (-want +got):\n%s", diff)
		}
		if h, err := History(ctx, d.db, d.u); err != nil || h != nil {
			t.Fatalf("fresh history: %v %v", h, err)
		}
		mustUpgrade(t, d, dir, Options{To: "2"})
		st, err = Status(ctx, d.db, d.u, dir)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(status{HasHistory: true, Current: "2", CurrentName: "2_posts.sql", Applied: 2, Files: 3,
			Pending: []string{"3_tags.sql"}}, statusOf(st)); diff != "" || st.Pending[0].Statements != 1 {
			t.Fatalf("status at 2 (-want +got):\n%s(statements pending: %+v)", diff, st.Pending)
		}
		h, err := History(ctx, d.db, d.u)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range h {
			got = append(got, fmt.Sprintf("%s applied %d, took time %v", r.Version, r.Applied, r.ExecutionTime > 0))
		}
		if diff := cmp.Diff([]string{"1 applied 1, took time true", "2 applied 2, took time true"}, got); diff != "" {
			t.Fatalf("history (-want +got):\n%s", diff)
		}

		// A directory refused by migdir is a problem in the status, not an
		// error; the history part is still reported.
		p := filepath.Join(dir, "3_tags.sql")
		os.WriteFile(p, []byte("CREATE TABLE tags (id int);\r\n"), 0o644)
		addFiles(t, dir)
		st, err = Status(ctx, d.db, d.u, dir)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(status{HasHistory: true, Current: "2", CurrentName: "2_posts.sql", Applied: 2,
			Problems: []string{"directory 3_tags.sql"}}, statusOf(st), cmpopts.IgnoreFields(status{}, "Files", "Pending")); diff != "" {
			t.Errorf("status with a CRLF file (-want +got):\n%s", diff)
		}
	})
}
