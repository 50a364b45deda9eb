package upgrade

import (
	"context"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// After `db squash` replaced files 1-3 by 3_squashed.sql: a database that
// applied 1-3 counts it as applied and runs only file 4; one that stopped
// at file 2 is refused with the way out; a fresh one runs the squashed
// file, then 4; status agrees with each.
func TestSquashedFileCountsAsApplied(t *testing.T) {
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		old := []file{
			{"1_a.sql", "CREATE TABLE a (id int);\n"},
			{"2_b.sql", "CREATE TABLE b (id int);\n"},
			{"3_c.sql", "CREATE TABLE c (id int);\n"},
		}
		dir := writeDir(t, d.dia(), old...)
		mustUpgrade(t, d, dir, Options{})
		partial := newDB(t, d.name)
		mustUpgrade(t, partial, dir, Options{To: "2"})

		for _, f := range old {
			if err := os.Remove(filepath.Join(dir, f.name)); err != nil {
				t.Fatal(err)
			}
		}
		addFiles(t, dir,
			file{"3_squashed.sql", "-- weber:squashes 1..3\n\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCREATE TABLE c (id int);\n"},
			file{"4_d.sql", "CREATE TABLE d (id int);\n"})

		st, err := Status(context.Background(), d.db, d.u, dir)
		if err != nil || len(st.Problems) > 0 || len(st.Pending) != 1 || st.Pending[0].Name != "4_d.sql" {
			t.Fatalf("status of the database that applied 1-3: %v, problems %+v, pending %+v: want only 4_d.sql pending", err, st.Problems, st.Pending)
		}
		res := mustUpgrade(t, d, dir, Options{})
		if len(res.Files) != 1 || res.Files[0].Name != "4_d.sql" {
			t.Fatalf("the upgrade ran %+v, want only 4_d.sql", res.Files)
		}

		_, err = upgrade(t, partial, dir, Options{})
		wantRefusal(t, err, KindSquashPartial, "3_squashed.sql", "before the squash", "--to 3")

		fresh := newDB(t, d.name)
		res = mustUpgrade(t, fresh, dir, Options{})
		var ran []string
		for _, f := range res.Files {
			ran = append(ran, f.Name)
		}
		if strings.Join(ran, " ") != "3_squashed.sql 4_d.sql" {
			t.Fatalf("a fresh database ran %v, want the squashed file then 4_d.sql", ran)
		}
		if st, err := Status(context.Background(), fresh.db, fresh.u, dir); err != nil || !st.UpToDate() {
			t.Fatalf("status of the fresh database: %v, %+v", err, st)
		}
	})
}
