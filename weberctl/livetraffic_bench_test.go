package weberctl

// Benchmarks of the application's queries while its database is upgraded
// (docs/performance.md, "Under live traffic"). Each scenario runs the same
// change twice on a populated table, under the same steady traffic (package
// load): once through `weberctl db upgrade`, once through the database's
// own client (psql, mariadb), and reports the worst and 99th-percentile
// latency of the queries that overlapped each. Run:
//
//	go test ./cmd/weberctl -run '^$' -bench LiveTraffic -benchtime 1x
//
// WEBER_BENCH_ROWS (default 300000) sizes the table; WEBER_BENCH_HOLD
// (default 12s) is how long the lock-queue scenario's transaction stays open.

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/testdb/load"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// liveScenario is one change made under traffic.
type liveScenario struct {
	name string
	// weber gives the migration files db upgrade applies; client the SQL
	// the database's own client runs instead (n makes names unique).
	weber  func(dia string, n int) []string
	client func(dia string, n int) string
	// hold keeps a transaction that has read the table open while the
	// change runs; refused says db upgrade is expected to refuse the change
	// (it would rewrite the populated table) instead of running it.
	hold bool
	// refused says db upgrade is expected to refuse the change on this
	// dialect (it would rewrite or copy the populated table).
	refused func(dia string) bool
}

func never(string) bool  { return false }
func always(string) bool { return true }

var liveScenarios = []liveScenario{
	{name: "lock-queue", hold: true, refused: never,
		weber: func(_ string, n int) []string {
			return []string{fmt.Sprintf("ALTER TABLE traffic ADD COLUMN w%d int NULL;\n", n)}
		},
		client: func(_ string, n int) string { return fmt.Sprintf("ALTER TABLE traffic ADD COLUMN c%d int NULL;", n) }},
	{name: "index", refused: never,
		weber: func(dia string, n int) []string {
			if dia == dialect.MySQL {
				return []string{fmt.Sprintf("ALTER TABLE traffic ADD INDEX w%d (v), ALGORITHM=INPLACE, LOCK=NONE;\n", n)}
			}
			return []string{fmt.Sprintf("-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY w%d ON traffic (v);\n", n)}
		},
		client: func(_ string, n int) string { return fmt.Sprintf("CREATE INDEX c%d ON traffic (v);", n) }},
	{name: "check-in-two-steps", refused: func(dia string) bool { return dia == dialect.MySQL },
		weber: func(dia string, n int) []string {
			if dia == dialect.MySQL {
				return []string{fmt.Sprintf("ALTER TABLE traffic ADD CONSTRAINT w%d CHECK (v >= 0);\n", n)}
			}
			return []string{fmt.Sprintf("ALTER TABLE traffic ADD CONSTRAINT w%d CHECK (v >= 0) NOT VALID;\n", n),
				fmt.Sprintf("ALTER TABLE traffic VALIDATE CONSTRAINT w%d;\n", n)}
		},
		client: func(_ string, n int) string {
			return fmt.Sprintf("ALTER TABLE traffic ADD CONSTRAINT c%d CHECK (v >= 0);", n)
		}},
	{name: "rewrite", refused: always,
		weber: func(dia string, n int) []string {
			if dia == dialect.MySQL {
				return []string{"ALTER TABLE traffic MODIFY COLUMN v bigint NOT NULL;\n"}
			}
			return []string{"ALTER TABLE traffic ALTER COLUMN v TYPE bigint;\n"}
		},
		client: func(dia string, n int) string {
			if dia == dialect.MySQL {
				return "ALTER TABLE traffic MODIFY COLUMN v bigint NOT NULL;"
			}
			return "ALTER TABLE traffic ALTER COLUMN v TYPE bigint;"
		}},
}

func BenchmarkLiveTraffic(b *testing.B) {
	if binary == "" {
		b.Skip("-short: no binary built")
	}
	rows := envInt("WEBER_BENCH_ROWS", 300_000)
	hold := 12 * time.Second
	if v := os.Getenv("WEBER_BENCH_HOLD"); v != "" {
		hold, _ = time.ParseDuration(v)
	}
	for _, name := range []string{"postgres", "mysql"} {
		b.Run(name, func(b *testing.B) {
			backend := testserver.Lookup(b, name)
			db, u := testserver.NewEmpty(b, backend, nil)
			db.SetMaxOpenConns(32)
			raw, err := backend.URLOf(u.Database)
			if err != nil {
				b.Fatal(err)
			}
			lu := &liveURL{u: u, raw: raw}
			dir := liveProject(b, lu, db, rows)
			for _, sc := range liveScenarios {
				b.Run(sc.name, func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						w := liveRun(b, u, db, rows, hold, sc, func(n int) {
							for k, body := range sc.weber(u.Dialect, n) {
								addLiveFile(b, dir, lu, n*10+k, body)
							}
							err := weberctlIn(b, dir, lu, "db", "upgrade", "--ddl-lock-timeout", "1s")
							refused := sc.refused(u.Dialect)
							if (err != nil) != refused {
								b.Fatalf("db upgrade: %v (refusal expected: %v)", err, refused)
							}
							if refused {
								removeLiveFiles(b, dir, lu, n)
							}
						})
						c := liveRun(b, u, db, rows, hold, sc, func(n int) { runClient(b, lu, sc.client(u.Dialect, n)) })
						b.Logf("%s %s: weberctl %s; client %s", name, sc.name, w, c)
						b.ReportMetric(float64(w.Max.Milliseconds()), "weber-worst-ms")
						b.ReportMetric(float64(w.P99.Milliseconds()), "weber-p99-ms")
						b.ReportMetric(float64(c.Max.Milliseconds()), "client-worst-ms")
						b.ReportMetric(float64(c.P99.Milliseconds()), "client-p99-ms")
					}
				})
			}
		})
	}
}

var liveSeq int

// liveRun runs change under traffic (and, for a hold scenario, behind a
// transaction that has read the table, ended after hold) and returns the
// stats of the queries that overlapped the change.
func liveRun(b *testing.B, u *dbconn.URL, db *sql.DB, rows int, hold time.Duration, sc liveScenario, change func(n int)) load.Stats {
	b.Helper()
	liveSeq++
	l := load.Start(context.Background(), load.Config{DB: db, Dialect: u.Dialect, Table: "traffic", Key: "id", Column: "v", Rows: rows})
	time.Sleep(500 * time.Millisecond)
	if sc.hold {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec("SELECT COUNT(*) FROM traffic"); err != nil {
			b.Fatal(err)
		}
		timer := time.AfterFunc(hold, func() { _ = tx.Commit() })
		defer timer.Stop()
	}
	start := time.Now()
	change(liveSeq)
	end := time.Now()
	time.Sleep(300 * time.Millisecond)
	return load.Window(l.Stop(), start, end)
}

// liveURL is the benchmark's database: parsed, and raw (password
// included) for the child processes.
type liveURL struct {
	u   *dbconn.URL
	raw string
}

// liveProject creates the traffic table through a first migration file and
// fills it inside the server.
func liveProject(b *testing.B, lu *liveURL, db *sql.DB, rows int) string {
	u := lu.u
	b.Helper()
	dir := b.TempDir()
	addLiveFile(b, dir, lu, 0, "CREATE TABLE traffic (id bigint NOT NULL, v int NOT NULL, PRIMARY KEY (id));\n")
	if err := weberctlIn(b, dir, lu, "db", "upgrade"); err != nil {
		b.Fatal(err)
	}
	fill := fmt.Sprintf("INSERT INTO traffic (id, v) SELECT g, 0 FROM generate_series(1, %d) AS g", rows)
	if u.Dialect == dialect.MySQL {
		fill = fmt.Sprintf("INSERT INTO traffic (id, v) SELECT seq, 0 FROM seq_1_to_%d", rows)
	}
	if _, err := db.Exec(fill); err != nil {
		b.Fatal(err)
	}
	if u.Dialect == dialect.Postgres {
		_, _ = db.Exec("VACUUM ANALYZE traffic")
	}
	return dir
}

func addLiveFile(b *testing.B, dir string, lu *liveURL, n int, body string) {
	b.Helper()
	folder, _ := migdir.Folder(lu.u.Dialect)
	path := filepath.Join(dir, "migrations", folder)
	if err := os.MkdirAll(path, 0o755); err != nil {
		b.Fatal(err)
	}
	name := fmt.Sprintf("%014d_change_%d.sql", 20260101000000+n, n)
	if err := os.WriteFile(filepath.Join(path, name), []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := weberctlIn(b, dir, lu, "db", "hash", "--dialect", folder); err != nil {
		b.Fatal(err)
	}
}

// removeLiveFiles takes back the files of a refused change.
func removeLiveFiles(b *testing.B, dir string, lu *liveURL, n int) {
	b.Helper()
	folder, _ := migdir.Folder(lu.u.Dialect)
	matches, _ := filepath.Glob(filepath.Join(dir, "migrations", folder, fmt.Sprintf("*_change_%d*.sql", n*10)))
	for _, m := range matches {
		os.Remove(m)
	}
	if err := weberctlIn(b, dir, lu, "db", "hash", "--dialect", folder); err != nil {
		b.Fatal(err)
	}
}

// weberctlIn runs weberctl in the project dir on the benchmark's database,
// with the dev servers of the environment for its pre-flight.
func weberctlIn(b *testing.B, dir string, lu *liveURL, args ...string) error {
	b.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv([]string{"WEBER_DATABASE_URL=" + lu.raw,
		"WEBER_DEV_POSTGRES_URL=" + os.Getenv("WEBER_DEV_POSTGRES_URL"), "WEBER_DEV_MYSQL_URL=" + os.Getenv("WEBER_DEV_MYSQL_URL")})
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("weberctl %v: %v: %s", args, err, out)
	}
	return nil
}

// runClient runs sql with the database's own command-line client.
func runClient(b *testing.B, lu *liveURL, query string) {
	b.Helper()
	u := lu.u
	raw, err := url.Parse(lu.raw)
	if err != nil {
		b.Fatal(err)
	}
	var cmd *exec.Cmd
	if u.Dialect == dialect.Postgres {
		cmd = exec.Command("psql", "-X", "-v", "ON_ERROR_STOP=1", "-q", "-c", query, lu.raw)
	} else {
		pw, _ := raw.User.Password()
		cmd = exec.Command("mariadb", "-h", raw.Hostname(), "-P", raw.Port(), "-u", raw.User.Username(), u.Database, "-e", query)
		cmd.Env = append(os.Environ(), "MYSQL_PWD="+pw)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", cmd.Args[0], err, out)
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
