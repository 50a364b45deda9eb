package upgrade

import (
	"context"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

func downgrade(t *testing.T, d *tdb, dir string, opts DowngradeOptions) (*DowngradeResult, error) {
	t.Helper()
	if d.name == "postgres" {
		opts.DevURL = os.Getenv("WEBER_DEV_POSTGRES_URL")
	}
	if d.name == "mysql" {
		opts.DevURL = os.Getenv("WEBER_DEV_MYSQL_URL")
	}
	return Downgrade(context.Background(), d.db, d.u, dir, opts)
}

func TestDowngrade(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := writeDir(t, d.dia(),
			file{"1_users.sql", "CREATE TABLE users (id int NOT NULL, name varchar(50), PRIMARY KEY (id));\n"},
			file{"2_bio.sql", "ALTER TABLE users ADD COLUMN bio varchar(100) NULL;\n"},
			file{"3_posts.sql", "CREATE TABLE posts (id int NOT NULL, PRIMARY KEY (id));\n"})
		mustUpgrade(t, d, dir, Options{})
		if _, err := d.db.Exec("INSERT INTO users (id, name, bio) VALUES (1, 'a', 'b')"); err != nil {
			t.Fatal(err)
		}

		// One step back drops posts: refused while it holds a row...
		if _, err := d.db.Exec("INSERT INTO posts (id) VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		_, err := downgrade(t, d, dir, DowngradeOptions{})
		wantRefusal(t, err, KindDataLoss, "DROP TABLE posts (1 row)", "--allow-data-loss")
		// ... and needs no permission once it is empty: nothing is lost.
		if _, err := d.db.Exec("DELETE FROM posts"); err != nil {
			t.Fatal(err)
		}
		dry, err := downgrade(t, d, dir, DowngradeOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		type plan struct {
			From, To   string
			Statements []string
			Posts      bool // the table is still there
		}
		got := plan{From: dry.From, To: dry.To, Posts: tableExists(t, d, "posts")}
		for _, s := range dry.Statements {
			got.Statements = append(got.Statements, contains(s, "DROP TABLE"))
		}
		if diff := cmp.Diff(plan{"3", "2", []string{"DROP TABLE"}, true}, got); diff != "" {
			t.Fatalf("dry run (-want +got):\n%s", diff)
		}
		res, err := downgrade(t, d, dir, DowngradeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		type reverted struct {
			Versions, DataLoss []string
			Posts              bool
		}
		gotRev := reverted{DataLoss: res.DataLoss, Posts: tableExists(t, d, "posts")}
		for _, r := range res.Reverted {
			gotRev.Versions = append(gotRev.Versions, r.Version)
		}
		if diff := cmp.Diff(reverted{[]string{"3"}, []string{"DROP TABLE posts (0 rows)"}, false}, gotRev); diff != "" {
			t.Fatalf("downgrade (-want +got):\n%s", diff)
		}
		if r := revision(t, d, "3"); r != nil {
			t.Errorf("revision 3 kept: %+v", r)
		}
		st, err := Status(context.Background(), d.db, d.u, dir)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(status{HasHistory: true, Current: "2", Pending: []string{"3_posts.sql"}}, statusOf(st),
			cmpopts.IgnoreFields(status{}, "CurrentName", "Applied", "Files")); diff != "" {
			t.Errorf("status after downgrade (-want +got):\n%s", diff)
		}

		// Back to 1 drops a column: the data loss names it and its rows.
		_, err = downgrade(t, d, dir, DowngradeOptions{To: "1"})
		wantRefusal(t, err, KindDataLoss, "DROP COLUMN users.bio (1 row)")
		if _, err := downgrade(t, d, dir, DowngradeOptions{To: "1", AllowDataLoss: true}); err != nil {
			t.Fatal(err)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM users"); n != 1 {
			t.Errorf("users rows after dropping a column: %d", n)
		}
		_, err = downgrade(t, d, dir, DowngradeOptions{To: "2"})
		wantRefusal(t, err, KindTarget, "--to 2")

		// Forward again: the history still applies.
		if res := mustUpgrade(t, d, dir, Options{}); len(res.Files) != 2 {
			t.Errorf("re-upgrade: %+v", res)
		}
	})
}
