package weberctl

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/go-cmp/cmp"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// fleetSizes are how many databases the fleet tests make per backend.
var fleetSizes = map[string]int{"sqlite": 50, "postgres": 50, "mysql": 20}

// newFleet makes n empty databases on the project's backend, writes their
// URLs to targets.txt in the project and returns their URLs.
func newFleet(t *testing.T, p *project, n int) []string {
	t.Helper()
	var urls []string
	for i := range n {
		var raw string
		if p.u.Dialect == dialect.SQLite {
			raw = "sqlite://" + filepath.Join(p.dir, "var", fmt.Sprintf("tenant_%02d.db", i))
		} else {
			b := testserver.Lookup(t, map[string]string{dialect.Postgres: "postgres", dialect.MySQL: "mysql"}[p.u.Dialect])
			var err error
			if raw, err = b.URLOf(testserver.NewURL(t, b, nil).Database); err != nil {
				t.Fatal(err)
			}
		}
		u, err := dbconn.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if p.u.Dialect == dialect.SQLite {
			_, err = dbconn.CreateSQLiteFile(u)
		} else {
			_, err = dbconn.EnsureDatabase(t.Context(), u)
		}
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, raw)
	}
	content := "# the tenants\n" + strings.Join(urls, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(p.dir, "targets.txt"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return urls
}

// execOn runs one statement on the database at raw.
func execOn(t *testing.T, raw, stmt string) {
	t.Helper()
	u, err := dbconn.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	db, err := dbconn.Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), stmt); err != nil {
		t.Fatal(err)
	}
}

// fleetReport decodes a fleet's --json output or --report file.
func fleetReport(t *testing.T, data string) fleetView {
	t.Helper()
	var v fleetView
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		t.Fatalf("not a fleet report: %v\n%s", err, data)
	}
	return v
}

// byStatus maps each status to how many targets have it.
func byStatus(v fleetView) map[string]int {
	out := map[string]int{}
	for _, tv := range v.Targets {
		out[tv.Status]++
	}
	return out
}

// Over a fleet, one target made to fail (tables but no history: upgrade
// refuses it) fails alone with --keep-going; every other target is
// upgraded; `db status` over the fleet says which; after the fix,
// --resume runs the failed one only.
func TestE2EFleetUpgradeStatusResume(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		n := fleetSizes[map[string]string{dialect.SQLite: "sqlite", dialect.Postgres: "postgres", dialect.MySQL: "mysql"}[p.u.Dialect]]
		urls := newFleet(t, p, n)
		broken := urls[7]
		execOn(t, broken, "CREATE TABLE stray (id int)")
		brokenName := redacted(t, broken)

		r := p.run("db", "upgrade", "--targets", "targets.txt", "--parallel", "8", "--canary", "1",
			"--keep-going", "--report", "report.json", "--json")
		if r.code != 1 {
			t.Fatalf("upgrade over the fleet: exit %d, want 1 (one target failed)\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		v := fleetReport(t, r.stdout)
		if diff := cmp.Diff(map[string]int{"ok": n - 1, "failed": 1}, byStatus(v)); diff != "" {
			t.Fatalf("statuses (-want +got):\n%s", diff)
		}
		latest := latestVersion(t, p)
		sqlFiles, err := filepath.Glob(filepath.Join(p.folder(), "*.sql"))
		if err != nil {
			t.Fatal(err)
		}
		applied := fmt.Sprintf("applied %d files", len(sqlFiles))
		for i, tv := range v.Targets {
			want := fleetTargetView{Target: redacted(t, urls[i]), Status: "ok", Version: latest, Detail: applied, Canary: i == 0}
			if tv.Target == brokenName {
				if tv.Status != "failed" || !strings.Contains(tv.Error, "stray") {
					t.Errorf("the broken target: %+v, want failed naming the stray table", tv)
				}
				continue
			}
			tv.Duration = 0
			if diff := cmp.Diff(want, tv); diff != "" {
				t.Errorf("target %d (-want +got):\n%s", i, diff)
			}
		}
		if !strings.Contains(r.stderr, fmt.Sprintf("[%d/%d] ", n, n)) {
			t.Errorf("stderr lacks the progress line of the last target:\n%s", r.stderr)
		}
		file, err := os.ReadFile(filepath.Join(p.dir, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(byStatus(v), byStatus(fleetReport(t, string(file)))); diff != "" {
			t.Errorf("the report file disagrees with the output (-output +file):\n%s", diff)
		}

		st := p.run("db", "status", "--targets", "targets.txt", "--keep-going", "--json")
		sv := fleetReport(t, st.stdout)
		if st.code != 1 || byStatus(sv)["ok"] != n-1 {
			t.Fatalf("status over the fleet: exit %d, %v\n%s%s", st.code, byStatus(sv), st.stdout, st.stderr)
		}

		execOn(t, broken, "DROP TABLE stray")
		again := p.run("db", "upgrade", "--targets", "targets.txt", "--resume", "--report", "report.json")
		if again.code != 0 {
			t.Fatalf("resumed upgrade: exit %d\nstdout: %s\nstderr: %s", again.code, again.stdout, again.stderr)
		}
		want := fmt.Sprintf("Upgraded %d targets in ", n)
		if !strings.HasPrefix(again.stdout, want) || !strings.Contains(again.stdout, fmt.Sprintf("1 ok, 0 failed, 0 not started, %d skipped", n-1)) {
			t.Errorf("resumed upgrade output:\n%s", again.stdout)
		}
		final := p.run("db", "status", "--targets", "targets.txt", "--json")
		if fv := fleetReport(t, final.stdout); final.code != 0 || byStatus(fv)["ok"] != n {
			t.Errorf("final status: exit %d, %v", final.code, byStatus(fv))
		}
	})
}

// A pattern finds the fleet; --target names one more; a password never
// shows in the output.
func TestE2EFleetTargetsLikeAndList(t *testing.T) {
	t.Parallel()
	skipShort(t)
	// SQLite alone: the server patterns are tested in internal/fleet.
	func(p *project) {
		newFleet(t, p, 3)
		extra := "sqlite://" + filepath.Join(p.dir, "var", "other.db")
		execOn(t, extra, "SELECT 1")
		r := p.must("db", "upgrade", "--targets-like", "sqlite://var/tenant_*.db", "--target", extra)
		if !strings.HasPrefix(r.stdout, "Upgraded 4 targets in ") || !strings.Contains(r.stdout, "4 ok, 0 failed") {
			t.Errorf("output:\n%s", r.stdout)
		}
		bad := p.run("db", "upgrade", "--targets-like", "sqlite://var/none_*.db")
		if bad.code != 1 || !strings.Contains(bad.stderr, "no database matches") {
			t.Errorf("a pattern matching nothing: exit %d, %s", bad.code, bad.stderr)
		}
		both := p.runEnv(nil, "db", "upgrade", "--target", extra, "--database-url", extra)
		if both.code != 2 || !strings.Contains(both.stderr, "give one or the other") {
			t.Errorf("--database-url beside --target: exit %d, %s", both.code, both.stderr)
		}
	}(newProject(t, e2eBackendOf(testserver.Backend{Name: testserver.SQLite})))
}

// SIGINT during a fleet upgrade starts no new target; the running one
// finishes; the command exits 130 and its report says which were not
// started.
func TestE2EFleetInterruptLetsRunningTargetsFinish(t *testing.T) {
	t.Parallel()
	skipShort(t)
	// SQLite alone: the stop is the runner's, the same on every backend.
	func(p *project) {
		newFleet(t, p, 6)
		// A file that takes a moment, so that the signal lands while a
		// target runs.
		p.addMigration("99990101000000_slow.sql", "CREATE TABLE slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 1500000) SELECT count(*) AS n FROM c;\n")
		cmd := p.command(context.Background(), nil, "db", "upgrade", "--targets", "targets.txt", "--parallel", "1", "--report", "report.json")
		stdout, stderr := &syncBuffer{}, &syncBuffer{}
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for !strings.Contains(stderr.String(), "[1/6]") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		if code != exitInterrupted {
			t.Fatalf("exit %d (%v), want %d\nstdout: %s\nstderr: %s", code, err, exitInterrupted, stdout, stderr)
		}
		file, rerr := os.ReadFile(filepath.Join(p.dir, "report.json"))
		if rerr != nil {
			t.Fatal(rerr)
		}
		v := fleetReport(t, string(file))
		got := byStatus(v)
		if got["ok"] < 1 || got["ok"] > 3 || got["failed"] != 0 || got["ok"]+got["not started"] != 6 || v.Stopped != "interrupted" {
			t.Fatalf("report after SIGINT: %v, stopped %q: want the running targets ok, none failed, the rest not started", got, v.Stopped)
		}
		if !strings.Contains(stderr.String(), "interrupted") {
			t.Errorf("stderr does not say it was interrupted:\n%s", stderr)
		}
	}(newProject(t, e2eBackendOf(testserver.Backend{Name: testserver.SQLite})))
}

func redacted(t *testing.T, raw string) string {
	t.Helper()
	u, err := dbconn.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Redacted()
}

// latestVersion is the newest version in the project's migration folder.
func latestVersion(t *testing.T, p *project) string {
	t.Helper()
	entries, err := os.ReadDir(p.folder())
	if err != nil {
		t.Fatal(err)
	}
	latest := ""
	for _, e := range entries {
		if v, _, ok := strings.Cut(e.Name(), "_"); ok && strings.HasSuffix(e.Name(), ".sql") && v > latest {
			latest = v
		}
	}
	return latest
}
