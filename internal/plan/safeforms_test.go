package plan

import (
	"os"
	"strings"
	"testing"
	"time"

	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"github.com/weber-framework/weber/internal/livelint"
	"github.com/weber-framework/weber/internal/migdir"
)

// What db revision writes for tables that already exist passes its own
// live-traffic rules: on PostgreSQL the index is built CONCURRENTLY and the
// foreign key is added NOT VALID and validated by a separate statement, in
// a file run outside a transaction; the revision after it writes nothing.
func TestReviseWritesOnlineFormsForExistingTables(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	root := t.TempDir()
	now := clock(time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC))
	revise(t, root, dialects, urls, models(t), "initial", false, now)

	tables := models(t)
	users, posts := table(t, tables, "users"), table(t, tables, "posts")
	users.Indexes = append(users.Indexes, &entschema.Index{Name: "user_name", Columns: []*entschema.Column{users.Columns[1]}})
	reviewer := &entschema.Column{Name: "reviewer_id", Type: field.TypeInt, Nullable: true}
	posts.Columns = append(posts.Columns, reviewer)
	posts.ForeignKeys = append(posts.ForeignKeys, &entschema.ForeignKey{Symbol: "posts_users_reviewed", Columns: []*entschema.Column{reviewer},
		RefTable: users, RefColumns: []*entschema.Column{users.PrimaryKey[0]}, OnDelete: entschema.SetNull})
	res := revise(t, root, dialects, urls, tables, "reviews", false, now)
	for _, d := range res.Dialects {
		body, err := os.ReadFile(d.File)
		if err != nil {
			t.Fatalf("%s: %v", d.Dialect, err)
		}
		text := string(body)
		if d.Dialect == Postgres {
			for _, want := range []string{"-- atlas:txmode none\n", "CREATE INDEX CONCURRENTLY \"user_name\"", "NOT VALID", `VALIDATE CONSTRAINT "posts_users_reviewed"`} {
				if !strings.Contains(text, want) {
					t.Errorf("postgres file lacks %q:\n%s", want, text)
				}
			}
		} else if strings.Contains(text, "txmode none") {
			t.Errorf("%s: a file without concurrent steps runs outside a transaction:\n%s", d.Dialect, text)
		}
		if d.Dialect == MySQL && !strings.Contains(text, "ALGORITHM=INSTANT") && !strings.Contains(text, "ALGORITHM=INPLACE, LOCK=NONE") {
			t.Errorf("mysql: no ALTER carries an online ALGORITHM clause:\n%s", text)
		}
		dia, err := entDialect(d.Dialect)
		if err != nil {
			t.Fatal(err)
		}
		dir, err := migdir.OpenDialect(d.Dir, dia)
		if err != nil {
			t.Fatalf("%s: %v", d.Dialect, err)
		}
		f := dir.Files[len(dir.Files)-1]
		var stmts []string
		for _, s := range f.Stmts {
			stmts = append(stmts, s.Text)
		}
		for _, fd := range livelint.Lint(livelint.File{Dialect: dia, Stmts: stmts, Transactional: f.TxMode != migdir.TxModeNone && d.Dialect != MySQL}) {
			if d.Dialect == Postgres {
				t.Errorf("postgres: the written file fails its own rule %s: %s", fd.Code, fd.Message)
			}
		}
	}
	if again := revise(t, root, dialects, urls, tables, "again", false, now); again.Written {
		t.Fatalf("the revision after the online forms wrote %s", again.Version)
	}
}
