package weberctl

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/go-cmp/cmp"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// Versions of the example app's history around its data migrations.
const (
	beforeNameParts = "20261127014341"
	splitUserNames  = "20261206112500"
)

// seedUsers fills users with n rows generated inside the server: names of
// two or three words, and every seventh of one word.
func seedUsers(t *testing.T, db *sql.DB, dia string, n int) {
	t.Helper()
	var q string
	switch dia {
	case dialect.Postgres:
		q = `INSERT INTO users (name, email, role, created_at, updated_at)
SELECT CASE WHEN g % 7 = 0 THEN 'Solo' || g ELSE 'Ada' || g || ' King Lovelace' || (g % 3) END, 'u' || g || '@example.com', 'member', '2026-01-01', '2026-01-01'
FROM generate_series(1, ` + strconv.Itoa(n) + `) AS g`
	case dialect.MySQL:
		q = `INSERT INTO users (name, email, role, created_at, updated_at)
SELECT CASE WHEN seq % 7 = 0 THEN CONCAT('Solo', seq) ELSE CONCAT('Ada', seq, ' King Lovelace', seq % 3) END, CONCAT('u', seq, '@example.com'), 'member', '2026-01-01', '2026-01-01'
FROM seq_1_to_` + strconv.Itoa(n)
	default:
		q = `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ` + strconv.Itoa(n) + `)
INSERT INTO users (name, email, role, created_at, updated_at)
SELECT CASE WHEN i % 7 = 0 THEN 'Solo' || i ELSE 'Ada' || i || ' King Lovelace' || (i % 3) END, 'u' || i || '@example.com', 'member', '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM g`
	}
	if _, err := db.ExecContext(t.Context(), q); err != nil {
		t.Fatalf("seeding users: %v", err)
	}
}

// dumpUsers returns the users' rows, one line each, in id order.
func dumpUsers(t *testing.T, db *sql.DB, nameCol string) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT id, "+nameCol+", email, role, first_name, last_name FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int64
		var name, email, role string
		var first, last sql.NullString
		if err := rows.Scan(&id, &name, &email, &role, &first, &last); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d|%s|%s|%s|%v|%v", id, name, email, role, first, last))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// populated is a project whose database is at beforeNameParts with n users.
func populated(t *testing.T, b testserver.Backend, n int) (*project, *sql.DB) {
	t.Helper()
	p := newProject(t, e2eBackendOf(b))
	p.env = devEnv()
	if p.u.Dialect != dialect.SQLite {
		if _, err := dbconn.EnsureDatabase(t.Context(), p.u); err != nil {
			t.Fatal(err)
		}
	}
	p.must("db", "upgrade", "--to", beforeNameParts)
	db := p.open()
	seedUsers(t, db, p.u.Dialect, n)
	return p, db
}

// progressOf reads the key the data migration's revision is done through
// (-1 while it has none).
func progressOf(t *testing.T, db *sql.DB, dia string) int64 {
	t.Helper()
	q := "SELECT error FROM " + revstore.Table + " WHERE version = ?"
	if dia == dialect.Postgres {
		q = strings.Replace(q, "?", "$1", 1)
	}
	var e sql.NullString
	if err := db.QueryRowContext(t.Context(), q, splitUserNames).Scan(&e); err != nil {
		return -1
	}
	rest, ok := strings.CutPrefix(e.String, "weber: batched statement in progress, done through key ")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// Issue 11 item 2, done-when: an upgrade of a populated database runs the
// Go data migration; kill -9 in its middle, and the next upgrade resumes
// after the last committed batch; the final data is identical to an
// uninterrupted run's.
func TestE2EDataMigrationKilledResumes(t *testing.T) {
	t.Parallel()
	skipShort(t)
	const users = 12000
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		whole, wholeDB := populated(t, b, users)
		r := whole.must("db", "upgrade")
		if !strings.Contains(r.stderr, "data migration split_user_names finished at key 12000 (25 batches, 12000 rows changed)") {
			t.Errorf("uninterrupted upgrade's progress lines:\n%s", r.stderr)
		}
		want := dumpUsers(t, wholeDB, "name")

		p, db := populated(t, b, users)
		cmd := p.command(context.Background(), nil, "db", "upgrade")
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for progressOf(t, db, p.u.Dialect) < 2000 {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("the data migration never reached key 2000:\n%s", out)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		killedAt := progressOf(t, db, p.u.Dialect)
		if killedAt < 2000 || killedAt >= users {
			t.Fatalf("killed at key %d: want in the middle of the migration\n%s", killedAt, out)
		}
		st := p.must("db", "status", "--skip-models")
		if line := fmt.Sprintf("data migration split_user_names is done through key %d", killedAt); !strings.Contains(st.stdout+st.stderr, line) {
			t.Errorf("status after the kill does not say %q:\n%s%s", line, st.stdout, st.stderr)
		}
		r = p.must("db", "upgrade")
		if line := fmt.Sprintf("data migration split_user_names done through key %d (1 batch, 500 rows changed)", killedAt+500); !strings.Contains(r.stderr, line) {
			t.Errorf("the resumed upgrade did not start after key %d (want %q):\n%s", killedAt, line, r.stderr)
		}
		if diff := cmp.Diff(want, dumpUsers(t, db, "name")); diff != "" {
			t.Errorf("users after kill -9 and resume differ from an uninterrupted run (-want +got):\n%s", diff)
		}
	})
}

// Issue 11 item 2, done-when: an old data migration still runs after the
// schema moves on: a later revision renames users.name, which the
// migration reads, and an upgrade of a fresh populated database still runs
// it (its snapshot client is bound to the schema at its own revision).
func TestE2EDataMigrationSurvivesALaterRename(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p, db := populated(t, b, 50)
		rename := "ALTER TABLE users RENAME COLUMN name TO full_name;\n"
		if err := os.WriteFile(filepath.Join(p.folder(), "20991231000000_rename_user_name.sql"), []byte(rename), 0o644); err != nil {
			t.Fatal(err)
		}
		p.must("db", "hash", "--dialect", filepath.Base(p.folder()))
		// The pre-flight reads a rename as a drop and an add (issue 11 item
		// 1 is teaching it renames): allow it here.
		p.must("db", "upgrade", "--allow-data-loss")
		got := dumpUsers(t, db, "full_name")
		if len(got) != 50 {
			t.Fatalf("%d users, want 50", len(got))
		}
		for _, line := range []string{
			"1|Ada1 King Lovelace1|u1@example.com|member|{Ada1 true}|{King Lovelace1 true}",
			"7|Solo7|u7@example.com|member|{Solo7 true}|{ true}",
		} {
			found := false
			for _, g := range got {
				found = found || g == line
			}
			if !found {
				t.Errorf("no row %q among:\n%s", line, strings.Join(got[:8], "\n"))
			}
		}
	})
}

// Issue 11 item 2: `db revision --data NAME` scaffolds a Go data migration
// in the project: a snapshot of the client as the models are now, the
// migration's Go file, and its `-- weber:go` file in every kept folder.
func TestE2ERevisionDataScaffolds(t *testing.T) {
	t.Parallel()
	skipShort(t)
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join("..", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyDir(t, filepath.Join("..", "ent", "schema"), filepath.Join(dir, "ent", "schema"))
	copyDir(t, filepath.Join("..", "migrations", "sqlite"), filepath.Join(dir, "migrations", "sqlite"))
	p := &project{t: t, dir: dir, url: "sqlite://" + filepath.Join(dir, "app.db")}

	r := p.run("db", "revision", "--data", "normalise_emails", "--dialect", "sqlite")
	if r.code != 2 || !strings.Contains(r.stderr, "--data needs --touches") {
		t.Fatalf("without --touches: exit %d, %s", r.code, r.stderr)
	}
	r = p.must("db", "revision", "--data", "normalise_emails", "--touches", "users.email", "--dialect", "sqlite")
	if !strings.Contains(r.stdout, "migrations/data/normalise_emails/ent (the client as the models are now") {
		t.Errorf("output:\n%s", r.stdout)
	}
	d, err := migdir.Open(filepath.Join(dir, "migrations", "sqlite"))
	if err != nil {
		t.Fatalf("the folder after --data: %v", err)
	}
	last := d.Files[len(d.Files)-1]
	if last.Description != "normalise_emails" || last.Go != "normalise_emails" || !strings.Contains(string(last.Bytes), "-- weber:touches users.email\n") {
		t.Errorf("the new file %s: go %q\n%s", last.Name, last.Go, last.Bytes)
	}
	for _, f := range []string{"migrations/data/normalise_emails/ent/client.go", "migrations/data/normalise_emails/ent/user/user.go", "migrations/data/normalise_emails/ent/schema/user.go"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("snapshot: %v", err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "migrations", "data", "normalise_emails.go"))
	if err != nil || !strings.Contains(string(b), `"github.com/weber-framework/weber/migrations/data/normalise_emails/ent"`) || !strings.Contains(string(b), "func NormaliseEmails() engine.DataMigration") {
		t.Errorf("the migration's Go file (%v):\n%s", err, b)
	}
	// --json says what was written, for scripts.
	j := p.must("db", "revision", "--data", "fill_nicknames", "--touches", "users.name", "--dialect", "sqlite", "--json")
	var v dataScaffoldView
	if err := json.Unmarshal([]byte(j.stdout), &v); err != nil || v.Kind != "go" || v.Name != "fill_nicknames" || len(v.Files) != 1 || v.Registry == "" || v.RegistryCreated {
		t.Errorf("--json: %v %+v\n%s", err, v, j.stdout)
	}
	// A project without data migrations gets data.go, with it registered,
	// and is told to hand them to weberctl.
	reg, err := os.ReadFile(filepath.Join(dir, "migrations", "data", "data.go"))
	if err != nil || !strings.Contains(string(reg), `"normalise_emails": NormaliseEmails(),`) || !strings.Contains(r.stdout, "DataMigrations: data.Migrations()") {
		t.Errorf("registration (%v): data.go\n%s\noutput:\n%s", err, reg, r.stdout)
	}
}

// `db ensure` on a development database that ensure had already given the
// new columns from the models, before the files that add them arrived
// (with a pull): the schema file is recorded as applied without running,
// but the data migrations beside it run (split_user_names in Go,
// empty_bios_to_null in SQL), so the rows get their backfill.
func TestE2EEnsureRunsPendingDataMigrations(t *testing.T) {
	t.Parallel()
	skipShort(t)
	later := []string{"20261206112152_add_user_name_parts.sql", "20261206112500_split_user_names.sql", "20261206114428_empty_bios_to_null.sql", "20261206125757_publish_dated_drafts.sql"}
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p, db := populated(t, b, 600)
		if _, err := db.ExecContext(t.Context(), "UPDATE users SET bio = '' WHERE id % 3 = 0"); err != nil {
			t.Fatal(err)
		}
		seedPosts(t, db, 40)
		// The branch before the pull: the models have first_name and
		// last_name, the history not yet.
		aside := t.TempDir()
		for _, f := range later {
			if err := os.Rename(filepath.Join(p.folder(), f), filepath.Join(aside, f)); err != nil {
				t.Fatal(err)
			}
		}
		p.must("db", "hash", "--dialect", filepath.Base(p.folder()))
		if r := p.must("db", "ensure"); !strings.Contains(r.stdout, "Added column users.first_name") {
			t.Fatalf("ensure before the pull did not add the new columns:\n%s", r.stdout)
		}
		for _, f := range later {
			if err := os.Rename(filepath.Join(aside, f), filepath.Join(p.folder(), f)); err != nil {
				t.Fatal(err)
			}
		}
		p.must("db", "hash", "--dialect", filepath.Base(p.folder()))

		r := p.must("db", "ensure")
		if !strings.Contains(r.stdout, devloopAdopted) {
			t.Errorf("ensure after the pull: want the adopted file and the data migrations that ran:\n%s\ngot:\n%s", devloopAdopted, r.stdout)
		}
		filled := p.count(db, "SELECT COUNT(*) FROM users WHERE first_name IS NOT NULL AND first_name <> ''")
		published := p.count(db, "SELECT COUNT(*) FROM posts WHERE status = 'published'")
		if empty := p.count(db, "SELECT COUNT(*) FROM users WHERE bio = ''"); filled != 600 || empty != 0 || published != 20 {
			t.Errorf("after ensure: %d of 600 users have a first name, %d an empty bio, %d posts published; want 600, 0 and the 20 dated", filled, empty, published)
		}
		if again := p.must("db", "ensure"); !strings.HasPrefix(again.stdout, "Nothing to do") {
			t.Errorf("second ensure:\n%s", again.stdout)
		}
		if up := p.must("db", "upgrade"); !strings.HasPrefix(up.stdout, "Nothing to do") {
			t.Errorf("upgrade after ensure:\n%s", up.stdout)
		}
	})
}
