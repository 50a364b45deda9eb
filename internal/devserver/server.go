package devserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
)

// server is an installed server: its binaries and what they are.
type server struct {
	dialect string
	initdb  string // initdb, or mariadb-install-db
	daemon  string // postgres, or mariadbd
	version string // e.g. "PostgreSQL 15.14"
}

// find looks for the dialect's server binaries: PATH first, then where
// Debian's packages put them.
func find(d string) (server, error) {
	if d == MySQL {
		return findMariaDB()
	}
	return findPostgres()
}

func findPostgres() (server, error) {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(r))
		}
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versions, func(a, b string) int { return majorOf(b) - majorOf(a) }) // newest first
	dirs = append(dirs, versions...)
	for _, dir := range dirs {
		initdb, daemon := filepath.Join(dir, "initdb"), filepath.Join(dir, "postgres")
		if executable(initdb) && executable(daemon) {
			return server{dialect: Postgres, initdb: initdb, daemon: daemon, version: versionOf(daemon, "PostgreSQL")}, nil
		}
	}
	return server{}, &NotInstalledError{Dialect: Postgres, Missing: "initdb and postgres, in PATH or /usr/lib/postgresql/*/bin", Package: "postgresql"}
}

func findMariaDB() (server, error) {
	daemon := firstFound([]string{"mariadbd", "mysqld"}, []string{"/usr/sbin/mariadbd", "/usr/sbin/mysqld"})
	install := firstFound([]string{"mariadb-install-db", "mysql_install_db"}, nil)
	if daemon == "" || install == "" {
		return server{}, &NotInstalledError{Dialect: MySQL, Missing: "mariadbd and mariadb-install-db", Package: "mariadb-server"}
	}
	return server{dialect: MySQL, initdb: install, daemon: daemon, version: versionOf(daemon, "MariaDB")}, nil
}

func firstFound(names, paths []string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	for _, p := range paths {
		if executable(p) {
			return p
		}
	}
	return ""
}

func executable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// versionOf returns e.g. "PostgreSQL 15.14" from `daemon --version`.
func versionOf(daemon, product string) string {
	out, err := exec.Command(daemon, "--version").Output()
	if err != nil {
		return product
	}
	for _, f := range strings.Fields(string(out)) {
		if f != "" && f[0] >= '0' && f[0] <= '9' {
			return product + " " + strings.TrimSuffix(strings.SplitN(f, "-", 2)[0], ",")
		}
	}
	return product
}

// start initialises a data directory in a new temporary directory and
// starts the server on a free port; it returns once the server answers.
func start(ctx context.Context, opts Options, srv server) (*State, error) {
	acct, err := serviceAccount(srv.dialect)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "weber-devserver-"+srv.dialect+"-")
	if err != nil {
		return nil, err
	}
	if err := acct.own(tmp); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	st := &State{Dialect: srv.dialect, User: "weber", Password: randomPassword(), DataDir: tmp, Version: srv.version, Started: time.Now()}
	if err := initData(ctx, srv, acct, st); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 90 * time.Second
	}
	// A port taken between freePort and the server's bind fails the
	// start: try another.
	for attempt := 0; ; attempt++ {
		err = launch(ctx, srv, acct, st, timeout)
		if err == nil || attempt == 2 || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return st, nil
}

// initData runs initdb or mariadb-install-db in st.DataDir/data.
func initData(ctx context.Context, srv server, acct account, st *State) error {
	data := filepath.Join(st.DataDir, "data")
	var cmd *exec.Cmd
	if srv.dialect == Postgres {
		pwfile := filepath.Join(st.DataDir, "pwfile")
		if err := acct.writeFile(pwfile, st.Password+"\n"); err != nil {
			return err
		}
		defer os.Remove(pwfile)
		cmd = exec.CommandContext(ctx, srv.initdb, "-D", data, "-U", st.User, "--pwfile="+pwfile,
			"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
	} else {
		cmd = exec.CommandContext(ctx, srv.initdb, "--no-defaults", "--datadir="+data,
			"--auth-root-authentication-method=socket", "--skip-test-db")
	}
	cmd.Dir = st.DataDir
	acct.apply(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("starting a private %s dev server: %s failed: %w: %s", displayName(srv.dialect),
			filepath.Base(srv.initdb), err, lastLines(string(out), 3))
	}
	return nil
}

// launch starts the daemon detached and waits until it answers.
func launch(ctx context.Context, srv server, acct account, st *State, timeout time.Duration) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	st.Port = port
	args, err := daemonArgs(srv, acct, st)
	if err != nil {
		return err
	}
	logPath := filepath.Join(st.DataDir, "server.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(srv.daemon, args...)
	cmd.Dir = st.DataDir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, logf, logf
	acct.apply(cmd)
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting a private %s dev server: %w", displayName(srv.dialect), err)
	}
	st.PID = cmd.Process.Pid
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() //nolint:errcheck // the log says why
	if err := waitReady(ctx, st, exited, timeout); err != nil {
		stopServer(st)
		log, _ := os.ReadFile(logPath)
		return fmt.Errorf("starting a private %s dev server: %w; its log ends: %s", displayName(srv.dialect), err, lastLines(string(log), 3))
	}
	os.Remove(filepath.Join(st.DataDir, "init.sql"))
	return nil
}

// daemonArgs are the server's flags: 127.0.0.1 and the port, durability
// off.
func daemonArgs(srv server, acct account, st *State) ([]string, error) {
	data := filepath.Join(st.DataDir, "data")
	port := strconv.Itoa(st.Port)
	if srv.dialect == Postgres {
		return []string{"-D", data, "-c", "listen_addresses=127.0.0.1", "-c", "port=" + port,
			"-c", "unix_socket_directories=" + st.DataDir, "-c", "fsync=off", "-c", "full_page_writes=off",
			"-c", "synchronous_commit=off", "-c", "max_connections=100", "-c", "logging_collector=off",
			"-c", "log_min_messages=warning"}, nil
	}
	// The init file creates the TCP user on every start; MariaDB reads it
	// one statement per line.
	initSQL := filepath.Join(st.DataDir, "init.sql")
	grant := fmt.Sprintf("CREATE OR REPLACE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s';\nGRANT ALL PRIVILEGES ON *.* TO '%s'@'127.0.0.1' WITH GRANT OPTION;\n",
		st.User, st.Password, st.User)
	if err := acct.writeFile(initSQL, grant); err != nil {
		return nil, err
	}
	return []string{"--no-defaults", "--datadir=" + data, "--socket=" + filepath.Join(st.DataDir, "mysqld.sock"),
		"--pid-file=" + filepath.Join(st.DataDir, "mysqld.pid"), "--port=" + port, "--bind-address=127.0.0.1",
		"--skip-name-resolve", "--init-file=" + initSQL,
		"--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
		"--skip-log-bin", "--sync-binlog=0", "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
		"--innodb-flush-method=fsync", "--innodb-use-native-aio=0", "--innodb-buffer-pool-size=64M"}, nil
}

// waitReady polls the server until it answers a query, it exits, or the
// timeout passes.
func waitReady(ctx context.Context, st *State, exited <-chan struct{}, timeout time.Duration) error {
	u, err := dbconn.Parse(st.URL())
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("the server exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		db, err := dbconn.OpenServer(pctx, u)
		cancel()
		if err == nil {
			db.Close()
			return nil
		}
		last = err
	}
	return fmt.Errorf("no answer within %s (last: %v)", timeout, last)
}

// stopServer stops st's server, if it still runs, and removes its data.
func stopServer(st *State) {
	if ownProcess(st.PID, st.DataDir) {
		terminate(st.PID, st.Dialect)
	}
	if st.DataDir != "" && strings.Contains(filepath.Base(st.DataDir), "weber-devserver-") {
		os.RemoveAll(st.DataDir)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
