package upgrade

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/lockwait"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// holder is another session with a transaction open that has read table t:
// what makes an ALTER queue for its lock, and the application behind it.
type holder struct {
	conn *sql.Conn
	tx   *sql.Tx
	id   int64
}

func holdTable(t *testing.T, d *tdb, table string) *holder {
	t.Helper()
	ctx := context.Background()
	conn, err := d.open(t).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if d.dia() == dialect.Postgres {
		if _, err := conn.ExecContext(ctx, "SET application_name = 'long-report'"); err != nil {
			t.Fatal(err)
		}
	}
	id, err := lockwait.SessionID(ctx, conn, d.dia())
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	rows, err := tx.QueryContext(ctx, "SELECT id FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	return &holder{conn: conn, tx: tx, id: id}
}

func (h *holder) named(bs []lockwait.Blocker) bool {
	return slices.ContainsFunc(bs, func(b lockwait.Blocker) bool { return b.ID == h.id })
}

func ddlDir(t *testing.T, d *tdb, second file) string {
	return writeDir(t, d.dia(),
		file{"1_t.sql", "CREATE TABLE t (id int NOT NULL, PRIMARY KEY (id));\nINSERT INTO t (id) VALUES (1), (2), (3);\n"},
		second)
}

// Scenario "Lock queue": the ALTER gives up its wait after the DDL lock
// timeout, rolls back and retries, naming the session that holds the
// table; when that session's transaction ends, the upgrade completes by
// itself.
func TestDDLGivesUpItsLockWaitAndRetries(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := ddlDir(t, d, file{"2_x.sql", "ALTER TABLE t ADD COLUMN x int;\n"})
		mustUpgrade(t, d, dir, Options{To: "1"})
		h := holdTable(t, d, "t")

		events := make(chan LockWaitEvent, 100)
		done := make(chan error, 1)
		go func() {
			_, err := Upgrade(context.Background(), d.db, d.u, dir, Options{
				DDL:        lockwait.Policy{Timeout: 200 * time.Millisecond, Budget: time.Minute},
				OnLockWait: func(ev LockWaitEvent) { events <- ev },
			})
			done <- err
		}()
		var ev LockWaitEvent
		select {
		case ev = <-events:
		case err := <-done:
			t.Fatalf("the upgrade ended (%v) while another transaction held the table", err)
		case <-time.After(30 * time.Second):
			t.Fatal("no lock-wait report within 30s: the ALTER is queued behind the transaction")
		}
		if ev.File != "2_x.sql" || ev.Stmt != 1 || ev.Try != 1 {
			t.Errorf("first report = %+v, want 2_x.sql statement 1, try 1", ev)
		}
		// The watcher looks while the statement waits; on a busy machine a
		// try may end before it answered, so any of the first reports may be
		// the one that names the holder (later ones repeat it).
		for i := 0; i < 5 && !h.named(ev.Blockers); i++ {
			ev = <-events
		}
		if !h.named(ev.Blockers) {
			t.Errorf("the report names %q, not the session %d that holds the table", lockwait.Describe(ev.Blockers), h.id)
		}
		if d.dia() == dialect.Postgres && !strings.Contains(lockwait.Describe(ev.Blockers), `app "long-report"`) {
			t.Errorf("the report lacks the blocker's application name: %s", lockwait.Describe(ev.Blockers))
		}
		if err := h.tx.Commit(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("after the transaction ended the upgrade failed: %v", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("the upgrade did not complete after the transaction ended")
		}
		var n int
		if err := d.db.QueryRow("SELECT COUNT(x) + COUNT(*) FROM t").Scan(&n); err != nil || n != 3 {
			t.Errorf("t after the upgrade: %d rows, %v; want column x and 3 rows", n, err)
		}
	}, testserver.Except(testserver.SQLite, "one writer at a time: no lock queue behind a DDL"))
}

// After its retry budget the upgrade stops with one error naming the
// blocker, and nothing of the file is applied; the next upgrade, once the
// table is free, applies it.
func TestDDLLockWaitBudgetRunsOut(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := ddlDir(t, d, file{"2_x.sql", "ALTER TABLE t ADD COLUMN x int;\nALTER TABLE t ADD COLUMN y int;\n"})
		mustUpgrade(t, d, dir, Options{To: "1"})
		h := holdTable(t, d, "t")
		// The deadline turns a lock wait without bound into a failure, not a hang.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := Upgrade(ctx, d.db, d.u, dir, Options{DDL: lockwait.Policy{Timeout: 300 * time.Millisecond, Budget: 3 * time.Second}})
		var lw *LockWaitError
		if !errors.As(err, &lw) {
			t.Fatalf("upgrade = %v, want a *LockWaitError", err)
		}
		type gaveUp struct {
			File                  string
			Stmt, Applied         int
			SeveralTries, Blocker bool
		}
		if diff := cmp.Diff(gaveUp{"2_x.sql", 1, 0, true, true}, gaveUp{lw.File, lw.Stmt, lw.Applied, lw.Tries >= 2, h.named(lw.Blockers)}); diff != "" {
			t.Errorf("error %+v: want blocker %d named (-want +got):\n%s", lw, h.id, diff)
		}
		msg := err.Error()
		for _, want := range []string{"2_x.sql", "statement 1 (line 1)", "waiting for a lock held by session", "--ddl-retry-for"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message lacks %q: %s", want, msg)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("message is not one line: %q", msg)
		}
		if err := h.tx.Commit(); err != nil {
			t.Fatal(err)
		}
		schema := "current_schema()"
		if d.dia() == dialect.MySQL {
			schema = "DATABASE()"
		}
		var cols int
		if err := d.db.QueryRow("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = " + schema + " AND table_name = 't' AND column_name IN ('x', 'y')").Scan(&cols); err != nil || cols != 0 {
			t.Fatalf("after giving up, %d of the file's columns exist (%v); want none", cols, err)
		}
		res := mustUpgrade(t, d, dir, Options{DDL: lockwait.Policy{Timeout: 100 * time.Millisecond}})
		if res.After != "2" {
			t.Errorf("the next upgrade ended at %q, want 2", res.After)
		}
	}, testserver.Except(testserver.SQLite, "one writer at a time: no lock queue behind a DDL"))
}

// CREATE INDEX CONCURRENTLY waits for older transactions by design without
// blocking writes: it is exempt from the short lock wait, so it waits for
// the holder instead of giving up.
func TestConcurrentIndexIsExemptFromTheLockWait(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := ddlDir(t, d, file{"2_ix.sql", "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY t_id_ix ON t (id);\n"})
		mustUpgrade(t, d, dir, Options{To: "1"})
		h := holdTable(t, d, "t")
		var events []LockWaitEvent
		done := make(chan error, 1)
		go func() {
			_, err := Upgrade(context.Background(), d.db, d.u, dir, Options{
				DDL:        lockwait.Policy{Timeout: 100 * time.Millisecond, Budget: 300 * time.Millisecond},
				OnLockWait: func(ev LockWaitEvent) { events = append(events, ev) },
			})
			done <- err
		}()
		// Longer than the budget: a statement under the short lock wait
		// would have given up by now.
		select {
		case err := <-done:
			t.Fatalf("the concurrent build ended (%v) while an older transaction was open; it should wait for it", err)
		case <-time.After(1500 * time.Millisecond):
		}
		if err := h.tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		if len(events) > 0 {
			t.Errorf("the concurrent build reported lock waits: %+v", events)
		}
		var valid bool
		if err := d.db.QueryRow("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id_ix'::regclass").Scan(&valid); err != nil || !valid {
			t.Errorf("index t_id_ix: valid=%v, %v", valid, err)
		}
	}, testserver.Except(testserver.SQLite, "CREATE INDEX CONCURRENTLY is PostgreSQL's"), testserver.Except(testserver.MySQL, "CREATE INDEX CONCURRENTLY is PostgreSQL's"))
}

// A downgrade's statements wait for table locks as briefly as an
// upgrade's: behind a transaction that holds the table, it gives up after
// its budget instead of queueing the application behind it.
func TestDowngradeGivesUpItsLockWait(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b.Name)
		dir := ddlDir(t, d, file{"2_x.sql", "ALTER TABLE t ADD COLUMN x int NULL;\n"})
		mustUpgrade(t, d, dir, Options{})
		h := holdTable(t, d, "t")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		opts := DowngradeOptions{DDL: lockwait.Policy{Timeout: 100 * time.Millisecond, Budget: 800 * time.Millisecond}}
		opts.DevURL = devURL(d)
		_, err := Downgrade(ctx, d.db, d.u, dir, opts)
		if err == nil || !strings.Contains(err.Error(), "waiting for a lock") || ctx.Err() != nil {
			t.Fatalf("downgrade behind an open transaction = %v (deadline: %v); want it to give up its lock wait", err, ctx.Err())
		}
		if err := h.tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := Downgrade(context.Background(), d.db, d.u, dir, opts); err != nil {
			t.Fatalf("downgrade once the table is free: %v", err)
		}
	}, testserver.Except(testserver.SQLite, "one writer at a time: no lock queue behind a DDL"))
}
