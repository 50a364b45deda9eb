package migdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
)

// A merge of two branches that each added a file leaves git's conflict
// markers in atlas.sum: Open refuses it with a one-line error naming the
// repair, and Rehash (db hash) writes it from the files.
func TestConflictedSum(t *testing.T) {
	t.Parallel()
	path := writeFolder(t, dialect.SQLite, map[string]string{
		"1_a.sql": "CREATE TABLE a (id int);\n",
		"2_b.sql": "CREATE TABLE b (id int);\n",
	})
	sum := filepath.Join(path, SumFile)
	good, err := os.ReadFile(sum)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(good), "\n")
	conflicted := lines[0] + lines[1] + "<<<<<<< HEAD\n" + lines[2] + "=======\n2_c.sql h1:xyz=\n>>>>>>> main\n"
	if err := os.WriteFile(sum, []byte(conflicted), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path)
	var me *Error
	if !errors.As(err, &me) || me.Kind != KindSum || !strings.Contains(err.Error(), "conflict markers") ||
		!strings.Contains(err.Error(), "weberctl db hash") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Open of a conflicted atlas.sum: %v, want a one-line sum refusal naming the conflict and `weberctl db hash`", err)
	}
	if !SumConflicted(path) {
		t.Error("SumConflicted is false for a sum with conflict markers")
	}
	if err := Rehash(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err != nil || SumConflicted(path) {
		t.Fatalf("after Rehash: %v (conflicted %v)", err, SumConflicted(path))
	}
}

// The squash directive: its range is read, versions in it are covered,
// and a malformed range is refused.
func TestSquashesDirective(t *testing.T) {
	t.Parallel()
	path := writeFolder(t, dialect.SQLite, map[string]string{
		"0040_squashed.sql": "-- weber:squashes 0001..0040\n\nCREATE TABLE a (id int);\n",
		"0041_b.sql":        "CREATE TABLE b (id int);\n",
	})
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sq := d.Files[0]
	if first, last, ok := sq.SquashRange(); !ok || first != "0001" || last != "0040" {
		t.Errorf("SquashRange = %q, %q, %v", first, last, ok)
	}
	for v, want := range map[string]bool{"0001": true, "0017": true, "0040": true, "0041": false} {
		if got := d.SquashCovering(v) == sq; got != want {
			t.Errorf("version %s covered: %v, want %v", v, got, want)
		}
	}
	if _, _, ok := d.Files[1].SquashRange(); ok {
		t.Error("a file without the directive has a squash range")
	}
	bad := writeFolder(t, dialect.SQLite, map[string]string{"0040_squashed.sql": "-- weber:squashes 0040\n\nCREATE TABLE a (id int);\n"})
	if _, err := Open(bad); err == nil || !strings.Contains(err.Error(), "FIRST..LAST") {
		t.Errorf("a malformed squash range: %v, want a refusal showing FIRST..LAST", err)
	}
}
