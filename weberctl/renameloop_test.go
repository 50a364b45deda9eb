package weberctl

// Renames for real: on a copy of the project, a field (users.bio becomes
// biography) and an entity (Tag's table tags becomes labels) are renamed
// in the models with weberschema.RenamedFrom, the copy runs go generate
// and is built. On each backend, a database the weberctl of before the
// edit brought up with `db upgrade` and filled is then upgraded by the
// weberctl after it, through `db revision` (RENAME, no drop, no add),
// `db upgrade`, `db check` (which says the annotations may go) and
// `db verify`: every value is under its new name, the indexes and foreign
// keys hold. Tag keeps its Go name (entsql.Annotation{Table: "labels"}), so
// the app compiles with few edits; a Go type rename is the same rename of
// the table to the planner.

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
)

const renameRevisionName = "rename_bio_and_tags"

func TestRenameLoop(t *testing.T) {
	if testing.Short() || binary == "" {
		t.Skip("-short: the rename loop copies the project, regenerates it and builds weberctl")
	}
	t.Parallel()
	root := filepath.Join(t.TempDir(), "project")
	src := loopModuleRoot(t)
	loopCopyModule(t, src, root)
	original := filepath.Join(t.TempDir(), "original-migrations")
	loopCopyTree(t, filepath.Join(root, "migrations"), original)
	build := sync.OnceValues(func() (string, error) {
		return renameEdit(t.Context(), root, filepath.Join(filepath.Dir(root), "weberctl-renamed"))
	})
	backends := configuredE2EBackends() // one revision serves every backend
	var dialects []string
	for _, b := range backends {
		dialects = append(dialects, b.name)
	}
	revise := sync.OnceValues(func() (string, error) {
		bin, err := build()
		if err != nil {
			return "", err
		}
		args := []string{"db", "revision", "--name", renameRevisionName, "--dir", filepath.Join(root, "migrations")}
		for _, d := range dialects {
			args = append(args, "--dialect", d)
		}
		return loopWeberctl(t.Context(), bin, root, devEnv(), args...)
	})
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			lc := &loopCopy{root: root}
			prod, db, before := seededAtOriginal(t, lc, b, original)

			// A developer's database before the revision is written: db
			// ensure makes the declared renames, moving the data.
			bin, err := build()
			if err != nil {
				t.Fatal(err)
			}
			dev, devDB, devBefore := seededAtOriginal(t, lc, b, original)
			dev.bin = bin
			ens := dev.must("db", "ensure").stdout
			if !strings.Contains(ens, "Renamed users.bio -> users.biography") || !strings.Contains(ens, "Renamed tags -> labels") || strings.Contains(ens, "Added column") || strings.Contains(ens, "Created table") {
				t.Errorf("db ensure did not make the declared renames:\n%s", ens)
			}
			renamedRowsKept(t, dev, devDB, devBefore)

			out, err := revise()
			if err != nil {
				t.Fatal(err)
			}
			prod.bin, prod.dir = bin, filepath.Join(root, "migrations")
			file := renameFileOf(t, prod.dir, prod.folder())
			body, _ := os.ReadFile(file)
			upper := strings.ToUpper(string(body))
			if !loopContainsAll(upper, "RENAME", "BIOGRAPHY", "LABELS") || strings.Contains(upper, "DROP COLUMN") ||
				strings.Contains(upper, "DROP TABLE") || strings.Contains(upper, "ADD COLUMN") || strings.Contains(upper, "CREATE TABLE") {
				t.Fatalf("%s does not rename (revision said %s):\n%s", file, out, body)
			}

			up := prod.must("db", "upgrade").stdout
			if !strings.Contains(up, filepath.Base(file)) {
				t.Errorf("upgrade did not apply %s:\n%s", filepath.Base(file), up)
			}
			renamedRowsKept(t, prod, db, before)

			check := prod.runEnv("db", "check", "--dialect", filepath.Base(prod.folder()))
			version, _, _ := strings.Cut(filepath.Base(file), "_")
			notice := `users.biography: RenamedFrom("bio") is in the history since ` + version + "; you can remove the annotation"
			if check.code != 0 || !strings.Contains(check.stdout, notice) || !strings.Contains(check.stdout, `labels: RenamedFrom("tags")`) {
				t.Errorf("db check: exit %d, want 0 and the notice %q\n%s%s", check.code, notice, check.stdout, check.stderr)
			}
			v := prod.runEnv("db", "verify", "--dialect", filepath.Base(prod.folder()))
			if v.code != 0 || !strings.Contains(v.stdout, "column users.bio was renamed to biography: all") ||
				!strings.Contains(v.stdout, "table tags was renamed to labels with all") {
				t.Errorf("db verify: exit %d, want 0 and the renames proven\n%s%s", v.code, v.stdout, v.stderr)
			}
		})
	}
}

// seededAtOriginal is a new database of backend b brought up with the
// example's weberctl and the history before the rename, filled by
// loopSeed, with its snapshot.
func seededAtOriginal(t *testing.T, lc *loopCopy, b e2eBackend, original string) (*loopRunner, *sql.DB, map[string][]string) {
	t.Helper()
	r := lc.runner(t, binary, b.newURL(t, t.TempDir()), original)
	if _, err := dbconn.EnsureDatabase(t.Context(), r.u); err != nil {
		t.Fatal(err)
	}
	r.must("db", "upgrade")
	db := r.open()
	loopSeed(t, db, r.u.Dialect)
	return r, db, loopSnapshot(t, db)
}

// runEnv runs the runner's weberctl with the dev servers in the
// environment and returns the result whatever the exit code.
func (r *loopRunner) runEnv(args ...string) result {
	r.t.Helper()
	cmd := r.command(r.t.Context(), args...)
	// The rename revision was written for the configured backends only:
	// they are the kept dialects (with SQLite alone, db check would ask
	// for the version in the other folders too).
	var kept []string
	for _, b := range configuredE2EBackends() {
		kept = append(kept, b.name)
	}
	cmd.Env = append(cmd.Env, "WEBER_DIALECTS="+strings.Join(kept, ","))
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := 0
	if err := cmd.Run(); err != nil {
		ee, ok := err.(interface{ ExitCode() int })
		if !ok {
			r.t.Fatalf("weberctl %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// renameEdit renames users.bio to biography and tags to labels in the
// copy's models, with the annotations, follows in the app, regenerates and
// builds weberctl.
func renameEdit(ctx context.Context, root, bin string) (string, error) {
	schema := filepath.Join(root, "ent", "schema")
	edits := []struct{ file, old, new string }{
		{filepath.Join(schema, "user.go"), `field.String("bio").Optional().MaxRuneLen(1000),`,
			`field.String("biography").Optional().MaxRuneLen(1000).Annotations(weberschema.RenamedFrom("bio")),`},
		{filepath.Join(schema, "user.go"), `"entgo.io/ent/schema/index"`, `"entgo.io/ent/schema/index"
	"github.com/weber-framework/weber/weberschema"`},
		{filepath.Join(schema, "tag.go"), `"entgo.io/ent/schema/field"`, `"entgo.io/ent/schema/field"
	"entgo.io/ent/schema"
	"entgo.io/ent/dialect/entsql"
	"github.com/weber-framework/weber/weberschema"`},
		{filepath.Join(schema, "tag.go"), "// Edges of the Tag.", `// Annotations of the Tag: its table was tags.
func (Tag) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "labels"}, weberschema.RenamedFrom("tags")}
}

// Edges of the Tag.`},
		{filepath.Join(root, "app", "users.go"), "u.Bio,", "u.Biography,"},
		{filepath.Join(root, "app", "seed.go"), "SetBio(", "SetBiography("},
		{filepath.Join(root, "app", "tags.go"), "migrate.TagsTable", "migrate.LabelsTable"},
		{filepath.Join(root, "app", "posts.go"), "migrate.TagsTable", "migrate.LabelsTable"},
	}
	for _, e := range edits {
		if err := loopReplace(e.file, e.old, e.new); err != nil {
			return "", err
		}
	}
	for _, old := range []string{"SetNillableBio(", "SetBio(", "ClearBio(", `"bio"`} {
		repl := strings.Replace(strings.Replace(old, "Bio(", "Biography(", 1), `"bio"`, `"biography"`, 1)
		if err := loopReplace(filepath.Join(root, "app", "users.go"), old, repl); err != nil {
			return "", err
		}
	}
	if err := loopGo(ctx, root, "generate", "./ent"); err != nil {
		return "", err
	}
	if err := loopGo(ctx, root, "build", "-o", bin, "./cmd/weberctl"); err != nil {
		return "", err
	}
	return bin, nil
}

// loopReplace replaces every old in file with new, and fails when old is
// not there: the file changed and the test must follow.
func loopReplace(file, old, new string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), old) {
		return fmt.Errorf("editing %s: %q is not there any more; update the rename loop test", file, old)
	}
	return os.WriteFile(file, []byte(strings.ReplaceAll(string(b), old, new)), 0o644)
}

// renameFileOf is the revision's file in the dialect's folder.
func renameFileOf(t *testing.T, dir, folder string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, filepath.Base(folder), "*_"+renameRevisionName+".sql"))
	if len(m) != 1 {
		t.Fatalf("%d files named %s in %s", len(m), renameRevisionName, folder)
	}
	return m[0]
}

// renamedRowsKept proves every value is under its new name and that the
// foreign keys and unique indexes survived.
func renamedRowsKept(t *testing.T, r *loopRunner, db *sql.DB, before map[string][]string) {
	t.Helper()
	var bios []string
	rows, err := db.QueryContext(t.Context(), "SELECT id, biography FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int
		var bio sql.NullString
		if err := rows.Scan(&id, &bio); err != nil {
			t.Fatal(err)
		}
		v := "<nil>"
		if bio.Valid {
			v = bio.String
		}
		bios = append(bios, fmt.Sprintf("%d|%s", id, v))
	}
	rows.Close()
	var want []string
	for _, row := range before["users"] {
		f := strings.Split(row, "|")
		want = append(want, f[0]+"|"+f[6])
	}
	if !reflect.DeepEqual(bios, want) {
		t.Errorf("users.biography after the upgrade %v, want the old bio values %v", bios, want)
	}
	if n := r.count(db, "SELECT COUNT(*) FROM labels WHERE name IN ('history', 'computing')"); n != len(before["tags"]) {
		t.Errorf("labels holds %d of the tags, want %d", n, len(before["tags"]))
	}
	if n := r.count(db, "SELECT COUNT(*) FROM post_tags pt JOIN labels l ON l.id = pt.tag_id"); n != len(before["post_tags"]) {
		t.Errorf("%d post_tags rows join labels, want %d", n, len(before["post_tags"]))
	}
	for _, bad := range []string{
		"INSERT INTO post_tags (post_id, tag_id) VALUES (1, 999)",
		"INSERT INTO labels (name) VALUES ('history')",
		"INSERT INTO users (created_at, updated_at, name, email, role) VALUES ('2026-01-01 00:00:00', '2026-01-01 00:00:00', 'Ada', 'ada@example.com', 'member')",
	} {
		if _, err := db.ExecContext(t.Context(), bad); err == nil {
			t.Errorf("a foreign key or unique index was lost: %s succeeded", bad)
		}
	}
}
