package weberctl

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/scratchdb"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// devServer returns the dev server URL the project's weberctl uses for
// its dialect.
func (p *project) devServer() *dbconn.URL {
	p.t.Helper()
	key := "WEBER_DEV_" + strings.ToUpper(filepath.Base(p.folder())) + "_URL="
	for _, kv := range p.env {
		if strings.HasPrefix(kv, key) {
			u, err := dbconn.Parse(strings.TrimPrefix(kv, key))
			if err != nil {
				p.t.Fatal(err)
			}
			return u
		}
	}
	p.t.Fatalf("no %s in the project's environment", key)
	return nil
}

// scratchNames lists the owned dev scratch databases on the server.
func scratchNames(t *testing.T, server *dbconn.URL) []string {
	t.Helper()
	db, err := dbconn.OpenServer(t.Context(), server)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	names, err := scratchdb.List(t.Context(), db, server.Dialect, scratchdb.DevPrefix)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(names, func(n string) bool { return !scratchdb.Owned(n) })
}

// startSlowLint starts `db lint` on the project's (slow) history and
// returns the process and the scratch database it created.
func (p *project) startSlowLint(server *dbconn.URL) (*exec.Cmd, string) {
	p.t.Helper()
	before := scratchNames(p.t, server)
	cmd := p.command(context.Background(), nil, "db", "lint", "--dialect", filepath.Base(p.folder()))
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range scratchNames(p.t, server) {
			if !slices.Contains(before, n) {
				time.Sleep(500 * time.Millisecond) // into the slow statement
				return cmd, n
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("db lint created no scratch database within 30 s:\n%s", out)
	return nil, ""
}

// ISSUE 10: kill -9 during a command that replays the history on a
// scratch dev database (here `db lint`, in a slow statement) leaves that
// database on the server; the next command that creates one removes it and
// says so. The scratch database of a live weberctl is never removed.
func TestE2EScratchOfKilledProcessIsRemoved(t *testing.T) {
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.env = devEnv()
		server := p.devServer()
		p.addMigration("20991231000000_slow.sql", slowSQL(p.u.Dialect, 60))

		killed, dead := p.startSlowLint(server)
		live, alive := p.startSlowLint(server)
		if err := killed.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = killed.Wait()
		p.addMigration("20991231000000_slow.sql", "SELECT 1;\n")
		// Another weberctl on the same server (a concurrent test's, another
		// package's) may remove it first, which is what must happen: then
		// it is gone, and the next lint does not name it.
		goneBefore := !slices.Contains(scratchNames(t, server), dead)
		r := p.run("db", "lint", "--dialect", filepath.Base(p.folder()))
		if r.code != 0 {
			t.Fatalf("db lint after the kill: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		names := scratchNames(t, server)
		if slices.Contains(names, dead) {
			t.Errorf("the killed weberctl's scratch database %s is still on the server after the next lint:\n%s", dead, r.stdout)
		}
		// Which weberctl removed it cannot be told when other packages'
		// tests share the server (one may remove it between the check
		// above and this lint); when this lint did, it says so.
		if want := fmt.Sprintf("removed the scratch database %s", dead); !goneBefore && !strings.Contains(r.stdout, want) {
			t.Logf("%s was removed by another weberctl on the server, not by this lint", dead)
		}
		t.Logf("after the kill (gone before: %v):\n%s", goneBefore, r.stdout)
		if !slices.Contains(names, alive) {
			t.Errorf("the scratch database %s of a live weberctl was removed", alive)
		}
		if strings.Contains(r.stdout, alive) {
			t.Errorf("db lint names the live weberctl's scratch database %s:\n%s", alive, r.stdout)
		}
		_ = live.Process.Signal(syscall.SIGKILL)
		_ = live.Wait()
		if p.u.Dialect == dialect.MySQL || p.u.Dialect == dialect.Postgres {
			if _, _, err := scratchdb.Reap(context.Background(), server); err != nil {
				t.Log(err)
			}
		}
	}, testserver.Except(testserver.SQLite, "scratch databases live on a PostgreSQL or MySQL server"))
}
