package weberctl

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/lockwait"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// Scenario "Lock queue", through the binary: another session holds a long
// transaction that has read users; `db upgrade` adds a column. The ALTER
// gives up its lock wait after --ddl-lock-timeout, says so on stderr naming
// the session, retries, and completes by itself once that transaction ends.
func TestE2EUpgradeWaitsOutALongTransaction(t *testing.T) {
	t.Parallel()
	forEachE2EPooled(t, func(t *testing.T, p *project) {
		p.must("db", "ensure") // creates the database and applies the history
		db := p.open()
		ctx := t.Context()
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if p.u.Dialect == dialect.Postgres {
			if _, err := conn.ExecContext(ctx, "SET application_name = 'nightly-report'"); err != nil {
				t.Fatal(err)
			}
		}
		id, err := lockwait.SessionID(ctx, conn, p.u.Dialect)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "SELECT COUNT(*) FROM users"); err != nil {
			t.Fatal(err)
		}
		p.addMigration("99990101000000_add_x.sql", "ALTER TABLE users ADD COLUMN x int;\n")

		cmd := p.command(context.Background(), nil, "db", "upgrade", "--ddl-lock-timeout", "200ms", "--ddl-retry-for", "2m")
		stdout, stderr := &syncBuffer{}, &syncBuffer{}
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		want := fmt.Sprintf("held by session %d", id)
		deadline := time.After(30 * time.Second)
	wait:
		for {
			select {
			case err := <-exited:
				t.Fatalf("db upgrade exited (%v) while the transaction was open\nstdout: %s\nstderr: %s", err, stdout, stderr)
			case <-deadline:
				_ = cmd.Process.Kill()
				t.Fatalf("no report naming the blocking session within 30s\nstdout: %s\nstderr: %s", stdout, stderr)
			case <-time.After(50 * time.Millisecond):
				if strings.Contains(stderr.String(), want) {
					break wait
				}
			}
		}
		if p.u.Dialect == dialect.Postgres && !strings.Contains(stderr.String(), `app "nightly-report"`) {
			t.Errorf("the report lacks the blocker's application name:\n%s", stderr)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("db upgrade failed after the transaction ended: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
			}
		case <-time.After(2 * time.Minute):
			_ = cmd.Process.Kill()
			t.Fatal("db upgrade did not finish after the transaction ended")
		}
		if n := p.count(db, "SELECT COUNT(x) FROM users"); n != 0 {
			t.Errorf("COUNT(x) = %d on a new column", n)
		}
		if strings.Contains(stdout.String()+stderr.String(), "weber:weber@") {
			t.Error("the output shows a password")
		}
	}, testserver.Except(testserver.SQLite, "readers never block a schema change (no table lock queue)"))
}

// Scenarios "Table rewrites and scans" and "MySQL online DDL", through the
// binary: a pending statement that blocks writes on a populated table is
// refused before anything runs, with one line naming the statement, the
// table's size and the way out; --allow-blocking-ddl runs it.
func TestE2EBlockingDDLOnAPopulatedTable(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		stmt := "CREATE INDEX users_bio ON users (bio);\n"
		switch p.u.Dialect {
		case dialect.MySQL:
			stmt = "ALTER TABLE users ADD COLUMN x int NULL, ALGORITHM=COPY;\n"
		}
		p.must("db", "ensure")
		db := p.open()
		p.insertUsers(db, 150)
		had := p.historyLen()
		p.addMigration("99990101000000_blocking.sql", stmt)

		r := p.run("db", "upgrade", "--blocking-ddl-max-rows", "100")
		if r.code == 0 {
			t.Fatalf("db upgrade ran a blocking statement on 150 rows:\n%s", r.stdout)
		}
		line := strings.TrimSpace(r.stderr)
		for _, want := range []string{"99990101000000_blocking.sql, statement 1 (line 1)", "users holds more than 100 rows", "--allow-blocking-ddl"} {
			if !strings.Contains(line, want) {
				t.Errorf("the refusal lacks %q:\n%s", want, line)
			}
		}
		if strings.Count(line, "\n") > 0 {
			t.Errorf("the refusal is not one line:\n%s", line)
		}
		if n := p.historyLen(); n != had {
			t.Errorf("history has %d revisions after the refusal, want the %d it had", n, had)
		}
		p.must("db", "upgrade", "--blocking-ddl-max-rows", "100", "--allow-blocking-ddl")
		if n := p.historyLen(); n != had+1 {
			t.Errorf("history has %d revisions after --allow-blocking-ddl, want %d", n, had+1)
		}
	}, testserver.Except(testserver.SQLite, "no concurrent writers wait on a schema change's table lock"))
}

// Scenario "Batched backfill", through the binary: kill -9 in the middle of
// a batched statement; the next upgrade resumes after the last committed
// batch, and every row is changed exactly once.
func TestE2EBatchedBackfillSurvivesKill9(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		seed, slow := "", ""
		switch p.u.Dialect {
		case dialect.Postgres:
			seed = "INSERT INTO backfill (id, n) SELECT g, 0 FROM generate_series(1, 400) AS g;\n"
			slow = "pg_sleep(0.002) IS NOT NULL"
		case dialect.MySQL:
			seed = "INSERT INTO backfill (id, n) SELECT seq, 0 FROM seq_1_to_400;\n"
			slow = "SLEEP(0.002) = 0"
		}
		p.must("db", "ensure")
		p.addMigration("99990101000000_backfill_table.sql", "CREATE TABLE backfill (id int NOT NULL, n int NOT NULL, PRIMARY KEY (id));\n"+seed)
		p.must("db", "upgrade")
		p.addMigration("99990102000000_backfill.sql", "-- atlas:txmode none\n\n-- weber:batch backfill.id 10\n"+
			"UPDATE backfill SET n = n + 1 WHERE id BETWEEN {lo} AND {hi} AND "+slow+";\n")

		cmd := p.command(context.Background(), nil, "db", "upgrade")
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		db := p.open()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if p.count(db, "SELECT COUNT(*) FROM backfill WHERE n = 1") >= 50 {
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("no batch committed within 30s:\n%s", out)
			}
		}
		_ = cmd.Process.Kill() // SIGKILL: no clean-up of any kind
		_ = cmd.Wait()
		done := p.count(db, "SELECT COUNT(*) FROM backfill WHERE n = 1")
		if done >= 400 {
			t.Fatalf("the backfill finished before the kill (%d rows): slow the batches down", done)
		}
		status := p.must("db", "status").stdout
		if !strings.Contains(status, "done through key") {
			t.Errorf("db status does not show the batch progress:\n%s", status)
		}
		p.must("db", "upgrade")
		if n := p.count(db, "SELECT COUNT(*) FROM backfill WHERE n = 1"); n != 400 {
			t.Errorf("%d of 400 rows changed exactly once after the resume (killed at %d)", n, done)
		}
		if n := p.count(db, "SELECT COUNT(*) FROM backfill WHERE n > 1"); n != 0 {
			t.Errorf("%d rows were changed twice", n)
		}
	}, testserver.Except(testserver.SQLite, "no server-side sleep to slow the batches down; the resume is tested in internal/upgrade"))
}

// Scenario "Index on a populated table", through the binary: a concurrent
// index build interrupted by SIGINT while it waits for an older
// transaction leaves an INVALID index; db status names it, and the next
// db upgrade, with no flag, drops it and builds it again.
func TestE2EInterruptedConcurrentBuildIsRebuilt(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "ensure")
		db := p.open()
		p.insertUsers(db, 20)
		holder, err := db.BeginTx(t.Context(), &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Rollback()
		if _, err := holder.Exec("SELECT COUNT(*) FROM tags"); err != nil {
			t.Fatal(err)
		}
		p.addMigration("99990101000000_bio_index.sql", "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY users_bio ON users (bio);\n")
		up := p.start(nil, "db", "upgrade")
		for deadline := time.Now().Add(30 * time.Second); p.count(db, "SELECT COUNT(*) FROM pg_class WHERE relname = 'users_bio'") == 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the build did not start:\n%s%s", up.out, up.errb)
			}
		}
		msg := up.stop(t, syscall.SIGINT)
		if !strings.Contains(msg, "concurrent index build") {
			t.Errorf("the interrupted upgrade does not say what it left: %q", msg)
		}
		for deadline := time.Now().Add(30 * time.Second); p.count(db, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND state = 'active'") > 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the cancelled build still runs after 30s")
			}
		}
		if err := holder.Commit(); err != nil {
			t.Fatal(err)
		}
		if n := p.count(db, "SELECT COUNT(*) FROM pg_index WHERE NOT indisvalid"); n != 1 {
			t.Fatalf("%d INVALID indexes after the interruption, want the one the build left", n)
		}
		if status := p.run("db", "status").stdout; !strings.Contains(status, "INVALID index users_bio") {
			t.Errorf("db status does not name the INVALID index:\n%s", status)
		}
		out := p.must("db", "upgrade").stdout
		if !strings.Contains(out, "dropped the INVALID index users_bio") {
			t.Errorf("db upgrade does not say it rebuilt the index:\n%s", out)
		}
		if n := p.count(db, "SELECT COUNT(*) FROM pg_index WHERE NOT indisvalid"); n != 0 {
			t.Errorf("%d INVALID indexes after the upgrade", n)
		}
		if n := p.count(db, "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'users_bio'"); n != 1 {
			t.Errorf("users_bio exists %d times after the upgrade, want once", n)
		}
	}, testserver.Except(testserver.SQLite, "CREATE INDEX CONCURRENTLY is PostgreSQL's"), testserver.Except(testserver.MySQL, "CREATE INDEX CONCURRENTLY is PostgreSQL's"))
}
