package weberctl

// In-process tests of the deploy safety net: db status (three ways),
// db check, db lint and db verify. SQLite always; PostgreSQL and MySQL
// when WEBER_TEST_POSTGRES_URL / WEBER_TEST_MYSQL_URL are set (their dev
// servers from WEBER_DEV_*_URL, else the test servers).

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// repoMigrations is the project's own history.
var repoMigrations = filepath.Join("..", "migrations")

// dialectCase is one dialect the tests run on, with the variables that
// give weberctl its dev server.
type dialectCase struct {
	folder string
	vars   map[string]string
	// backend makes target databases of this dialect.
	backend e2eBackend
}

// dialectCaseOf returns the dialect case of backend b, with the dev
// servers' variables (devEnv).
func dialectCaseOf(b testserver.Backend) dialectCase {
	vars := map[string]string{}
	for _, kv := range devEnv() {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return dialectCase{folder: b.Name, vars: vars, backend: e2eBackendOf(b)}
}

// history copies the project's migrations into a temp dir and returns it.
func history(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	copyDir(t, repoMigrations, dir)
	return dir
}

// writeFile writes a migration file into dir/folder and rehashes it.
func writeMigration(t *testing.T, vars map[string]string, dir, folder, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, folder, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, vars, "db", "hash", "--dir", dir, "--dialect", folder); r.code != 0 {
		t.Fatalf("db hash: %s", r.stderr)
	}
}

// newestFile returns the name of the newest migration file of a folder.
func newestFile(t *testing.T, folder string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(folder, "*.sql"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no migration file in %s (%v)", folder, err)
	}
	return m[len(m)-1]
}

// upgraded returns the URL of a new database of the dialect, upgraded with
// dir's history.
func upgraded(t *testing.T, dc dialectCase, dir string) (string, *dbconn.URL) {
	t.Helper()
	url := dc.backend.newURL(t, t.TempDir())
	u, err := dbconn.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dbconn.EnsureDatabase(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, dc.vars, "db", "upgrade", "--dir", dir, "--database-url", url); r.code != 0 {
		t.Fatalf("upgrade: exit %d: %s", r.code, r.stderr)
	}
	return url, u
}

func execSQL(t *testing.T, u *dbconn.URL, stmt string) {
	t.Helper()
	db, err := dbconn.Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// `db status` names a column added by hand on the live database, and says
// everything agrees before that.
func TestStatusReportsAHandAddedColumn(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		dc := dialectCaseOf(b)
		dir := history(t)
		url, u := upgraded(t, dc, dir)

		r := runCLI(t, dc.vars, "db", "status", "--dir", dir, "--database-url", url)
		if r.code != 0 || !strings.Contains(r.stdout, "Verdict: in sync: the models, the history and the database agree.") {
			t.Fatalf("status of a fresh database: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}

		execSQL(t, u, "ALTER TABLE users ADD COLUMN x int")
		r = runCLI(t, dc.vars, "db", "status", "--dir", dir, "--database-url", url)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("status exits 0 even when something differs: exit %d, %q", r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "users.x: column added by hand (") || !strings.Contains(r.stdout, "Verdict: NOT in sync") ||
			!strings.Contains(r.stdout, "1 change made by hand") {
			t.Errorf("status does not name the hand-made column:\n%s", r.stdout)
		}

		r = runCLI(t, dc.vars, "db", "status", "--json", "--dir", dir, "--database-url", url)
		var v statusView
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("status --json: %v\n%s", err, r.stdout)
		}
		if v.Clean || !v.Live.Checked || len(v.Live.Differences) != 1 {
			t.Fatalf("status --json: %+v", v)
		}
		if d := v.Live.Differences[0]; d.Kind != "column-added" || d.Table != "users" || d.Column != "x" {
			t.Errorf("difference = %+v, want column-added users.x", d)
		}
		if !v.Models.Checked || v.Models.Ahead || !v.History.UpToDate {
			t.Errorf("the other two ways are wrong: models %+v, history %+v", v.Models, v.History)
		}
	})
}

// On a server dialect without a dev server, status names the variable for
// the two ways that need it and still shows the pending files.
func TestStatusWithoutDevServerShowsTheRest(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		dc := dialectCaseOf(b)
		dir := history(t)
		url, _ := upgraded(t, dc, dir)
		writeMigration(t, dc.vars, dir, dc.folder, "20991231000000_notes.sql", "CREATE TABLE notes (id integer NOT NULL PRIMARY KEY);\n")
		r := runCLI(t, nil, "db", "status", "--dir", dir, "--database-url", url)
		v := "WEBER_DEV_" + strings.ToUpper(dc.folder) + "_URL"
		if r.code != 0 || strings.Count(r.stdout, "not checked: no dev database for "+dc.folder+": set "+v) != 2 ||
			!strings.Contains(r.stdout, "pending: 20991231000000_notes.sql") {
			t.Errorf("status without a dev server: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}, testserver.Except(testserver.SQLite, "SQLite needs no dev server"))
}

// checkIn runs `db check` on one dialect of dir and returns the result.
func checkIn(t *testing.T, dc dialectCase, dir string, extra ...string) result {
	t.Helper()
	return runCLI(t, dc.vars, append([]string{"db", "check", "--dir", dir, "--dialect", dc.folder}, extra...)...)
}

// assertCheckFails checks the gate's contract: exit 1, each problem on its
// own stdout line, one stderr line counting them.
func assertCheckFails(t *testing.T, r result, want string) {
	t.Helper()
	if r.code != exitFailure {
		t.Errorf("check: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "weberctl: db check found ") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("check: stderr is not one counting line: %q", r.stderr)
	}
	if !strings.Contains(r.stdout, want) {
		t.Errorf("check: stdout does not name %q:\n%s", want, r.stdout)
	}
}

func TestCheckPassesOnTheProjectHistory(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		dc := dialectCaseOf(b)
		r := checkIn(t, dc, repoMigrations)
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "OK: every kept dialect") {
			t.Fatalf("check of the project's history: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		r = checkIn(t, dc, repoMigrations, "--json")
		assertJSONStyle(t, r.stdout)
		var v checkView
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("check --json: %v\n%s", err, r.stdout)
		}
		type checked struct {
			OK       bool
			Problems []string
		}
		if diff := cmp.Diff(checked{true, []string{}}, checked{v.OK, v.Problems}); diff != "" {
			t.Errorf("check --json: want OK and an empty list of problems (-want +got):\n%s%s", diff, r.stdout)
		}
	})
}

func TestCheckFailsWhenTheNewestFileIsMissing(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		dc := dialectCaseOf(b)
		dir := history(t)
		// The newest schema change (the files after it change data only).
		newest, err := filepath.Glob(filepath.Join(dir, dc.folder, "*_add_user_name_parts.sql"))
		if err != nil || len(newest) != 1 {
			t.Fatalf("the newest schema change: %v %v", newest, err)
		}
		if err := os.Remove(newest[0]); err != nil {
			t.Fatal(err)
		}
		if r := runCLI(t, nil, "db", "hash", "--dir", dir, "--dialect", dc.folder); r.code != 0 {
			t.Fatal(r.stderr)
		}
		r := checkIn(t, dc, dir)
		assertCheckFails(t, r, dc.folder+": the models are ahead of")
		if !strings.Contains(r.stdout, "ADD TABLE users") && !strings.Contains(r.stdout, "ADD COLUMN") {
			t.Errorf("check does not name the tables and columns:\n%s", r.stdout)
		}
	})
}

func TestCheckFailsOnACorruptSum(t *testing.T) {
	t.Parallel()
	dc := dialectCaseOf(testserver.Lookup(t, testserver.SQLite))
	dir := history(t)
	sum := filepath.Join(dir, dc.folder, "atlas.sum")
	b, err := os.ReadFile(sum)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sum, append([]byte("h1:AAAA"), b[7:]...), 0o644); err != nil {
		t.Fatal(err)
	}
	r := checkIn(t, dc, dir)
	assertCheckFails(t, r, "atlas.sum")
	if !strings.Contains(r.stdout, "INVALID folder") {
		t.Errorf("check does not say the folder is invalid:\n%s", r.stdout)
	}
}

func TestCheckFailsOnAnUnintendedDrop(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		dc := dialectCaseOf(b)
		dir := history(t)
		writeMigration(t, dc.vars, dir, dc.folder, "20991231000000_drop_bio.sql", "ALTER TABLE users DROP COLUMN bio;\n")
		r := checkIn(t, dc, dir)
		assertCheckFails(t, r, "DS103")
		if !strings.Contains(r.stdout, "20991231000000_drop_bio.sql line 1") || !strings.Contains(r.stdout, "atlas:nolint destructive") {
			t.Errorf("the lint problem does not name the file, the line and the directive:\n%s", r.stdout)
		}
	})
}

// A user without servers keeps the default dialects: the gate fails,
// naming the variable and the --dialect / WEBER_DIALECTS way out.
func TestCheckWithoutDevServersFails(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "db", "check", "--dir", repoMigrations)
	assertCheckFails(t, r, "postgres: not checked: no dev database: set WEBER_DEV_POSTGRES_URL")
	if !strings.Contains(r.stdout, "mysql: not checked: no dev database: set WEBER_DEV_MYSQL_URL") ||
		!strings.Contains(r.stdout, "WEBER_DIALECTS=sqlite") || r.stderr != "weberctl: db check found 2 problems\n" {
		t.Errorf("check without dev servers:\n%s%s", r.stdout, r.stderr)
	}
	r = runCLI(t, map[string]string{"WEBER_DIALECTS": "sqlite"}, "db", "check", "--dir", repoMigrations)
	if r.code != 0 {
		t.Errorf("check with WEBER_DIALECTS=sqlite: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestLintFindsAHandWrittenDropAndAcceptsTheDirective(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		dc := dialectCaseOf(b)
		dir := history(t)
		const name = "20991231000000_drop_bio.sql"
		writeMigration(t, dc.vars, dir, dc.folder, name, "ALTER TABLE users DROP COLUMN bio;\n")
		r := runCLI(t, dc.vars, "db", "lint", "--dir", dir, "--dialect", dc.folder, "20991231000000")
		if r.code != exitFailure {
			t.Fatalf("lint of a hand-written drop: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		for _, want := range []string{filepath.Join(dir, dc.folder, name) + ":1: DS103 error", "statement:", "risk:", "safer:", "-- atlas:nolint destructive"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("lint output lacks %q:\n%s", want, r.stdout)
			}
		}

		writeMigration(t, dc.vars, dir, dc.folder, name, "-- atlas:nolint destructive\nALTER TABLE users DROP COLUMN bio;\n")
		r = runCLI(t, dc.vars, "db", "lint", "--dir", dir, "--dialect", dc.folder, "--json", name)
		assertJSONStyle(t, r.stdout)
		var v lintView
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("lint --json: %v\n%s", err, r.stdout)
		}
		type linted struct {
			Code  int
			OK    bool
			Files []int // per dialect
		}
		got := linted{Code: r.code, OK: v.OK}
		for _, d := range v.Dialects {
			got.Files = append(got.Files, len(d.Files))
		}
		if diff := cmp.Diff(linted{OK: true, Files: []int{1}}, got); diff != "" {
			t.Fatalf("lint with the directive (-want +got):\n%s%s%s", diff, r.stdout, r.stderr)
		}
		var codes []string
		for _, f := range v.Dialects[0].Files[0].Findings {
			if !f.Intended {
				t.Errorf("finding not marked intended: %+v", f)
			}
			codes = append(codes, f.Code)
		}
		if !strings.Contains(strings.Join(codes, ","), "DS103") {
			t.Errorf("the intended DS103 is not reported: %v", codes)
		}
	})
}

func TestLintHelpShowsTheDirective(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "db", "lint", "--help")
	if r.code != 0 || !regexp.MustCompile(`-- atlas:nolint destructive\n\s+ALTER TABLE users DROP COLUMN bio;`).MatchString(r.stdout) {
		t.Errorf("lint --help does not show the directive:\n%s", r.stdout)
	}
}

func TestLintOfAnUnknownVersion(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "db", "lint", "--dir", repoMigrations, "--dialect", "sqlite", "2026112701130")
	if r.code != exitFailure || !strings.Contains(r.stdout, "did you mean 20261127011300") {
		t.Errorf("lint of a mistyped version: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertOneErrorLine(t, r.stderr)
}

func TestVerifyPassesOnTheHistoryAndCatchesARewrite(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		dc := dialectCaseOf(b)
		dir := history(t)
		r := runCLI(t, dc.vars, "db", "verify", "--dir", dir, "--dialect", dc.folder, "--rows", "5")
		if r.code != 0 || !strings.Contains(r.stdout, dc.folder+": PASS") || !strings.Contains(r.stdout, "DURATION") {
			t.Fatalf("verify of the project's history: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		writeMigration(t, dc.vars, dir, dc.folder, "20991231000000_rename_all.sql", "UPDATE users SET name = 'x';\n")
		r = runCLI(t, dc.vars, "db", "verify", "--dir", dir, "--dialect", dc.folder, "--rows", "5")
		if r.code != exitFailure || !strings.Contains(r.stdout, "FAIL") {
			t.Fatalf("verify of a file rewriting users.name: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		assertOneErrorLine(t, r.stderr)
		if !strings.Contains(r.stderr, "users.name") || !strings.Contains(r.stderr, "5 of 5") {
			t.Errorf("verify's error does not name users.name: %q", r.stderr)
		}
		r = runCLI(t, dc.vars, "db", "verify", "--dir", dir, "--dialect", dc.folder, "--rows", "5", "--json")
		assertJSONStyle(t, r.stdout)
		var v verifyView
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Passed || len(v.Failures) == 0 {
			t.Errorf("verify --json: %v\n%s", err, r.stdout)
		}
	})
}

// `db revision` leaves a drop out (nothing written, the left-out list
// printed, exit 1) and, with --allow-destructive, writes it marked intended and
// prints the finding with its code, statement, risk and safer way.
func TestRevisionLeavesOutDropsAndPrintsFindings(t *testing.T) {
	t.Parallel()
	dir := history(t)
	writeMigration(t, nil, dir, "sqlite", "20991231000000_legacy.sql", "ALTER TABLE users ADD COLUMN legacy text NULL;\n")
	r := runCLI(t, nil, "db", "revision", "--dir", dir, "--dialect", "sqlite", "--name", "drop_legacy")
	// ISSUE 10.11: it exits 1, since the models are still ahead.
	if r.code != exitFailure || !strings.Contains(r.stdout, "nothing written") || !strings.Contains(r.stdout, "sqlite: DROP COLUMN users.legacy") {
		t.Fatalf("revision leaving a drop out: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertOneErrorLine(t, r.stderr)
	if !strings.Contains(r.stderr, "left out 1 destructive change ") || !strings.Contains(r.stderr, "--allow-destructive") {
		t.Errorf("the error does not say what was left out and how to write it: %q", r.stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "sqlite", "*_drop_legacy.sql")); len(m) != 0 {
		t.Fatalf("a file was written: %v", m)
	}
	r = runCLI(t, nil, "db", "revision", "--dir", dir, "--dialect", "sqlite", "--name", "drop_legacy", "--allow-destructive")
	if r.code != 0 {
		t.Fatalf("revision --allow-destructive: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"DS103 intended", "statement:", "risk:", "safer:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("revision output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runCLI(t, nil, "db", "revision", "--dir", dir, "--dialect", "sqlite", "--json")
	if r.code != 0 {
		t.Errorf("revision --json with nothing to write: exit %d, %s", r.code, r.stderr)
	}
	assertJSONStyle(t, r.stdout)
	var v reviseView
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("revision --json with nothing to write: %v\n%s", err, r.stdout)
	}
	// Empty lists are [], never null.
	type lists struct{ Statements, LeftOut, Findings bool }
	got := []lists{}
	for _, d := range v.Dialects {
		got = append(got, lists{d.Statements != nil, d.LeftOut != nil, d.Findings != nil})
	}
	if diff := cmp.Diff([]lists{{true, true, true}}, got); diff != "" || v.Written {
		t.Errorf("revision --json with nothing to write: written %v, want one dialect with its lists present (-want +got):\n%s%s", v.Written, diff, r.stdout)
	}
	if !strings.Contains(r.stdout, `"left_out": []`) {
		t.Errorf("empty lists are not []:\n%s", r.stdout)
	}
}

func TestRefusedRevisionShowsEachFinding(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &out}
	explanation, alternative := plan.Explain("DS103")
	renderRefusedRevision(e, &plan.DestructiveError{Dialect: "sqlite", Findings: []plan.Finding{{
		Code: "DS103", Analyzer: "destructive", Message: `Dropping non-virtual column "bio"`, Line: 2, Severity: plan.SeverityError,
		Statement: "ALTER TABLE users DROP COLUMN bio", Explanation: explanation, Alternative: alternative,
	}}}, false)
	for _, want := range []string{"no file was written", "--allow-destructive", "DS103 error", "statement:   ALTER TABLE users DROP COLUMN bio;",
		"risk:        " + explanation, "safer:       " + alternative} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the refused revision lacks %q:\n%s", want, out.String())
		}
	}
}
