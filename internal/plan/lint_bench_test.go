package plan_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/testdb/histgen"
	"github.com/weber-framework/weber/internal/upgrade"
)

// lintShapes are the history shapes BenchmarkLint measures: hundreds of
// files over hundreds of tables, one squashed file with thousands of
// statements, and a bulk file of CREATE INDEX linted alone (--latest 1).
var lintShapes = []struct {
	name   string
	shape  histgen.Shape
	latest int
}{
	{"files=200,tables=400", histgen.Shape{Tables: 400, Files: 200}, 0},
	{"squashed,tables=600", histgen.Shape{Tables: 600, Files: 1}, 0},
	{"files=200,tables=400,loud", histgen.Shape{Tables: 400, Files: 200, Loud: 2}, 0},
	{"squashed,tables=600,loud", histgen.Shape{Tables: 600, Files: 1, Loud: 2}, 0},
	{"latest=1,indexes=522,tables=400", histgen.Shape{Tables: 400, Files: 20, IndexFile: 522}, 1},
}

// benchServers returns the dialects to measure with their dev server URLs:
// SQLite always, PostgreSQL and MySQL when their URLs are set.
func benchServers() map[string]string {
	out := map[string]string{plan.SQLite: ""}
	for _, d := range []string{plan.Postgres, plan.MySQL} {
		if v := os.Getenv(plan.DevURLVariable(d)); v != "" {
			out[d] = v
		}
	}
	return out
}

// BenchmarkLint measures LintFiles against upgrade.Upgrade of the same
// files on a fresh database, in the same iteration, and reports the ratio
// of their wall times (lint-x-upgrade) and each one's CPU time in this
// process. Both include creating their database, as `db lint` and `db
// upgrade` on a fresh database do.
//
//	eval "$(scripts/services.sh env)"
//	go test ./internal/plan -run '^$' -bench BenchmarkLint -benchtime 1x
func BenchmarkLint(b *testing.B) {
	servers := benchServers()
	for _, d := range []string{plan.SQLite, plan.Postgres, plan.MySQL} {
		devURL, ok := servers[d]
		if !ok {
			continue
		}
		for _, s := range lintShapes {
			dir := filepath.Join(b.TempDir(), d)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			ed := map[string]string{plan.SQLite: "sqlite3", plan.Postgres: "postgres", plan.MySQL: "mysql"}[d]
			if _, err := histgen.WriteShape(dir, ed, s.shape); err != nil {
				b.Fatal(err)
			}
			b.Run(d+"/"+s.name, func(b *testing.B) {
				var lint, up, lintCPU, upCPU time.Duration
				findings := 0
				for b.Loop() {
					start, cpu := time.Now(), processCPU()
					rep, err := plan.LintFiles(context.Background(), plan.LintOptions{Dir: dir, DevURL: devURL, Latest: s.latest})
					if err != nil {
						b.Fatal(err)
					}
					if n := len(rep.Errors()); n != 0 {
						b.Fatalf("lint found %d errors in a history without destructive changes: %v", n, rep.Errors()[0])
					}
					findings = len(rep.Findings())
					lint, lintCPU = lint+time.Since(start), lintCPU+processCPU()-cpu
					start, cpu = time.Now(), processCPU()
					benchUpgrade(b, d, devURL, dir)
					up, upCPU = up+time.Since(start), upCPU+processCPU()-cpu
				}
				b.ReportMetric(float64(lint.Milliseconds())/float64(b.N), "lint-ms/op")
				b.ReportMetric(float64(up.Milliseconds())/float64(b.N), "upgrade-ms/op")
				b.ReportMetric(float64(lint)/float64(up), "lint-x-upgrade")
				b.ReportMetric(float64(lintCPU.Milliseconds())/float64(b.N), "lint-cpu-ms/op")
				b.ReportMetric(float64(upCPU.Milliseconds())/float64(b.N), "upgrade-cpu-ms/op")
				b.ReportMetric(float64(findings), "findings")
			})
		}
	}
}

// benchUpgrade creates a fresh database (an SQLite file, or a scratch
// database on the dev server), upgrades it with dir and drops it.
func benchUpgrade(b *testing.B, d, devURL, dir string) {
	b.Helper()
	ctx := context.Background()
	u, err := dbconn.Parse("sqlite://" + filepath.Join(b.TempDir(), "up.db"))
	if d != plan.SQLite {
		u, err = dbconn.Parse(devURL)
		if err == nil {
			u = u.WithDatabase(fmt.Sprintf("weber_bench_%d", time.Now().UnixNano()))
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	if _, err := dbconn.EnsureDatabase(ctx, u); err != nil {
		b.Fatal(err)
	}
	defer dbconn.DropDatabase(context.Background(), u)
	db, err := dbconn.Open(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := upgrade.Upgrade(ctx, db, u, dir, upgrade.Options{}); err != nil {
		b.Fatal(err)
	}
}

// processCPU is the CPU time (user and system) this process has used: on
// SQLite all of the work, on a server only the client's part.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
