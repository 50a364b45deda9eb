package migdir

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBatchDirective(t *testing.T) {
	t.Parallel()
	ok := "-- atlas:txmode none\n\n-- weber:batch users.id 500\nUPDATE users SET a = b WHERE id BETWEEN {lo} AND {hi};\n"
	f := &File{Name: "1_x.sql", Bytes: []byte(ok)}
	if kind, err := f.parse("postgres"); err != nil {
		t.Fatalf("parse: %s %v", kind, err)
	}
	b := f.Stmts[0].Batch
	if b == nil {
		t.Fatal("no batch directive read")
	}
	if diff := cmp.Diff(Batch{Table: "users", Key: "id", Size: 500, Template: b.Template}, *b); diff != "" {
		t.Fatalf("batch (-want +got):\n%s", diff)
	}
	if got := b.Range(1, 500); !strings.Contains(got, "BETWEEN 1 AND 500") {
		t.Errorf("Range(1, 500) = %q", got)
	}
	if strings.Contains(f.Stmts[0].Text, "{lo}") {
		t.Errorf("Text keeps the placeholders, so a replay would fail: %q", f.Stmts[0].Text)
	}
	for body, want := range map[string]string{
		"-- atlas:txmode none\n\n-- weber:batch users.id\nUPDATE users SET a = b WHERE id BETWEEN {lo} AND {hi};\n":   "needs TABLE.KEY SIZE",
		"-- atlas:txmode none\n\n-- weber:batch users.id 0\nUPDATE users SET a = b WHERE id BETWEEN {lo} AND {hi};\n": "batch size must be",
		"-- atlas:txmode none\n\n-- weber:batch users.id 10\nUPDATE users SET a = b;\n":                               "with {lo} and {hi}",
		"UPDATE users SET a = b WHERE id BETWEEN {lo} AND {hi};\n":                                                    "has no `-- weber:batch",
		"-- weber:batch users.id 10\nUPDATE users SET a = b WHERE id BETWEEN {lo} AND {hi};\n":                        "atlas:txmode none",
	} {
		f := &File{Name: "1_x.sql", Bytes: []byte(body)}
		if _, err := f.parse("postgres"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parse(%q) = %v, want an error saying %q", body, err, want)
		}
	}
}
