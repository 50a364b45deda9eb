package fingerprint_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/datagen"
	"github.com/weber-framework/weber/internal/fingerprint"
	"github.com/weber-framework/weber/internal/testdb/liveschematest"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// populated returns a database of the dialect with the project's tables
// filled with 20 generated rows each.
func populated(t *testing.T, dia string) *sql.DB {
	t.Helper()
	db, _ := liveschematest.Open(t, dia)
	liveschematest.Exec(t, db, liveschematest.ProjectSchema(dia)...)
	if _, err := datagen.Fill(context.Background(), db, dia, datagen.Options{Rows: 20, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return db
}

func take(t *testing.T, db *sql.DB, dia string) *fingerprint.Snapshot {
	t.Helper()
	s, err := fingerprint.Take(context.Background(), db, dia, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func compare(t *testing.T, before, after *fingerprint.Snapshot, touched fingerprint.Touched) []fingerprint.Finding {
	t.Helper()
	fs, err := fingerprint.Compare(context.Background(), before, after, touched)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func errorsOf(fs []fingerprint.Finding) []fingerprint.Finding {
	var out []fingerprint.Finding
	for _, f := range fs {
		if f.Severity == fingerprint.Error {
			out = append(out, f)
		}
	}
	return out
}

func TestCompareUnchanged(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		dia := be.Name
		db := populated(t, dia)
		a, b := take(t, db, dia), take(t, db, dia)
		if fs := compare(t, a, b, nil); len(fs) != 0 {
			t.Errorf("same data compares different: %v", fs)
		}
		if a.Tables["users"].Rows != 20 || a.Tables["users"].Columns["email"].NonNull != 20 {
			t.Errorf("users snapshot: %d rows", a.Tables["users"].Rows)
		}
	})
}

func TestCompareCatchesRewrittenValues(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		dia := be.Name
		db := populated(t, dia)
		before := take(t, db, dia)
		liveschematest.Exec(t, db, "UPDATE users SET name = 'x' WHERE id <= 5")
		after := take(t, db, dia)

		fs := errorsOf(compare(t, before, after, nil))
		if diff := cmp.Diff([]string{"value-changed users.name: 5"}, findingsOf(fs)); diff != "" {
			t.Fatalf("want users.name changed in 5 rows (-want +got):\n%s", diff)
		}
		if !strings.Contains(fs[0].Message, "5 of 20 values of users.name changed") || !strings.Contains(fs[0].Example, `id=1: `) {
			t.Errorf("message = %q, example = %q", fs[0].Message, fs[0].Example)
		}
		// A column the migration touched is not compared.
		touched := fingerprint.Touched{}
		touched.Add("users", "name")
		if fs := errorsOf(compare(t, before, after, touched)); len(fs) != 0 {
			t.Errorf("touched column still reported: %v", fs)
		}
	})
}

func TestCompareCatchesLostRows(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		dia := be.Name
		db := populated(t, dia)
		before := take(t, db, dia)
		lostTags := liveschematest.Count(t, db, "SELECT COUNT(*) FROM post_tags WHERE post_id <= 3")
		liveschematest.Exec(t, db, "DELETE FROM post_tags WHERE post_id <= 3", "DELETE FROM posts WHERE id <= 3")
		after := take(t, db, dia)
		fs := errorsOf(compare(t, before, after, nil))
		got := map[string]int64{}
		for _, f := range fs {
			if f.Kind != fingerprint.RowsLost {
				t.Errorf("unexpected finding %v", f)
			}
			got[f.Table] = f.Count
		}
		if got["posts"] != 3 {
			t.Errorf("posts: lost %d reported, want 3 (%v)", got["posts"], fs)
		}
		if lostTags > 0 && got["post_tags"] != lostTags {
			t.Errorf("post_tags: lost %d reported, want %d", got["post_tags"], lostTags)
		}
		for _, f := range fs {
			if f.Table == "posts" && (!strings.Contains(f.Message, "table posts lost 3 of its 20 rows") || f.Example != "id=1") {
				t.Errorf("message %q example %q", f.Message, f.Example)
			}
		}
	})
}

func TestCompareAcrossAlter(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		dia := be.Name
		db, _ := liveschematest.Open(t, dia)
		liveschematest.Exec(t, db, "CREATE TABLE items (id integer NOT NULL PRIMARY KEY, n integer NOT NULL, price decimal(8,2) NOT NULL, label varchar(50) NOT NULL, at timestamp NULL, old varchar(20) NULL, keep varchar(20) NULL)")
		if _, err := datagen.Fill(context.Background(), db, dia, datagen.Options{Rows: 15, Seed: 5}); err != nil {
			t.Fatal(err)
		}
		liveschematest.Exec(t, db, "UPDATE items SET old = 'v' WHERE id % 2 = 0")
		before := take(t, db, dia)
		switch dia {
		case "sqlite": // a rebuild, as Atlas writes it, with a rename and a drop
			liveschematest.Exec(t, db,
				"CREATE TABLE new_items (id integer NOT NULL PRIMARY KEY, n bigint NOT NULL, price decimal(10,4) NOT NULL, label text NOT NULL, at datetime NULL, keep2 varchar(20) NULL)",
				"INSERT INTO new_items (id, n, price, label, at, keep2) SELECT id, n, price, label, at, keep FROM items",
				"DROP TABLE items", "ALTER TABLE new_items RENAME TO items")
		case "postgres":
			liveschematest.Exec(t, db, "ALTER TABLE items ALTER COLUMN n TYPE bigint, ALTER COLUMN price TYPE decimal(10,4), ALTER COLUMN label TYPE text, ALTER COLUMN at TYPE timestamptz",
				"ALTER TABLE items DROP COLUMN old", "ALTER TABLE items RENAME COLUMN keep TO keep2")
		case "mysql":
			liveschematest.Exec(t, db, "ALTER TABLE items MODIFY n bigint NOT NULL, MODIFY price decimal(10,4) NOT NULL, MODIFY label text NOT NULL, MODIFY at datetime NULL",
				"ALTER TABLE items DROP COLUMN old", "ALTER TABLE items RENAME COLUMN keep TO keep2")
		}
		after := take(t, db, dia)
		fs := compare(t, before, after, nil)
		var kinds []string
		for _, f := range fs {
			kinds = append(kinds, string(f.Kind)+":"+f.Column)
			switch {
			case f.Kind == fingerprint.ColumnDropped && f.Column == "old":
				if f.Severity != fingerprint.Error || f.Count == 0 || !strings.Contains(f.Message, "items.old was dropped with values in") {
					t.Errorf("dropped column: %+v", f)
				}
			case f.Kind == fingerprint.ColumnRenamed && f.Column == "keep" && f.NewName == "keep2":
			default:
				t.Errorf("unexpected finding after widening: %s", f.Message)
			}
		}
		if len(fs) != 2 {
			t.Errorf("findings %v, want old dropped and keep renamed", kinds)
		}
	})
}

func TestCheckForeignKeys(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		dia := be.Name
		db := populated(t, dia)
		ctx := context.Background()
		fs, err := fingerprint.CheckForeignKeys(ctx, db, dia)
		if err != nil || len(fs) != 0 {
			t.Fatalf("generated data breaks foreign keys: %v %v", fs, err)
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var off, orphan string
		switch dia {
		case "sqlite":
			off, orphan = "PRAGMA foreign_keys = off", "INSERT INTO posts (created_at, updated_at, title, user_id) VALUES ('2024-01-01', '2024-01-01', 't', 9999)"
		case "postgres":
			off, orphan = "SET session_replication_role = replica", "INSERT INTO posts (created_at, updated_at, title, user_id) VALUES (now(), now(), 't', 9999)"
		case "mysql":
			off, orphan = "SET FOREIGN_KEY_CHECKS = 0", "INSERT INTO posts (created_at, updated_at, title, user_id) VALUES (now(), now(), 't', 9999)"
		}
		for _, s := range []string{off, orphan, orphan} {
			if _, err := conn.ExecContext(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		fs, err = fingerprint.CheckForeignKeys(ctx, db, dia)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range fs {
			got = append(got, fmt.Sprintf("%s.%s: %d: %s", f.Table, f.Column, f.Count, f.Message))
		}
		if diff := cmp.Diff([]string{"posts.user_id: 2: 2 rows of posts.user_id point to no row of users"}, got); diff != "" {
			t.Errorf("findings (-want +got):\n%s", diff)
		}
	})
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		class string
		in    any
		want  string
	}{
		{"int", int64(5), "5"},
		{"int", []byte("5"), "5"},
		{"number", "1.50", "1.5"},
		{"number", []byte("1.5000"), "1.5"},
		{"number", float64(7), "7"},
		{"bool", int64(1), "true"},
		{"bool", "f", "false"},
		{"time", "2024-01-01 10:00:00+02:00", "2024-01-01T08:00:00Z"},
		{"time", "2024-01-01 08:00:00", "2024-01-01T08:00:00Z"},
		{"string", []byte("abc"), "abc"},
	}
	for _, c := range cases {
		if got, _ := fingerprint.Normalize(c.class, c.in); got != c.want {
			t.Errorf("Normalize(%s, %v) = %q, want %q", c.class, c.in, got, c.want)
		}
	}
}

// findingsOf lists findings as "kind table.column: count".
func findingsOf(fs []fingerprint.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s.%s: %d", f.Kind, f.Table, f.Column, f.Count))
	}
	return out
}
