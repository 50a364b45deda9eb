package weberctl

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/config"
	"github.com/weber-framework/weber/internal/devserver"
	"github.com/weber-framework/weber/internal/plan"
)

// devServers is what a command did with private dev servers: the leases
// it holds until it ends, and why a dialect got none.
type devServers struct {
	leases []*devserver.Lease
	// hints add to the "no dev database" advice, by dialect.
	hints map[string]string
}

// release ends every lease: the servers' idle time counts from now.
func (s *devServers) release() {
	for _, l := range s.leases {
		_ = l.Release()
	}
	s.leases = nil
}

// devServerURLs returns the dev servers for dialects: --dev-url, the
// --dev-*-url flags and WEBER_DEV_*_URL first; for a server dialect that
// has none, a private dev server that weberctl starts (or reuses) when the
// server's binaries are installed (see `weberctl devserver --help`).
func (e *env) devServerURLs(c *cli.Context, cfg config.Config, dialects []string) (map[string]string, error) {
	dev := devURLs(c, cfg)
	if v := c.String("dev-url"); v != "" && len(dialects) == 1 {
		dev[dialects[0]] = v
	}
	for _, d := range dialects {
		if d == plan.SQLite || strings.TrimSpace(dev[d]) != "" {
			continue
		}
		url, err := e.privateDevServer(c, d)
		if err != nil {
			return nil, err
		}
		if url != "" {
			dev[d] = url
		}
	}
	return dev, nil
}

// privateDevServer starts or reuses the private dev server of dialect d;
// "" when WEBER_DEVSERVER=off or the binaries are missing (the advice then
// says what to install).
func (e *env) privateDevServer(c *cli.Context, d string) (string, error) {
	if d != devserver.Postgres && d != devserver.MySQL || devServerOff(e.getenv("WEBER_DEVSERVER")) {
		return "", nil
	}
	opts, err := e.devServerOptions(d)
	if err != nil || opts.Watchdog == nil {
		return "", err
	}
	l, err := devserver.Acquire(c.Context, opts)
	var missing *devserver.NotInstalledError
	if errors.As(err, &missing) {
		if e.devServers.hints == nil {
			e.devServers.hints = map[string]string{}
		}
		e.devServers.hints[d] = "; or install the server (Debian: apt-get install " + missing.Package + ") and weberctl starts a private one itself"
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%w (or set %s to a server of your own, or WEBER_DEVSERVER=off)", err, plan.DevURLVariable(d))
	}
	e.devServers.leases = append(e.devServers.leases, l)
	if l.Started && e.progress {
		fmt.Fprintf(e.stderr, "weberctl: started a private %s dev server on %s (it stops after %s unused; `weberctl devserver stop` stops it now)\n",
			l.State.Version, l.State.Address(), human(opts.Idle))
	}
	return l.URL(), nil
}

// devHint is the advice to add for dialect d's missing dev server.
func (e *env) devHint(d string) string { return e.devServers.hints[d] }

func devServerOff(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "off", "0", "false", "no":
		return true
	}
	return false
}

// devServerOptions reads WEBER_DEVSERVER_DIR and WEBER_DEVSERVER_IDLE.
func (e *env) devServerOptions(d string) (devserver.Options, error) {
	opts := devserver.Options{Dialect: d, Dir: e.getenv("WEBER_DEVSERVER_DIR"), Idle: devserver.DefaultIdle}
	if v := strings.TrimSpace(e.getenv("WEBER_DEVSERVER_IDLE")); v != "" {
		idle, err := time.ParseDuration(v)
		if err != nil || idle <= 0 {
			return opts, usagef("WEBER_DEVSERVER_IDLE=%s: give a positive duration, e.g. 10m or 30s", v)
		}
		opts.Idle = idle
	}
	exe, err := os.Executable()
	if err != nil {
		return opts, fmt.Errorf("finding weberctl to watch the dev server: %w", err)
	}
	if strings.HasSuffix(exe, ".test") {
		// In-process tests: the watchdog would be the test binary, so no
		// private server (the tests of private dev servers run weberctl).
		return opts, nil
	}
	opts.Watchdog = func(stateDir string, idle time.Duration) *exec.Cmd {
		return exec.Command(exe, "devserver", "watch", "--state-dir", stateDir, "--idle", idle.String())
	}
	return opts, nil
}

func devserverCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "devserver",
		Usage:     "show or stop the private PostgreSQL and MariaDB dev servers weberctl started",
		UsageText: "weberctl devserver status|stop",
		Description: `When db revision, check, lint, status or verify need a PostgreSQL or MySQL
dev server and none is set (WEBER_DEV_POSTGRES_URL / WEBER_DEV_MYSQL_URL or
the --dev-*-url flags), weberctl starts a private one itself, if the server
is installed (Debian: apt-get install postgresql, mariadb-server): its data
in a temporary directory, on a free port of 127.0.0.1, durability off, run
as you (as root: as the postgres or mysql user). Commands share it while it
runs; it stops by itself, and its data is removed, once no command has used
it for 10 minutes.

Environment: WEBER_DEVSERVER=off never starts one; WEBER_DEVSERVER_IDLE
(e.g. 30m) sets the idle time; WEBER_DEVSERVER_DIR holds its state
(default: the user cache directory's weber/devserver).

Examples:
   weberctl devserver status
   weberctl devserver stop`,
		Flags: withGlobal(),
		Subcommands: []*cli.Command{
			devserverStatusCommand(e),
			devserverStopCommand(e),
			devserverWatchCommand(e),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowSubcommandHelp(c)
			}
			return unknownCommand("weberctl devserver", c.Args().First(), c.Command.Subcommands)
		},
	}
}

// devServerView is one dialect's private dev server in `devserver status --json`.
type devServerView struct {
	Dialect string `json:"dialect"`
	Running bool   `json:"running"`
	Version string `json:"version,omitempty"`
	Address string `json:"address,omitempty"`
	PID     int    `json:"pid,omitempty"`
	Started string `json:"started,omitempty"`
}

func devserverStatusCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the private dev servers that run",
		Description: `Example:
   weberctl devserver status
   weberctl devserver status --json`,
		Flags: withGlobal(&cli.BoolFlag{Name: "json", Usage: jsonFlagUsage("the servers")}),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			var views []devServerView
			for _, d := range []string{devserver.Postgres, devserver.MySQL} {
				st, err := devserver.Status(e.getenv("WEBER_DEVSERVER_DIR"), d)
				if err != nil {
					return err
				}
				v := devServerView{Dialect: d}
				if st != nil {
					v = devServerView{Dialect: d, Running: true, Version: st.Version, Address: st.Address(), PID: st.PID,
						Started: st.Started.UTC().Format(time.RFC3339)}
				}
				views = append(views, v)
			}
			if c.Bool("json") {
				return writeJSON(e.stdout, views)
			}
			for _, v := range views {
				if !v.Running {
					fmt.Fprintf(e.stdout, "%s: not running\n", v.Dialect)
					continue
				}
				fmt.Fprintf(e.stdout, "%s: %s on %s (pid %d, started %s)\n", v.Dialect, v.Version, v.Address, v.PID, v.Started)
			}
			return nil
		},
	}
}

func devserverStopCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "stop",
		Usage: "stop the private dev servers now and remove their data (waits for commands that use them)",
		Description: `Example:
   weberctl devserver stop`,
		Flags: withGlobal(),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			for _, d := range []string{devserver.Postgres, devserver.MySQL} {
				ran, err := devserver.Stop(e.getenv("WEBER_DEVSERVER_DIR"), d)
				if err != nil {
					return err
				}
				if ran {
					fmt.Fprintf(e.stdout, "%s: stopped\n", d)
				} else {
					fmt.Fprintf(e.stdout, "%s: not running\n", d)
				}
			}
			return nil
		},
	}
}

// devserverWatchCommand is the watchdog a private dev server is started
// with; not for people.
func devserverWatchCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:   "watch",
		Usage:  "stop a private dev server once it is unused (started by weberctl itself)",
		Hidden: true,
		Description: `Example:
   weberctl devserver watch --state-dir ~/.cache/weber/devserver/postgres --idle 10m`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "state-dir", Required: true, Usage: "the server's state `DIR`"},
			&cli.StringFlag{Name: "idle", Required: true, Usage: "stop it after this `DURATION` unused, e.g. 10m"},
		},
		Action: func(c *cli.Context) error {
			idle, err := time.ParseDuration(c.String("idle"))
			if err != nil || idle <= 0 {
				return usagef("--idle %s: give a positive duration, e.g. 10m", c.String("idle"))
			}
			return devserver.Watch(c.Context, c.String("state-dir"), idle)
		},
	}
}
