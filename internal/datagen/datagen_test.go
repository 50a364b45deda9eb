package datagen_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/datagen"
	"github.com/weber-framework/weber/internal/testdb/liveschematest"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

func TestFillProjectSchema(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		dia := be.Name
		db, _ := liveschematest.Open(t, dia)
		liveschematest.Exec(t, db, liveschematest.ProjectSchema(dia)...)
		liveschematest.Exec(t, db, "CREATE TABLE weber_metadata (k varchar(50) PRIMARY KEY, v varchar(50))")
		rep, err := datagen.Fill(context.Background(), db, dia, datagen.Options{Rows: 30, Seed: 7,
			Enums: map[string][]string{"users.role": {"member", "admin"}, "posts.status": {"draft", "published"}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"users", "posts", "tags", "post_tags"} {
			if got := rep.Rows(table); got != 30 {
				t.Errorf("%s: generated %d rows, want 30 (%+v)", table, got, rep.Tables)
			}
			if n := liveschematest.Count(t, db, "SELECT COUNT(*) FROM "+table); n != 30 {
				t.Errorf("%s holds %d rows, want 30", table, n)
			}
		}
		if n := liveschematest.Count(t, db, "SELECT COUNT(*) FROM weber_metadata"); n != 0 {
			t.Errorf("weber_metadata got %d rows: Weber's own tables must stay empty", n)
		}
		// Parents come first: every post has an existing author.
		if n := liveschematest.Count(t, db, "SELECT COUNT(*) FROM posts p LEFT JOIN users u ON p.user_id = u.id WHERE u.id IS NULL"); n != 0 {
			t.Errorf("%d posts without an author", n)
		}
		if n := liveschematest.Count(t, db, "SELECT COUNT(DISTINCT email) FROM users"); n != 30 {
			t.Errorf("%d distinct emails, want 30", n)
		}
		if n := liveschematest.Count(t, db, "SELECT COUNT(*) FROM users WHERE role NOT IN ('member', 'admin')"); n != 0 {
			t.Errorf("%d users with a role outside the enum", n)
		}
		if n := liveschematest.Count(t, db, "SELECT COUNT(*) FROM users WHERE bio IS NULL"); n == 0 || n == 30 {
			t.Errorf("%d of 30 bios are NULL: a nullable column should get both", n)
		}
	})
}

func TestFillIsDeterministic(t *testing.T) {
	t.Parallel()
	dump := func(seed int64) [][]any {
		db, _ := liveschematest.Open(t, "sqlite")
		liveschematest.Exec(t, db, liveschematest.ProjectSchema("sqlite")...)
		if _, err := datagen.Fill(context.Background(), db, "sqlite", datagen.Options{Rows: 10, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query("SELECT id, name, email, role, bio, created_at FROM users ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out [][]any
		for rows.Next() {
			v := make([]any, 6)
			p := make([]any, 6)
			for i := range v {
				p[i] = &v[i]
			}
			if err := rows.Scan(p...); err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		return out
	}
	a, b, c := dump(1), dump(1), dump(2)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different rows")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds gave the same rows")
	}
}

func TestFillSelfReferenceAndLimits(t *testing.T) {
	t.Parallel()
	db, _ := liveschematest.Open(t, "sqlite")
	liveschematest.Exec(t, db,
		"CREATE TABLE nodes (id integer PRIMARY KEY AUTOINCREMENT, code varchar(3) NOT NULL UNIQUE, parent_id integer NULL REFERENCES nodes (id), flag bool NOT NULL, price decimal(5,2) NOT NULL, ratio real)",
		"CREATE TABLE codes (code text NOT NULL PRIMARY KEY, n int NOT NULL)",
	)
	rep, err := datagen.Fill(context.Background(), db, "sqlite", datagen.Options{Rows: 40, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows("nodes") != 40 || rep.Rows("codes") != 40 {
		t.Fatalf("rows: %+v", rep.Tables)
	}
	if n := liveschematest.Count(t, db, "SELECT COUNT(*) FROM nodes WHERE parent_id IS NOT NULL"); n == 0 {
		t.Error("the self reference was never filled")
	}
	if n := liveschematest.Count(t, db, "SELECT COUNT(*) FROM nodes WHERE length(code) > 3"); n != 0 {
		t.Errorf("%d codes longer than varchar(3)", n)
	}
	if n := liveschematest.Count(t, db, "SELECT COUNT(*) FROM nodes WHERE parent_id = id"); n != 0 {
		t.Errorf("%d nodes are their own parent", n)
	}
}

func TestFillSeedFile(t *testing.T) {
	t.Parallel()
	db, _ := liveschematest.Open(t, "sqlite")
	liveschematest.Exec(t, db, liveschematest.ProjectSchema("sqlite")...)
	seed := filepath.Join(t.TempDir(), "seed.sql")
	if err := os.WriteFile(seed, []byte("-- the project's own rows\nINSERT INTO users (created_at, updated_at, name, email) VALUES ('2024-01-01', '2024-01-01', 'Ada', 'ada@example.com');\nINSERT INTO tags (name) VALUES ('go');\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := datagen.Fill(context.Background(), db, "sqlite", datagen.Options{SeedFile: seed, SeedOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.SeedStatements != 2 || liveschematest.Count(t, db, "SELECT COUNT(*) FROM users") != 1 {
		t.Fatalf("seed only: %+v", rep)
	}
	if _, err := datagen.Fill(context.Background(), db, "sqlite", datagen.Options{Rows: 5}); err != nil {
		t.Fatal(err)
	}
	if n := liveschematest.Count(t, db, "SELECT COUNT(*) FROM users"); n != 6 {
		t.Errorf("users: %d rows after seed + 5 generated, want 6", n)
	}

	bad := filepath.Join(t.TempDir(), "bad.sql")
	os.WriteFile(bad, []byte("INSERT INTO tags (name) VALUES ('x');\n\nINSERT INTO nope VALUES (1);\n"), 0o644)
	_, err = datagen.Fill(context.Background(), db, "sqlite", datagen.Options{SeedFile: bad})
	if err == nil || !strings.Contains(err.Error(), "statement 2 (line 3)") {
		t.Errorf("bad seed file error = %v, want it to name statement 2 (line 3)", err)
	}
	if n := liveschematest.Count(t, db, "SELECT COUNT(*) FROM tags WHERE name = 'x'"); n != 0 {
		t.Error("a failing seed file left rows behind")
	}
}

func TestFillCycleAndPostgresEnum(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		dia := be.Name
		db, _ := liveschematest.Open(t, dia)
		// a -> b through a nullable column, b -> a through a NOT NULL one.
		if dia == "sqlite" { // no ALTER TABLE ADD CONSTRAINT: declare the forward reference
			liveschematest.Exec(t, db, "CREATE TABLE a (id integer NOT NULL PRIMARY KEY, b_id integer NULL UNIQUE REFERENCES b (id))")
		} else {
			liveschematest.Exec(t, db, "CREATE TABLE a (id integer NOT NULL PRIMARY KEY, b_id integer NULL UNIQUE)")
		}
		liveschematest.Exec(t, db, "CREATE TABLE b (id integer NOT NULL PRIMARY KEY, a_id integer NOT NULL, tag varchar(8) NOT NULL, UNIQUE (a_id, tag), FOREIGN KEY (a_id) REFERENCES a (id))")
		if dia != "sqlite" {
			liveschematest.Exec(t, db, "ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b (id)")
		}
		if dia == "postgres" {
			liveschematest.Exec(t, db, "CREATE TYPE mood AS ENUM ('happy', 'sad')", "CREATE TABLE feelings (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, mood mood NOT NULL)")
		}
		rep, err := datagen.Fill(context.Background(), db, dia, datagen.Options{Rows: 25, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows("a") != 25 || rep.Rows("b") != 25 {
			t.Fatalf("rows: %+v", rep.Tables)
		}
		if n := liveschematest.Count(t, db, "SELECT COUNT(*) FROM a WHERE b_id IS NOT NULL"); n == 0 {
			t.Error("the deferred foreign key a.b_id was never filled")
		}
		if dia == "postgres" {
			if n := liveschematest.Count(t, db, "SELECT COUNT(DISTINCT mood) FROM feelings"); n != 2 {
				t.Errorf("%d distinct moods, want both enum values", n)
			}
		}
	})
}

// checkTable is a table whose CHECK constraints take the common shapes:
// length bounds, a numeric range, an IN list, not empty; each dialect
// stores them in its own form (PostgreSQL adds casts and parentheses).
func checkTable(dia string) string {
	length := "char_length"
	if dia == "sqlite" {
		length = "length"
	}
	return "CREATE TABLE codes (id integer NOT NULL PRIMARY KEY, code varchar(20) NOT NULL UNIQUE, qty integer NOT NULL, price decimal(6,2) NOT NULL," +
		" status varchar(10) NOT NULL, note varchar(50) NULL, kind integer NOT NULL," +
		" CONSTRAINT code_len CHECK (" + length + "(code) >= 8 AND " + length + "(code) <= 12)," +
		" CONSTRAINT qty_range CHECK (qty BETWEEN 1 AND 9), CONSTRAINT price_pos CHECK (price > 0 AND price < 50)," +
		" CONSTRAINT status_in CHECK (status IN ('new', 'done')), CONSTRAINT note_set CHECK (note <> '')," +
		" CONSTRAINT kind_in CHECK (kind IN (3, 5)))"
}

// TestFillSatisfiesChecks: the generated rows satisfy the table's CHECK
// constraints on every dialect (issue 9 item 9), and a check of a form it
// cannot read is named in the error.
func TestFillSatisfiesChecks(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		dia := be.Name
		db, _ := liveschematest.Open(t, dia)
		liveschematest.Exec(t, db, checkTable(dia))
		rep, err := datagen.Fill(context.Background(), db, dia, datagen.Options{Rows: 300, Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows("codes") != 300 {
			t.Fatalf("rows: %+v", rep.Tables)
		}
		if n := liveschematest.Count(t, db, "SELECT COUNT(DISTINCT kind) FROM codes WHERE kind IN (3, 5)"); n != 2 {
			t.Errorf("%d distinct kinds, want both allowed values", n)
		}

		db2, _ := liveschematest.Open(t, dia)
		liveschematest.Exec(t, db2, "CREATE TABLE odd (id integer NOT NULL PRIMARY KEY, a integer NOT NULL, b integer NOT NULL, CONSTRAINT a_gt_b CHECK (a > b + 1000))")
		_, err = datagen.Fill(context.Background(), db2, dia, datagen.Options{Rows: 300, Seed: 4})
		if err == nil || !strings.Contains(err.Error(), "cannot satisfy CHECK a_gt_b") || !strings.Contains(err.Error(), "--seed-file") {
			t.Errorf("err = %v, want it to name the check a_gt_b and the way out", err)
		}
	})
}
