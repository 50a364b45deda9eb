package upgrade

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// benchFiles returns n small migration files: a table, an index and a row
// each, the shape of a typical revision.
func benchFiles(n int) []file {
	files := make([]file, n)
	for i := range files {
		files[i] = file{
			name: fmt.Sprintf("%04d_step.sql", i+1),
			body: fmt.Sprintf("CREATE TABLE t%d (id int NOT NULL, name varchar(50) NOT NULL, created_at varchar(32), PRIMARY KEY (id));\n"+
				"CREATE INDEX t%d_name ON t%d (name);\n"+
				"INSERT INTO t%d (id, name) VALUES (1, 'x');\n", i, i, i, i),
		}
	}
	return files
}

// allSQL concatenates the files, as the command-line clients get them;
// with perFileTx each file is wrapped in BEGIN/COMMIT and the database is
// switched to WAL first: the same transactions and journal Weber uses.
func allSQL(t testing.TB, files []file, perFileTx bool) string {
	var b strings.Builder
	if perFileTx {
		b.WriteString("PRAGMA journal_mode = WAL;\n")
	}
	for _, f := range files {
		if perFileTx {
			b.WriteString("BEGIN;\n")
		}
		b.WriteString(f.body)
		if perFileTx {
			b.WriteString("COMMIT;\n")
		}
	}
	p := filepath.Join(t.TempDir(), "all.sql")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// BenchmarkUpgrade50 measures `db upgrade` of 50 small files on a fresh
// database against the same SQL run by the database's own command-line
// client, interleaved in each iteration so that both see the same machine
// load. Reported: weber-ms/op, client-ms/op and x-client (the ratio).
// Targets: at most 1.6x `sqlite3 file < all.sql` and 1.8x `psql -1 -f`.
func BenchmarkUpgrade50(b *testing.B) {
	files := benchFiles(50)
	b.Run("sqlite", func(b *testing.B) {
		if _, err := exec.LookPath("sqlite3"); err != nil {
			b.Skip("sqlite3 client not installed")
		}
		dir := benchDir(b, "sqlite3", files)
		all, allTx := allSQL(b, files, false), allSQL(b, files, true)
		tmp := b.TempDir()
		var weber, client, clientTx time.Duration
		ctx := context.Background()
		for i := 0; b.Loop(); i++ {
			path := filepath.Join(tmp, fmt.Sprintf("w%d.db", i))
			start := time.Now()
			u, err := dbconn.Parse("sqlite://" + path)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := dbconn.EnsureDatabase(ctx, u); err != nil {
				b.Fatal(err)
			}
			db, err := dbconn.Open(ctx, u)
			if err != nil {
				b.Fatal(err)
			}
			res, err := Upgrade(ctx, db, u, dir, Options{})
			if err != nil || len(res.Files) != 50 {
				b.Fatalf("upgrade: %v", err)
			}
			db.Close()
			weber += time.Since(start)

			client += runSQLite3(b, filepath.Join(tmp, fmt.Sprintf("c%d.db", i)), all)
			clientTx += runSQLite3(b, filepath.Join(tmp, fmt.Sprintf("t%d.db", i)), allTx)
		}
		report(b, weber, client)
		b.ReportMetric(float64(clientTx.Milliseconds())/float64(b.N), "client-tx-ms/op")
		b.ReportMetric(float64(weber)/float64(clientTx), "x-client-tx")
	})
	b.Run("postgres", func(b *testing.B) {
		pg := testserver.Lookup(b, "postgres")
		raw := pg.URL
		if _, err := exec.LookPath("psql"); err != nil {
			b.Skip("psql not installed")
		}
		dir := benchDir(b, "postgres", files)
		all := allSQL(b, files, false)
		ctx := context.Background()
		fresh := func() *dbconn.URL {
			u := testserver.NewURL(b, pg, nil)
			if _, err := dbconn.EnsureDatabase(ctx, u); err != nil {
				b.Fatal(err)
			}
			return u
		}
		var weber, client time.Duration
		for b.Loop() {
			b.StopTimer()
			wu, cu := fresh(), fresh()
			b.StartTimer()
			start := time.Now()
			db, err := dbconn.Open(ctx, wu)
			if err != nil {
				b.Fatal(err)
			}
			res, err := Upgrade(ctx, db, wu, dir, Options{})
			if err != nil || len(res.Files) != 50 {
				b.Fatalf("upgrade: %v", err)
			}
			db.Close()
			weber += time.Since(start)

			cmd := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", all, psqlURL(raw, cu.Database))
			start = time.Now()
			out, err := cmd.CombinedOutput()
			client += time.Since(start)
			if err != nil {
				b.Fatalf("psql: %v: %s", err, out)
			}
		}
		report(b, weber, client)
	})
}

// psqlURL points the raw test URL at another database.
func psqlURL(raw, database string) string {
	i := strings.LastIndex(raw, "/")
	q := ""
	if j := strings.Index(raw[i:], "?"); j >= 0 {
		q = raw[i+j:]
	}
	return raw[:i+1] + database + q
}

func benchDir(b *testing.B, dia string, files []file) string {
	b.Helper()
	folder, _ := migdir.Folder(dia)
	path := filepath.Join(b.TempDir(), folder)
	if err := os.MkdirAll(path, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(path, f.name), []byte(f.body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := migdir.Rehash(path); err != nil {
		b.Fatal(err)
	}
	return path
}

func report(b *testing.B, weber, client time.Duration) {
	n := float64(b.N)
	b.ReportMetric(float64(weber.Milliseconds())/n, "weber-ms/op")
	b.ReportMetric(float64(client.Milliseconds())/n, "client-ms/op")
	if client > 0 {
		b.ReportMetric(float64(weber)/float64(client), "x-client")
	}
}

// runSQLite3 feeds the script to `sqlite3 db` in one process and returns
// how long the process took.
func runSQLite3(b *testing.B, db, script string) time.Duration {
	b.Helper()
	in, err := os.Open(script)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	cmd := exec.Command("sqlite3", "-bail", db)
	cmd.Stdin = in
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("sqlite3: %v: %s", err, out)
	}
	return d
}

// BenchmarkUpgradeScaling upgrades fresh SQLite databases with histories of
// growing length; us/file staying flat shows the cost is linear in the
// number of files (the pinned Atlas executor's grows with it).
func BenchmarkUpgradeScaling(b *testing.B) {
	for _, n := range []int{50, 200, 1000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			dir := benchDir(b, "sqlite3", benchFiles(n))
			tmp := b.TempDir()
			ctx := context.Background()
			var total time.Duration
			for i := 0; b.Loop(); i++ {
				u, err := dbconn.Parse("sqlite://" + filepath.Join(tmp, fmt.Sprintf("s%d.db", i)))
				if err != nil {
					b.Fatal(err)
				}
				dbconn.EnsureDatabase(ctx, u)
				db, err := dbconn.Open(ctx, u)
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				res, err := Upgrade(ctx, db, u, dir, Options{})
				total += time.Since(start)
				if err != nil || len(res.Files) != n {
					b.Fatalf("upgrade: %v", err)
				}
				db.Close()
			}
			b.ReportMetric(float64(total.Microseconds())/float64(b.N)/float64(n), "us/file")
		})
	}
}
