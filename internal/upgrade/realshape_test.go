package upgrade_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/liveschema"
	"github.com/weber-framework/weber/internal/testdb/histgen"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"github.com/weber-framework/weber/internal/upgrade"
)

// ISSUE 9: histories shaped like real applications' (hundreds of files
// over hundreds of tables; one squashed file with thousands of
// statements), upgraded by Weber, build the same schema as the database's
// own client running each file in order: psql on PostgreSQL when it is
// installed, else plain database/sql, one statement at a time.
func TestRealShapedHistoriesMatchTheClient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the real-shaped histories take seconds per backend")
	}
	shapes := map[string]histgen.Shape{
		"files=150,tables=250": {Tables: 250, Files: 150},
		"squashed,tables=400":  {Tables: 400, Files: 1},
	}
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		for name, shape := range shapes {
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				dbA, uA := testserver.NewEmpty(t, b, nil)
				dbB, uB := testserver.NewEmpty(t, b, nil)
				dir := filepath.Join(t.TempDir(), b.Name)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				files, err := histgen.WriteShape(dir, uA.Dialect, shape)
				if err != nil {
					t.Fatal(err)
				}
				if n := len(shape.Statements(uA.Dialect)); len(files) < 100 && n < 1000 {
					t.Fatalf("the shape has %d files and %d statements: want hundreds of files or a thousand statements", len(files), n)
				}
				res, err := upgrade.Upgrade(ctx, dbA, uA, dir, upgrade.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Files) != len(files) {
					t.Fatalf("upgrade applied %d files, want %d", len(res.Files), len(files))
				}
				runWithClient(t, b, dbB, uB, dir, files)
				assertSameSchema(t, uA.Dialect, dbA, dbB)
			})
		}
	})
}

// runWithClient applies the files to db with the database's own client.
func runWithClient(t *testing.T, b testserver.Backend, db *sql.DB, u *dbconn.URL, dir string, files []string) {
	t.Helper()
	if u.Dialect == dialect.Postgres {
		if _, err := exec.LookPath("psql"); err == nil {
			raw, err := b.URLOf(u.Database)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				out, err := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", filepath.Join(dir, f), raw).CombinedOutput()
				if err != nil {
					t.Fatalf("psql -f %s: %v\n%s", f, err, out)
				}
			}
			return
		}
	}
	for _, f := range files {
		body, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range strings.SplitAfter(string(body), ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := db.Exec(stmt); err != nil {
				t.Fatalf("%s: %s: %v", f, stmt, err)
			}
		}
	}
}

// assertSameSchema compares the two databases' schemas (Weber's own
// tables aside) with Atlas's diff.
func assertSameSchema(t *testing.T, dia string, a, b *sql.DB) {
	t.Helper()
	ctx := context.Background()
	sa, err := liveschema.Inspect(ctx, a, dia)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := liveschema.Inspect(ctx, b, dia)
	if err != nil {
		t.Fatal(err)
	}
	drv, err := liveschema.Driver(a, dia)
	if err != nil {
		t.Fatal(err)
	}
	sb.Name = sa.Name
	changes, err := drv.SchemaDiff(sa, sb)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) > 0 || len(sa.Tables) != len(sb.Tables) {
		t.Errorf("the upgraded schema (%d tables) differs from the client's (%d tables) by %d changes, the first: %T %+v",
			len(sa.Tables), len(sb.Tables), len(changes), changes[0], changes[0])
	}
}
