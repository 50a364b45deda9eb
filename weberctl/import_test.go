package weberctl

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// foreignHistory is a small history in one tool's layout for one backend,
// and the statements that tool would have run for its first two files.
type foreignHistory struct {
	tool    string
	files   map[string]string
	applied []string // what the tool ran for the first two files, its version table included
	dirty   string   // marks the database dirty (golang-migrate only)
}

// foreignHistoryFor picks a different tool per backend, so that each tool
// runs through the binary: goose on SQLite, golang-migrate on PostgreSQL,
// dbmate on MySQL.
func foreignHistoryFor(backend string) foreignHistory {
	switch backend {
	case "postgres":
		return foreignHistory{tool: "golang-migrate", files: map[string]string{
			"1_authors.up.sql":      "CREATE TABLE authors (id bigserial PRIMARY KEY, email text NOT NULL);\nCREATE UNIQUE INDEX authors_email ON authors (email);\n",
			"1_authors.down.sql":    "DROP TABLE authors;\n",
			"2_books.up.sql":        "BEGIN;\nCREATE TABLE books (id bigserial PRIMARY KEY, author_id bigint NOT NULL REFERENCES authors (id), title text NOT NULL);\nCOMMIT;\n",
			"2_books.down.sql":      "DROP TABLE books;\n",
			"3_book_title.up.sql":   "CREATE INDEX CONCURRENTLY books_title ON books (title);\n",
			"10_book_year.up.sql":   "ALTER TABLE books ADD COLUMN year int;\n",
			"10_book_year.down.sql": "ALTER TABLE books DROP COLUMN year;\n",
		}, applied: []string{
			"CREATE TABLE authors (id bigserial PRIMARY KEY, email text NOT NULL)",
			"CREATE UNIQUE INDEX authors_email ON authors (email)",
			"CREATE TABLE books (id bigserial PRIMARY KEY, author_id bigint NOT NULL REFERENCES authors (id), title text NOT NULL)",
			"CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null)",
			"INSERT INTO schema_migrations (version, dirty) VALUES (2, false)",
		}, dirty: "UPDATE schema_migrations SET dirty = true"}
	case "mysql":
		return foreignHistory{tool: "dbmate", files: map[string]string{
			"20240101000001_authors.sql":    "-- migrate:up\nCREATE TABLE authors (id bigint AUTO_INCREMENT PRIMARY KEY, email varchar(200) NOT NULL);\nCREATE UNIQUE INDEX authors_email ON authors (email);\n\n-- migrate:down\nDROP TABLE authors;\n",
			"20240101000002_books.sql":      "-- migrate:up\nCREATE TABLE books (id bigint AUTO_INCREMENT PRIMARY KEY, author_id bigint NOT NULL, title varchar(200) NOT NULL, CONSTRAINT books_author FOREIGN KEY (author_id) REFERENCES authors (id));\n\n-- migrate:down\nDROP TABLE books;\n",
			"20240101000003_book_title.sql": "-- migrate:up transaction:false\nCREATE INDEX books_title ON books (title);\n\n-- migrate:down\nDROP INDEX books_title ON books;\n",
			"20240101000004_book_year.sql":  "-- migrate:up\nALTER TABLE books ADD COLUMN year int;\n\n-- migrate:down\nALTER TABLE books DROP COLUMN year;\n",
		}, applied: []string{
			"CREATE TABLE authors (id bigint AUTO_INCREMENT PRIMARY KEY, email varchar(200) NOT NULL)",
			"CREATE UNIQUE INDEX authors_email ON authors (email)",
			"CREATE TABLE books (id bigint AUTO_INCREMENT PRIMARY KEY, author_id bigint NOT NULL, title varchar(200) NOT NULL, CONSTRAINT books_author FOREIGN KEY (author_id) REFERENCES authors (id))",
			"CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY)",
			"INSERT INTO schema_migrations (version) VALUES ('20240101000001'), ('20240101000002')",
		}}
	}
	return foreignHistory{tool: "goose", files: map[string]string{
		"00001_authors.sql":    "-- +goose Up\nCREATE TABLE authors (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nCREATE UNIQUE INDEX authors_email ON authors (email);\n\n-- +goose Down\nDROP TABLE authors;\n",
		"00002_books.sql":      "-- +goose Up\nCREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors (id), title TEXT NOT NULL);\nCREATE TABLE notes (note TEXT);\n-- +goose StatementBegin\nCREATE TRIGGER books_note AFTER INSERT ON books BEGIN\n  INSERT INTO notes VALUES ('a');\n  INSERT INTO notes VALUES ('b');\nEND;\n-- +goose StatementEnd\n\n-- +goose Down\nDROP TABLE books;\n",
		"00003_book_title.sql": "-- +goose Up\n-- +goose NO TRANSACTION\nCREATE INDEX books_title ON books (title);\n\n-- +goose Down\nDROP INDEX books_title;\n",
		"00004_book_year.sql":  "-- +goose Up\nALTER TABLE books ADD COLUMN year INTEGER;\n\n-- +goose Down\nALTER TABLE books DROP COLUMN year;\n",
	}, applied: []string{
		"CREATE TABLE authors (id INTEGER PRIMARY KEY, email TEXT NOT NULL)",
		"CREATE UNIQUE INDEX authors_email ON authors (email)",
		"CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors (id), title TEXT NOT NULL)",
		"CREATE TABLE notes (note TEXT)",
		"CREATE TRIGGER books_note AFTER INSERT ON books BEGIN\n  INSERT INTO notes VALUES ('a');\n  INSERT INTO notes VALUES ('b');\nEND;",
		"CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')))",
		"INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1), (1, 1), (2, 1)",
	}}
}

// TestE2EImportAndTakeOver: a database another tool migrated halfway is
// imported and taken over through the binary; `db upgrade` then applies
// only the files the tool had not, and a second take-over records nothing.
func TestE2EImportAndTakeOver(t *testing.T) {
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		h := foreignHistoryFor(filepath.Base(p.folder()))
		src := filepath.Join(p.dir, "db", "migrations")
		if err := os.MkdirAll(src, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range h.files {
			if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(filepath.Join(p.dir, "var"), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := dbconn.EnsureDatabase(t.Context(), p.u); err != nil {
			t.Fatal(err)
		}
		db := p.open()
		for _, q := range h.applied {
			if _, err := db.ExecContext(t.Context(), q); err != nil {
				t.Fatalf("%v\n%s", err, q)
			}
		}

		r := p.must("db", "import", "--from", h.tool, "--source", "db/migrations", "--dir", "imported", "--take-over")
		for _, want := range []string{"Imported 4 " + h.tool + " migrations", "Recorded as applied", "Pending, for `weberctl db upgrade`", "left in place"} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("db import output lacks %q:\n%s", want, r.stdout)
			}
		}
		up := p.must("db", "upgrade", "--dir", "imported")
		if n := strings.Count(up.stdout, "... done"); n != 2 {
			t.Fatalf("db upgrade after the take-over ran %d files, want the 2 the tool had not:\n%s", n, up.stdout)
		}
		if p.count(db, "SELECT COUNT(*) FROM books WHERE year IS NULL") != 0 {
			t.Fatal("books.year is missing after the upgrade")
		}
		again := p.must("db", "import", "--from", h.tool, "--source", "db/migrations", "--dir", "imported", "--take-over", "--json")
		var v struct {
			Import struct {
				Unchanged bool `json:"unchanged"`
				Files     []struct {
					Name       string `json:"name"`
					TxModeNone bool   `json:"txmode_none"`
					DownKept   bool   `json:"down_kept"`
				} `json:"files"`
			} `json:"import"`
			TakeOver struct {
				AlreadyRecorded bool     `json:"already_recorded"`
				Recorded        []string `json:"recorded"`
				Pending         []string `json:"pending"`
			} `json:"take_over"`
		}
		if err := json.Unmarshal([]byte(again.stdout), &v); err != nil {
			t.Fatalf("db import --json: %v\n%s", err, again.stdout)
		}
		type second struct {
			Unchanged, AlreadyRecorded bool
			Recorded, Pending          []string
		}
		if diff := cmp.Diff(second{Unchanged: true, AlreadyRecorded: true}, second{v.Import.Unchanged, v.TakeOver.AlreadyRecorded, v.TakeOver.Recorded, v.TakeOver.Pending},
			cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("a second import and take-over changed something, or has files pending (-want +got):\n%s%s", diff, again.stdout)
		}
		if len(v.Import.Files) != 4 || !v.Import.Files[2].TxModeNone || !v.Import.Files[0].DownKept {
			t.Fatalf("the third file must run outside a transaction and the first keep its down section:\n%s", again.stdout)
		}
		if h.dirty == "" {
			return
		}
		if _, err := db.ExecContext(t.Context(), h.dirty); err != nil {
			t.Fatal(err)
		}
		bad := p.run("db", "import", "--from", h.tool, "--source", "db/migrations", "--dir", "imported2", "--take-over")
		if diff := cmp.Diff(outcome{Code: 1, StderrLines: 1}, outcomeOf(bad, nil, []string{"dirty", "migrate force"})); diff != "" {
			t.Fatalf("take-over of a dirty database: want exit 1 and one line naming dirty and `migrate force` (-want +got):\n%s\nstderr: %s", diff, bad.stderr)
		}
	})
}

// TestImportUsageMistakes: mistakes on the command line are one line and
// exit 2, before anything is read or written.
func TestImportUsageMistakes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"db", "import"}, "needs --from"},
		{[]string{"db", "import", "--from", "goose"}, "--source"},
		{[]string{"db", "import", "--from", "flyway", "--source", dir}, `unknown tool "flyway"`},
		{[]string{"db", "import", "--from", "goose", "--source", dir, "extra"}, "takes no arguments"},
		{[]string{"db", "import", "--from", "goose", "--source", dir, "--dialect", "oracle"}, "use sqlite, postgres or mysql"},
		{[]string{"db", "import", "--from", "goose", "--source", dir, "--dialect", "postgres", "--take-over", "--database-url", "sqlite://" + filepath.Join(dir, "x.db")},
			"drop --dialect"},
	} {
		r := runCLI(t, nil, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("weberctl %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), r.code, r.stderr, exitUsage, tc.want)
		}
		assertOneErrorLine(t, r.stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a refused import wrote %v", entries)
	}
}

// TestImportAtlasAsIs: an Atlas folder is accepted as it is and said to be.
func TestImportAtlasAsIs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := runCLI(t, nil, "db", "import", "--from", "atlas", "--source", filepath.Join("..", "migrations", "sqlite"), "--dialect", "sqlite", "--dir", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "Weber's own") {
		t.Fatalf("exit %d, stdout %q, stderr %q: want the Atlas folder accepted as it is", r.code, r.stdout, r.stderr)
	}
	want, err := os.ReadFile(filepath.Join("..", "migrations", "sqlite", "atlas.sum"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "sqlite", "atlas.sum"))
	if err != nil || string(got) != string(want) {
		t.Fatalf("atlas.sum copied as %q (err %v), want it unchanged", got, err)
	}
}
