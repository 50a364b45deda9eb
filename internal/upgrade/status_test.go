package upgrade

import (
	"context"
	"os"
	"path/filepath"
	"testing"

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
		if st.HasHistory || st.Current != "" || len(st.Pending) != 3 || st.Files != 3 || st.UpToDate() || len(st.Problems) != 0 {
			t.Fatalf("fresh status: %+v", st)
		}
		if h, err := History(ctx, d.db, d.u); err != nil || h != nil {
			t.Fatalf("fresh history: %v %v", h, err)
		}
		mustUpgrade(t, d, dir, Options{To: "2"})
		st, err = Status(ctx, d.db, d.u, dir)
		if err != nil {
			t.Fatal(err)
		}
		if !st.HasHistory || st.Current != "2" || st.CurrentName != "2_posts.sql" || st.Applied != 2 ||
			len(st.Pending) != 1 || st.Pending[0].Name != "3_tags.sql" || st.Pending[0].Statements != 1 {
			t.Fatalf("status at 2: %+v", st)
		}
		h, err := History(ctx, d.db, d.u)
		if err != nil || len(h) != 2 || h[0].Version != "1" || h[1].Version != "2" || h[1].Applied != 2 || h[1].ExecutionTime <= 0 {
			t.Fatalf("history: %+v %v", h, err)
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
		if len(st.Problems) != 1 || st.Problems[0].Kind != "directory" || st.Problems[0].File != "3_tags.sql" || st.Current != "2" || st.Applied != 2 {
			t.Errorf("status with a CRLF file: %+v", st)
		}
	})
}
