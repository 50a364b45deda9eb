package importhist_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/importhist"
	"github.com/weber-framework/weber/internal/liveschema"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"github.com/weber-framework/weber/internal/upgrade"
)

var foreignTools = []string{"golang-migrate", "goose", "dbmate"}

// forEachTool runs fn for each tool, a parallel subtest named after it,
// on every backend (testserver.Each: "golang-migrate/postgres").
func forEachTool(t *testing.T, fn func(t *testing.T, tool string, b testserver.Backend)) {
	t.Helper()
	for _, tool := range foreignTools {
		t.Run(tool, func(t *testing.T) {
			t.Parallel()
			testserver.Each(t, func(t *testing.T, b testserver.Backend) { fn(t, tool, b) })
		})
	}
}

// importInto reads the tool's history and imports it into a fresh
// migrations/<folder> folder, returning the folder.
func importInto(t *testing.T, tool, folder, src string) (string, *importhist.ImportResult) {
	t.Helper()
	dia, err := liveschema.Dialect(folder)
	must(t, err)
	tl, err := importhist.ParseTool(tool)
	must(t, err)
	s, err := importhist.Read(tl, src, dia)
	must(t, err)
	dir := filepath.Join(t.TempDir(), "migrations", folder)
	res, err := importhist.Import(s, dir, dia)
	must(t, err)
	return dir, res
}

func tablesToSkip() []string {
	return append(revstore.Tables(), "schema_migrations", "goose_db_version")
}

// TestImportedHistoryUpgradesLikeTheTool: the imported history, upgraded
// by Weber on an empty database, gives the schema the tool's own way of
// applying the source files gives.
func TestImportedHistoryUpgradesLikeTheTool(t *testing.T) {
	forEachTool(t, func(t *testing.T, tool string, b testserver.Backend) {
		ctx := context.Background()
		steps := history(b.Name)
		dir, res := importInto(t, tool, b.Name, writeHistory(t, tool, steps))
		if len(res.Files) != len(steps) {
			t.Fatalf("imported %d files, want %d", len(res.Files), len(steps))
		}
		weber, wu := testserver.NewEmpty(t, b, nil)
		up, err := upgrade.Upgrade(ctx, weber, wu, dir, upgrade.Options{})
		must(t, err)
		if len(up.Files) != len(steps) {
			t.Fatalf("upgrade applied %d files, want %d", len(up.Files), len(steps))
		}
		own, ou := testserver.NewEmpty(t, b, nil)
		applyAsTool(t, clientDB(t, b, ou), b.Name, tool, steps, len(steps))
		got, want := dumpSchema(t, weber, b.Name, tablesToSkip()...), dumpSchema(t, own, b.Name, tablesToSkip()...)
		if got != want {
			t.Fatalf("schema after `db upgrade` of the imported history differs from %s's:\n--- weber\n%s\n--- %s\n%s", tool, got, tool, want)
		}
		if !strings.Contains(got, "posts_touch") || !strings.Contains(got, "posts_title") {
			t.Fatalf("the schema lacks the trigger or the index: the comparison proves nothing:\n%s", got)
		}
	})
}

// TestTakeOverRecordsWhatTheToolApplied: on a database where the tool
// applied the first three files, the take-over records exactly those, and
// `db upgrade` then applies only the other two, ending with the schema of
// the whole history applied by the tool.
func TestTakeOverRecordsWhatTheToolApplied(t *testing.T) {
	forEachTool(t, func(t *testing.T, tool string, b testserver.Backend) {
		ctx := context.Background()
		steps := history(b.Name)
		const n = 3
		dir, _ := importInto(t, tool, b.Name, writeHistory(t, tool, steps))
		db, u := testserver.NewEmpty(t, b, nil)
		applyAsTool(t, clientDB(t, b, u), b.Name, tool, steps, n)

		d, err := migdir.OpenDialect(dir, u.Dialect)
		must(t, err)
		tl, _ := importhist.ParseTool(tool)
		res, err := importhist.TakeOver(ctx, db, u, d, importhist.TakeOverOptions{Tool: tl, Operator: "weber test"})
		must(t, err)
		if len(res.Recorded) != n || res.Recorded[n-1] != d.Files[n-1].Name {
			t.Fatalf("recorded %v, want the first %d files of %s", res.Recorded, n, dir)
		}
		if len(res.Pending) != len(steps)-n || len(res.Behind) != 0 {
			t.Fatalf("pending %v behind %v, want the last %d files and none behind", res.Pending, res.Behind, len(steps)-n)
		}
		again, err := importhist.TakeOver(ctx, db, u, d, importhist.TakeOverOptions{Tool: tl})
		must(t, err)
		if !again.AlreadyRecorded || len(again.Recorded) != 0 {
			t.Fatalf("a second take-over recorded %v (already recorded: %v), want nothing", again.Recorded, again.AlreadyRecorded)
		}

		up, err := upgrade.Upgrade(ctx, db, u, dir, upgrade.Options{})
		must(t, err)
		var ran []string
		for _, f := range up.Files {
			ran = append(ran, f.Name)
		}
		if strings.Join(ran, ",") != strings.Join(res.Pending, ",") {
			t.Fatalf("upgrade after the take-over ran %v, want only %v", ran, res.Pending)
		}
		own, ou := testserver.NewEmpty(t, b, nil)
		applyAsTool(t, clientDB(t, b, ou), b.Name, tool, steps, len(steps))
		got, want := dumpSchema(t, db, b.Name, tablesToSkip()...), dumpSchema(t, own, b.Name, tablesToSkip()...)
		if got != want {
			t.Fatalf("schema after take-over and upgrade differs from %s applying every file:\n--- weber\n%s\n--- %s\n%s", tool, got, tool, want)
		}
		ok, err := dbconn.TableExists(ctx, db, u.Dialect, tl.VersionTable())
		must(t, err)
		if !ok {
			t.Fatalf("the take-over dropped %s; it must leave it", tl.VersionTable())
		}
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return string(b)
}
