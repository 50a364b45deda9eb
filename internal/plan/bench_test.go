package plan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ariga.io/atlas/sql/migrate"
	entsql "entgo.io/ent/dialect/sql"
	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	entmigrate "github.com/weber-framework/weber/ent/migrate"
)

// benchTable is the ent table that the generated history's k-th table
// file creates; withNote adds the column its next file adds.
func benchTable(k int, withNote bool) *entschema.Table {
	cols := []*entschema.Column{
		{Name: "id", Type: field.TypeInt, Increment: true},
		{Name: "name", Type: field.TypeString},
	}
	if withNote {
		cols = append(cols, &entschema.Column{Name: "note", Type: field.TypeString, Nullable: true})
	}
	return &entschema.Table{Name: fmt.Sprintf("bench_%04d", k), Columns: cols, PrimaryKey: cols[:1]}
}

// benchTables is the models matching a generated history of n files.
func benchTables(tb testing.TB, n int) []*entschema.Table {
	tb.Helper()
	tables, err := entschema.CopyTables(modelsSource())
	if err != nil {
		tb.Fatal(err)
	}
	for i := 1; i < n; i += 2 {
		k := (i + 1) / 2
		tables = append(tables, benchTable(k, i+1 < n))
	}
	return tables
}

// planSQL plans tables on a fresh SQLite dev database after running setup,
// and returns the file content.
func planSQL(tb testing.TB, setup []string, tables []*entschema.Table) string {
	tb.Helper()
	ctx := context.Background()
	db, cleanup, err := OpenScratch(ctx, SQLite, "")
	if err != nil {
		tb.Fatal(err)
	}
	defer cleanup()
	for _, s := range setup {
		if _, err := db.ExecContext(ctx, s); err != nil {
			tb.Fatal(err)
		}
	}
	p, err := Models(ctx, db, SQLite, tables, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return string(p.Content)
}

// writeBenchHistory writes an SQLite history of n files into dir: the
// project's initial models, then files that alternately create a table and
// add a column to it, with atlas.sum. It returns the files.
func writeBenchHistory(tb testing.TB, dir string, n int) []migrate.File {
	tb.Helper()
	return writeHistory(tb, dir, n, 0)
}

// fixedTables is the table count of the fixed-tables history shape.
const fixedTables = 20

// fixedShape maps file i (> 0) of a fixed-tables history to the table it
// touches and whether it creates it (else it adds column c_<i>).
func fixedShape(i int) (k int, create bool) {
	if i <= fixedTables {
		return i, true
	}
	return (i-fixedTables-1)%fixedTables + 1, false
}

// fixedTablesModels is the models matching a fixed-tables history of n files.
func fixedTablesModels(tb testing.TB, n int) []*entschema.Table {
	tb.Helper()
	tables, err := entschema.CopyTables(modelsSource())
	if err != nil {
		tb.Fatal(err)
	}
	bench := map[int]*entschema.Table{}
	for i := 1; i < n; i++ {
		k, create := fixedShape(i)
		if create {
			bench[k] = benchTable(k, false)
			tables = append(tables, bench[k])
			continue
		}
		bench[k].Columns = append(bench[k].Columns, &entschema.Column{Name: fmt.Sprintf("c_%04d", i), Type: field.TypeString, Nullable: true})
	}
	return tables
}

// writeHistory writes a history of n files. With fixed = 0 the files
// alternately create a table and add a column to it; with fixed > 0 the
// first files create fixedTables tables and the rest add one column each
// to them in turn.
func writeHistory(tb testing.TB, dir string, n, fixed int) []migrate.File {
	tb.Helper()
	initial := planSQL(tb, nil, modelsSource())
	create := planSQL(tb, nil, []*entschema.Table{benchTable(0, false)})
	addNote := planSQL(tb, strings.Split(strings.TrimSpace(create), ";\n"), []*entschema.Table{benchTable(0, true)})
	if !strings.Contains(create, "CREATE TABLE") || !strings.Contains(addNote, "ADD COLUMN") {
		tb.Fatalf("unexpected templates:\n%s\n%s", create, addNote)
	}
	ld, err := migrate.NewLocalDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	files := make([]migrate.File, 0, n)
	for i := 0; i < n; i++ {
		body := initial
		switch {
		case i > 0 && fixed > 0:
			k, isCreate := fixedShape(i)
			tmpl := create
			if !isCreate {
				tmpl = strings.ReplaceAll(addNote, "`note`", fmt.Sprintf("`c_%04d`", i))
			}
			body = strings.ReplaceAll(tmpl, "bench_0000", fmt.Sprintf("bench_%04d", k))
		case i > 0:
			k := (i + 1) / 2
			tmpl := create
			if i%2 == 0 {
				tmpl = addNote
			}
			body = strings.ReplaceAll(tmpl, "bench_0000", fmt.Sprintf("bench_%04d", k))
		}
		name := fmt.Sprintf("%s_step%d.sql", base.Add(time.Duration(i)*time.Minute).Format(versionFormat), i)
		if err := ld.WriteFile(name, []byte(body)); err != nil {
			tb.Fatal(err)
		}
		files = append(files, migrate.NewLocalFile(name, []byte(body)))
	}
	sum, err := migrate.NewHashFile(files)
	if err != nil {
		tb.Fatal(err)
	}
	if err := migrate.WriteSumFile(ld, sum); err != nil {
		tb.Fatal(err)
	}
	return files
}

// BenchmarkRevise measures `db revision` on SQLite over generated
// histories, with nothing to write (the CI check case), against the same
// planning done the way ent does it: Atlas's Executor replaying the folder
// (schema.WithMigrationMode(schema.ModeReplay)). Besides ns/op it reports
// cpu-ms/op, the process's CPU time per operation, which other load on the
// machine disturbs less than wall time. The Atlas baseline at 1,000 files
// is slow; it runs only with WEBER_BENCH_ATLAS_1000=1.
//
//	go test ./internal/plan -run '^$' -bench BenchmarkRevise
func BenchmarkRevise(b *testing.B) {
	for _, n := range []int{10, 200, 1000} {
		root := b.TempDir()
		dir := filepath.Join(root, SQLite)
		if err := mkdir(dir); err != nil {
			b.Fatal(err)
		}
		writeBenchHistory(b, dir, n)
		tables := benchTables(b, n)
		b.Run(fmt.Sprintf("files=%d/weber", n), func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				res, err := Revise(context.Background(), ReviseOptions{Root: root, Dialects: []string{SQLite}, Tables: tables})
				if err != nil || res.Written {
					b.Fatalf("Revise: written=%v err=%v", res != nil && res.Written, err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
		b.Run(fmt.Sprintf("files=%d/atlas-executor", n), func(b *testing.B) {
			if n > 200 && os.Getenv("WEBER_BENCH_ATLAS_1000") == "" {
				b.Skip("Atlas's quadratic replay at this size takes tens of seconds: set WEBER_BENCH_ATLAS_1000=1 to run it")
			}
			cpu := cpuTime()
			for b.Loop() {
				atlasReplayPlan(b, dir, tables)
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkReviseFixedTables is BenchmarkRevise over histories that keep
// 20 tables and add one column per file: SQLite re-reads its whole schema
// on every ALTER TABLE, so this shape shows the growth in the number of
// files alone, without the growth in the number of tables.
func BenchmarkReviseFixedTables(b *testing.B) {
	for _, n := range []int{200, 1000} {
		root := b.TempDir()
		dir := filepath.Join(root, SQLite)
		if err := mkdir(dir); err != nil {
			b.Fatal(err)
		}
		writeHistory(b, dir, n, fixedTables)
		tables := fixedTablesModels(b, n)
		b.Run(fmt.Sprintf("files=%d/weber", n), func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				res, err := Revise(context.Background(), ReviseOptions{Root: root, Dialects: []string{SQLite}, Tables: tables})
				if err != nil || res.Written {
					b.Fatalf("Revise: written=%v err=%v", res != nil && res.Written, err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// atlasReplayPlan is ent's versioned planning: replay the folder with
// Atlas's Executor on a fresh dev database, diff with the models.
func atlasReplayPlan(tb testing.TB, dir string, tables []*entschema.Table) {
	tb.Helper()
	ctx := context.Background()
	db, cleanup, err := OpenScratch(ctx, SQLite, "")
	if err != nil {
		tb.Fatal(err)
	}
	defer cleanup()
	ld, err := migrate.NewLocalDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	copies, err := entschema.CopyTables(tables)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := entschema.NewMigrate(entsql.OpenDB("sqlite3", db),
		entschema.WithDir(ld),
		entschema.WithMigrationMode(entschema.ModeReplay),
		entschema.WithFormatter(migrate.DefaultFormatter),
		entschema.WithErrNoPlan(true),
	)
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.NamedDiff(ctx, "change", copies...); err != migrate.ErrNoPlan {
		tb.Fatalf("ent's replay planning: %v (want no plan)", err)
	}
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }

// modelsSource is the project's models (read-only: callers copy).
func modelsSource() []*entschema.Table { return entmigrate.Tables }
