package weberctl

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"entgo.io/ent/dialect"
	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/dbconn"
)

func dbConsoleCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "console",
		Usage:     "open the database's own client (sqlite3, psql, mariadb) on the database URL",
		UsageText: "weberctl db console [options] [-- CLIENT ARGUMENTS]",
		Description: `Starts the database's own command-line client on the configured database:
sqlite3 for SQLite, psql for PostgreSQL, mariadb (or mysql) for MySQL and
MariaDB. It reads from the terminal, or runs what standard input holds.

The password travels in the client's environment (PGPASSWORD, MYSQL_PWD),
never on its command line, where ` + "`ps`" + ` would show it. Arguments after
-- go to the client as they are. When the client is not installed, the
error names the Debian package that has it (sqlite3, postgresql-client,
mariadb-client).

Example:
   weberctl db console
   echo 'select count(*) from users;' | weberctl db console
   weberctl db console --database-url postgres://app@db.internal/app -- -c 'select 1'`,
		Flags: withGlobal(),
		Action: func(c *cli.Context) error {
			_, u, err := e.target(c)
			if err != nil {
				return err
			}
			if u.Dialect == dialect.SQLite && !u.Memory {
				if _, err := os.Stat(u.Database); err != nil {
					return fmt.Errorf("no SQLite database at %s: run `weberctl db ensure` (development) or `weberctl db upgrade` to create it", u.Database)
				}
			}
			client, err := u.Client(c.Args().Slice()...)
			if err != nil {
				return err
			}
			return e.runClient(c, client)
		},
	}
}

// runClient runs the client on the process's own terminal and waits for it.
// While it runs, Ctrl-C belongs to the client (psql cancels its query);
// SIGTERM is passed on to it.
func (e *env) runClient(c *cli.Context, client *dbconn.Client) error {
	path, err := lookClient(client)
	if err != nil {
		return err
	}
	cmd := exec.Command(path, client.Args...)
	cmd.Env = append(os.Environ(), client.Env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, rawWriter(e.stdout), rawWriter(e.stderr)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", client.Programs[0], err)
	}
	// The terminal sends Ctrl-C to the client and to us: the client's is
	// the one that counts.
	signal.Ignore(os.Interrupt)
	defer signal.Reset(os.Interrupt)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-c.Context.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
		case <-done:
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("%s exited with status %d", client.Programs[0], ee.ExitCode())
	}
	return err
}

// lookClient finds the client's program on PATH, or says which package to
// install.
func lookClient(client *dbconn.Client) (string, error) {
	for _, name := range client.Programs {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s is not installed (not found on PATH): install it, e.g. `apt-get install %s`, then run `weberctl db console` again", client.Programs[0], client.Package)
}

// rawWriter returns the file under a scrubbing writer, so that the client
// sees the terminal itself (psql prompts and pages only on a terminal).
func rawWriter(w io.Writer) io.Writer {
	if s, ok := w.(*scrubWriter); ok {
		if f, ok := s.w.(*os.File); ok {
			return f
		}
	}
	return w
}
