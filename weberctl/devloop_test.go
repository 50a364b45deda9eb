package weberctl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// The repository's history: the first file, and the one after it.
const (
	devloopFirst  = "20261127014341"
	devloopSecond = "20261206112152_add_user_name_parts.sql"
	// devloopAfter counts the files pending after devloopFirst: the
	// second, then the example app's three data migrations.
	devloopAfter = 4
	// devloopAdopted is what `db ensure` says when the database already
	// has the second file's changes: it records that file and runs the
	// three data migrations, whose changes to rows no schema shows.
	devloopAdopted = "Recorded 1 file as applied: the database already had their changes (made by db ensure):\n  " + devloopSecond + "\n" +
		"Ran 3 data migrations among the pending files (changes to rows, which ensure cannot make from the models):\n" +
		"  20261206112500_split_user_names.sql\n  20261206114428_empty_bios_to_null.sql\n  20261206125757_publish_dated_drafts.sql\n"
)

// serveOnce starts `weberctl serve`, checks that it serves, stops it and
// returns what it printed.
func serveOnce(t *testing.T, p *project) string {
	t.Helper()
	s := p.serve()
	if s.base == "" {
		t.Fatalf("serve exited early\nstdout: %s\nstderr: %s", s.stdout, s.stderr)
	}
	if code, body := httpDo(t, "GET", s.base+"/readyz", ""); code != 200 {
		t.Errorf("/readyz: %d %s", code, body)
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("serve exited %d after SIGTERM\nstdout: %s\nstderr: %s", code, s.stdout, s.stderr)
	}
	return s.stdout.String()
}

// On the embedded default, a database at an older revision (a teammate's
// file was pulled since) gets the new file applied by `serve`, not its
// columns added from the models; a later `db upgrade` has nothing to do.
func TestE2EServeAppliesPulledFile(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "upgrade", "--to", devloopFirst)
		out := serveOnce(t, p)
		if !strings.Contains(out, fmt.Sprintf("Applied the migration history (%d files)", devloopAfter)) || !strings.Contains(out, devloopSecond) {
			t.Errorf("serve did not say it applied %s:\n%s", devloopSecond, out)
		}
		if strings.Contains(out, "Added column") {
			t.Errorf("serve added columns from the models instead of applying the file:\n%s", out)
		}
		if n := p.historyLen(); n != 2+devloopAfter {
			t.Errorf("history after serve: %d revisions, want %d", n, 2+devloopAfter)
		}
		if r := p.must("db", "upgrade"); !strings.Contains(r.stdout, "Nothing to do") {
			t.Errorf("db upgrade after serve:\n%s", r.stdout)
		}
	}, testserver.Except(testserver.Postgres, "serve brings only the embedded default (SQLite) up to date"), testserver.Except(testserver.MySQL, "serve brings only the embedded default (SQLite) up to date"))
}

// The other half of the loop: the database already has the file's changes
// (here made by running the file's SQL by hand, as `db ensure` makes them
// from the models before the revision is written); `db ensure` records the
// file as applied without running it, runs the data migrations after it,
// and says so.
func TestE2EEnsureRecordsFileAlreadyInEffect(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "upgrade", "--to", devloopFirst)
		sqlText, err := os.ReadFile(filepath.Join(p.folder(), devloopSecond))
		if err != nil {
			t.Fatal(err)
		}
		db := p.open()
		if _, err := db.ExecContext(t.Context(), string(sqlText)); err != nil {
			t.Fatalf("running %s by hand: %v", devloopSecond, err)
		}
		r := p.must("db", "ensure")
		if !strings.Contains(r.stdout, devloopAdopted) {
			t.Errorf("db ensure on a database that has the file's changes:\n%s", r.stdout)
		}
		if n := p.historyLen(); n != 2+devloopAfter {
			t.Errorf("history after ensure: %d revisions, want %d", n, 2+devloopAfter)
		}
		if r := p.must("db", "upgrade"); !strings.Contains(r.stdout, "Nothing to do") {
			t.Errorf("db upgrade after ensure:\n%s", r.stdout)
		}
	}, testserver.Except(testserver.Postgres, "the other backends are covered by internal/devdb"), testserver.Except(testserver.MySQL, "the other backends are covered by internal/devdb"))
}
