package weberctl

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// writeUnchecked writes a migration file and re-hashes atlas.sum with
// Atlas's library, not with `weberctl db hash` (which refuses the file
// too): the refusal must come from the command that would run it.
func (p *project) writeUnchecked(name, content string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.folder(), name), []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
	ld, err := migrate.NewLocalDir(p.folder())
	if err != nil {
		p.t.Fatal(err)
	}
	sum, err := ld.Checksum()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := migrate.WriteSumFile(ld, sum); err != nil {
		p.t.Fatal(err)
	}
}

// Scenario "Transaction control in a file" through the binary: a file with its own BEGIN/COMMIT is
// refused by every command that would run it, before anything runs, naming
// the line; with `-- weber:as-written` it runs as written and a failure
// inside its own transaction is recorded truthfully.
func TestE2ETransactionControlInFile(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "ensure")
		before := p.historyLen()
		own := "BEGIN;\nALTER TABLE users ADD COLUMN nickname varchar(40);\nCOMMIT;\nINSERT INTO missing VALUES (1);\n"
		p.writeUnchecked("20991231000000_own_tx.sql", own)

		for _, args := range [][]string{{"db", "upgrade"}, {"db", "hash"}, {"db", "upgrade", "--dry-run"}} {
			r := p.run(args...)
			if r.code != 1 || !strings.Contains(r.stderr, "20991231000000_own_tx.sql: line 1: `BEGIN`") || !strings.Contains(r.stderr, "-- weber:as-written") {
				t.Errorf("weberctl %s: exit %d, stderr %q; want the refusal naming line 1", strings.Join(args, " "), r.code, r.stderr)
			}
			assertOneErrorLine(t, r.stderr)
		}
		st := p.run("db", "status", "--skip-models")
		if !strings.Contains(st.stdout+st.stderr, "line 1: `BEGIN`") {
			t.Errorf("db status does not name the line:\nstdout: %s\nstderr: %s", st.stdout, st.stderr)
		}
		if p.u.Dialect == dialect.SQLite || len(devEnv()) > 0 {
			// db check and db lint replay the history on a dev database.
			for _, args := range [][]string{{"db", "check"}, {"db", "lint"}, {"db", "revision"}} {
				// Only this dialect's folder holds the file; the others would
				// need dev servers that a machine with only Go lacks.
				args = append(args, "--dialect", filepath.Base(p.folder()))
				r := p.runEnv(devEnv(), args...)
				if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "line 1: `BEGIN`") {
					t.Errorf("weberctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
				}
			}
		}
		db := p.open()
		if p.historyLen() != before || columnExists(t, db, "users", "nickname") {
			t.Fatal("something of the refused file ran")
		}

		// The way out named by the message: run the file as written.
		p.addMigration("20991231000000_own_tx.sql", "-- weber:as-written\n\n"+own)
		r := p.run("db", "upgrade")
		if r.code != 1 || !strings.Contains(r.stderr, "statement 4 (line 6)") || !strings.Contains(r.stderr, "statements 1-3 persist and are recorded (applied 3 of 4)") {
			t.Fatalf("upgrade of the as-written file: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		if !columnExists(t, db, "users", "nickname") {
			t.Error("the committed transaction of the file did not persist")
		}
		var status struct {
			History struct {
				Partial *struct {
					Applied int `json:"applied"`
					Total   int `json:"total"`
				} `json:"partial"`
			} `json:"history"`
		}
		js := p.run("db", "status", "--json", "--skip-models")
		if err := json.Unmarshal([]byte(js.stdout), &status); err != nil {
			t.Fatalf("status --json: %v\n%s", err, js.stdout)
		}
		if status.History.Partial == nil || status.History.Partial.Applied != 3 || status.History.Partial.Total != 4 {
			t.Errorf("status after the failure does not say applied 3 of 4:\n%s", js.stdout)
		}
		p.addMigration("20991231000000_own_tx.sql", "-- weber:as-written\n\n"+strings.Replace(own, "INSERT INTO missing VALUES (1)", "UPDATE users SET nickname = name", 1))
		p.must("db", "upgrade")
		final := p.runEnv(devEnv(), "db", "status", "--skip-models")
		if !strings.Contains(final.stdout, "no change made by hand") || !strings.Contains(final.stdout, "up to date") {
			t.Errorf("status calls the file's column a change made by hand:\n%s", final.stdout)
		}
	})
}

// columnExists reports whether table has column.
func columnExists(t *testing.T, db *sql.DB, table, column string) bool {
	t.Helper()
	_, err := db.ExecContext(t.Context(), "SELECT "+column+" FROM "+table+" WHERE 1 = 0")
	return err == nil
}

// Issue 10 items 5 and 12 through the binary: a FIFO in the folder used to
// hang `db hash` and `db upgrade` forever, a symbolic link to /etc/passwd
// was read as a migration, a .down.sql file ran forward and a misplaced or
// misspelt directive did nothing. All are refused at once, naming the entry
// (and the line).
func TestE2ESpecialFilesInFolder(t *testing.T) {
	t.Parallel()
	skipShort(t)
	type folderCase struct {
		make func(t *testing.T, folder string)
		want string
	}
	cases := map[string]folderCase{
		"fifo": {func(t *testing.T, folder string) {
			if err := syscall.Mkfifo(filepath.Join(folder, "20991231000000_pipe.sql"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "20991231000000_pipe.sql: is a named pipe (FIFO), not a regular file"},
		"symlink out": {func(t *testing.T, folder string) {
			if err := os.Symlink("/etc/passwd", filepath.Join(folder, "20991231000000_passwd.sql")); err != nil {
				t.Fatal(err)
			}
		}, "20991231000000_passwd.sql: is a symbolic link to /etc/passwd, outside the migration folder"},
	}
	// Issue 10 item 12: names and directives Weber does not understand.
	write := func(name, body string) func(t *testing.T, folder string) {
		return func(t *testing.T, folder string) {
			if err := os.WriteFile(filepath.Join(folder, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases["down file"] = folderCase{write("20991231000000_x.down.sql", "DROP TABLE users;\n"), "20991231000000_x.down.sql: is a down migration"}
	cases["header directive without blank line"] = folderCase{write("20991231000000_x.sql", "-- atlas:txmode none\nCREATE TABLE x (id integer);\n"), "20991231000000_x.sql: line 1: `-- atlas:txmode` would be ignored here"}
	cases["unknown directive"] = folderCase{write("20991231000000_x.sql", "CREATE TABLE x (id integer);\n-- weber:tuoches x.id\nUPDATE x SET id = 1;\n"), "20991231000000_x.sql: line 2: unknown directive `-- weber:tuoches x.id`"}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newProject(t, e2eBackendOf(testserver.Lookup(t, testserver.SQLite))) // SQLite: the folder, not the engine, is under test
			tc.make(t, p.folder())
			for _, args := range [][]string{{"db", "hash"}, {"db", "upgrade"}, {"db", "status", "--skip-models"}} {
				r := p.run(args...)                          // runEnv bounds each run with a generous timeout
				failed := r.code != 0 || args[1] == "status" // status reports the refusal
				if !failed || !strings.Contains(r.stdout+r.stderr, tc.want) {
					t.Errorf("weberctl %s: exit %d\nstdout: %s\nstderr: %s\nwant %q", strings.Join(args, " "), r.code, r.stdout, r.stderr, tc.want)
				}
			}
		})
	}
}

// Issue 10 item 5: a long operation stops on SIGTERM and on SIGINT. An
// upgrade whose statement sleeps is signalled once it started; weberctl
// exits with an error that says it was interrupted, the file is not
// recorded as applied, and the next upgrade is not blocked.
func TestE2EUpgradeStopsOnSignal(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			skipShort(t)
			testserver.Each(t, func(t *testing.T, b testserver.Backend) {
				p := newProject(t, e2eBackendOf(b))
				p.must("db", "ensure")
				before := p.historyLen()
				p.addMigration("20991231000000_slow.sql", slowSQL(p.u.Dialect, 600))
				up := p.start(nil, "db", "upgrade")
				for !strings.Contains(up.out.String(), "20991231000000_slow.sql (") {
					if up.ctx.Err() != nil {
						t.Fatalf("the slow file never started:\n%s%s", up.out, up.errb)
					}
					time.Sleep(20 * time.Millisecond)
				}
				time.Sleep(300 * time.Millisecond) // inside the slow statement
				if msg := up.stop(t, sig); !strings.Contains(msg, "interrupted") {
					t.Errorf("stderr does not say the upgrade was interrupted: %q", msg)
				}
				if p.u.Dialect != dialect.MySQL {
					// The file ran in its transaction: nothing is recorded.
					if n := p.historyLen(); n != before {
						t.Errorf("history has %d revisions after the interrupted file, want %d", n, before)
					}
				}
				p.addMigration("20991231000000_slow.sql", "CREATE TABLE after_signal (id integer NOT NULL PRIMARY KEY);\n")
				r := p.run("db", "upgrade", "--lock-timeout", "10s")
				if p.u.Dialect == dialect.MySQL && r.code != 0 && strings.Contains(r.stderr, "--retry") {
					r = p.run("db", "upgrade", "--retry", "--lock-timeout", "10s")
				}
				if r.code != 0 {
					t.Fatalf("upgrade after the signal: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
				}
			})
		})
	}
}

// started is a weberctl process started in the background.
type started struct {
	cmd       *exec.Cmd
	out, errb *syncBuffer
	ctx       context.Context
}

// start starts weberctl; the process is killed when the test's generous
// bound runs out (a hang, not a speed target).
func (p *project) start(env []string, args ...string) *started {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.t.Context(), 2*time.Minute)
	p.t.Cleanup(cancel)
	s := &started{cmd: p.command(ctx, env, args...), out: &syncBuffer{}, errb: &syncBuffer{}, ctx: ctx}
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.errb
	if err := s.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	return s
}

// stop signals the process and waits for it; it fails the test unless the
// process exits by itself with the interrupted status (130) and a one-line
// error.
func (s *started) stop(t *testing.T, sig syscall.Signal) string {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := s.cmd.Wait()
	if s.ctx.Err() != nil {
		t.Fatalf("weberctl %v did not stop on %s:\n%s%s", s.cmd.Args[1:], sig, s.out, s.errb)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("weberctl %v exited with %v after %s; want exit status %d\n%s", s.cmd.Args[1:], err, sig, exitInterrupted, s.errb)
	}
	assertOneErrorLine(t, withoutNotices(s.errb.String()))
	return s.errb.String()
}

// withoutNotices drops from stderr the lines that report progress rather
// than an error: the notice of a lock wait, blocked DDL retries, batches.
func withoutNotices(stderr string) string {
	var keep []string
	for _, l := range strings.SplitAfter(stderr, "\n") {
		if strings.HasPrefix(l, "Waiting up to ") || strings.HasPrefix(strings.TrimSpace(l), "waiting: ") ||
			strings.HasPrefix(strings.TrimSpace(l), "batches: ") || strings.TrimSpace(l) == "" && l != "" {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "")
}

// Issue 10 item 5: the other long operations stop on SIGTERM too: an
// upgrade waiting for the lock another upgrade holds, and `db lint`
// replaying a slow history on a dev database.
func TestE2EWaitsAndReplaysStopOnSignal(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "ensure")
		p.addMigration("20991231000000_slow.sql", slowSQL(p.u.Dialect, 600))
		holder := p.start(nil, "db", "upgrade")
		for !strings.Contains(holder.out.String(), "20991231000000_slow.sql (") {
			if holder.ctx.Err() != nil {
				t.Fatalf("the slow file never started:\n%s%s", holder.out, holder.errb)
			}
			time.Sleep(20 * time.Millisecond)
		}
		waiter := p.start(nil, "db", "upgrade", "--lock-timeout", "10m")
		time.Sleep(time.Second) // let it reach the lock wait
		if msg := waiter.stop(t, syscall.SIGTERM); !strings.Contains(msg, "lock") && !strings.Contains(msg, "interrupted") && !strings.Contains(msg, "canceled") {
			t.Errorf("the waiting upgrade does not say why it stopped: %q", msg)
		}
		holder.stop(t, syscall.SIGTERM)

		if p.u.Dialect != dialect.SQLite && len(devEnv()) == 0 {
			return
		}
		lint := p.start(devEnv(), "db", "lint", "--dialect", filepath.Base(p.folder()))
		time.Sleep(time.Second) // let it reach the slow file's replay
		if msg := lint.stop(t, syscall.SIGTERM); !strings.HasPrefix(msg, "weberctl: interrupted") {
			t.Errorf("db lint does not say it was interrupted: %q\n%s", msg, lint.out)
		}
	})
}

// A file run as written, stopped by SIGTERM inside its own transaction: the
// transaction is rolled back, the message says what persists, and the next
// upgrade resumes at the file's BEGIN.
func TestE2EAsWrittenInterruptedInsideItsTransaction(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.must("db", "ensure")
		body := func(middle string) string {
			return "-- weber:as-written\n\nCREATE TABLE before_tx (id integer NOT NULL PRIMARY KEY);\nBEGIN;\nINSERT INTO before_tx VALUES (1);\n" + middle + "COMMIT;\n"
		}
		p.addMigration("20991231000000_slow_tx.sql", body(slowSQL(p.u.Dialect, 600)))
		up := p.start(nil, "db", "upgrade")
		for !strings.Contains(up.out.String(), "20991231000000_slow_tx.sql (") {
			if up.ctx.Err() != nil {
				t.Fatalf("the file never started:\n%s%s", up.out, up.errb)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // inside the slow statement
		msg := up.stop(t, syscall.SIGTERM)
		t.Logf("stderr: %s", msg)
		if !strings.Contains(msg, "own transaction (from statement 2, line 4) was rolled back") || !strings.Contains(msg, "statements 1-1 persist") {
			t.Errorf("the message does not say what persists: %q", msg)
		}
		db := p.open()
		if n := p.count(db, "SELECT COUNT(*) FROM before_tx"); n != 0 {
			t.Errorf("before_tx has %d rows: the file's transaction was not rolled back", n)
		}
		p.addMigration("20991231000000_slow_tx.sql", body("INSERT INTO before_tx VALUES (2);\n"))
		p.must("db", "upgrade")
		if n := p.count(db, "SELECT COUNT(*) FROM before_tx"); n != 2 {
			t.Errorf("before_tx has %d rows after the resumed upgrade, want 2", n)
		}
	})
}
