package weberctl

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/config"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/devdb"
	"github.com/weber-framework/weber/internal/envmark"
	"github.com/weber-framework/weber/internal/migdir"
)

// shutdownTimeout bounds how long serve waits for requests in flight after
// SIGINT or SIGTERM.
const shutdownTimeout = 15 * time.Second

func serveCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the application's HTTP server",
		Description: `Serves the application on --addr (env WEBER_ADDR, default ` + config.DefaultAddr + `).

On the embedded default, SQLite, it first brings the database up to date the
way ` + "`db ensure`" + ` does: a fresh clone works with this one command, and
migration files pulled since the last run are applied first (in production,
--env production or WEBER_ENV=production, it never creates the file). On any other
database it refuses to start while migration files are pending, unless
--migrate applies them first; /readyz answers 503 while files are pending.
Several copies may start at once: one applies the pending files under the
migration lock, the others wait for it and find nothing left to apply. Each
copy keeps its own connection pool (--max-open-conns and the flags below);
through a transaction-pooling PgBouncer see docs/scaling.md.
SIGINT or SIGTERM stop it gracefully: requests in flight finish first.

Example:
   weberctl serve
   weberctl serve --addr :9000 --database-url postgres://app@db.internal/app --migrate
   weberctl serve --migrate --max-open-conns 5`,
		Flags: append(withGlobal(
			&cli.StringFlag{Name: "addr", Usage: "the `HOST:PORT` to listen on (default: env WEBER_ADDR, then " + config.DefaultAddr + ")"},
			&cli.BoolFlag{Name: "migrate", Usage: "apply pending migration files before serving (PostgreSQL, MySQL)"},
			lockTimeoutFlag(),
			devURLFlag(),
			devURLFlags()[0],
			devURLFlags()[1],
		), append(ddlFlags(), poolFlags()...)...),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return serve(c, e)
		},
	}
}

func serve(c *cli.Context, e *env) error {
	ctx := c.Context
	if e.project.App == nil {
		return errNoApp(e.project)
	}
	cfg, u, err := e.target(c)
	if err != nil {
		return err
	}
	if c.IsSet("addr") {
		cfg.Addr = c.String("addr")
	}
	if cfg.Logger == nil {
		// The request log and the errors, on stderr.
		cfg.Logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	pool, err := poolLimits(c)
	if err != nil {
		return err
	}
	if u.Memory {
		return fmt.Errorf("serve: %s is an in-memory database, which would vanish with the server: use a file, e.g. %s", u.Redacted(), config.DefaultDatabaseURL)
	}

	if cfg.IsEmbeddedDefault() {
		if err := ensureEmbedded(c, e, cfg, u); err != nil {
			return err
		}
	}

	db, err := dbconn.Open(ctx, u)
	if err != nil {
		return err
	}
	defer db.Close()
	pool.Apply(db, u)

	var ready func(context.Context) error
	if !cfg.IsEmbeddedDefault() {
		e.noteMark(ctx, u, db, cfg.Env, c.Bool("migrate"))
		if ready, err = migrateOrRefuse(c, e, cfg, u, db); err != nil {
			return err
		}
	}

	h, err := e.project.App(ctx, db, u.Dialect, cfg)
	if err != nil {
		return fmt.Errorf("serve: building the app: %w", err)
	}
	if h == nil {
		return fmt.Errorf("serve: the project's App returned no handler: return the app's http.Handler")
	}
	if ready != nil {
		h = withReadiness(h, ready, cfg.Logger)
	}
	return listenAndServe(ctx, e, cfg.Addr, u, h)
}

// ensureEmbedded brings the database to the models for the embedded
// default configuration (devdb.Ensure), saying what it did when it did
// anything.
func ensureEmbedded(c *cli.Context, e *env, cfg config.Config, u *dbconn.URL) error {
	folder, err := migdir.Folder(u.Dialect)
	if err != nil {
		return err
	}
	if err := refuseMissingInProduction(c, cfg, u); err != nil {
		return err
	}
	res, err := devdb.Ensure(c.Context, u, devdb.EnsureOptions{Tables: e.project.Tables,
		Root: cfg.MigrationsDir, DevURL: devURLFor(c, cfg, folder), Env: cfg.Env,
		LockTimeout: lockTimeout(c), Operator: operator(), Logger: cfg.Logger,
		DataMigrations: e.dataMigrations(), Renames: e.project.Renames,
	})
	if err != nil {
		return err
	}
	if !res.NothingToDo() || res.EnvKept {
		renderEnsure(e, res)
	}
	return nil
}

// listenAndServe serves h on addr until ctx ends, then shuts the server
// down, giving requests in flight shutdownTimeout to finish.
func listenAndServe(ctx context.Context, e *env, addr string, u *dbconn.URL, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: listening on %s: %w (%s)", addr, err, listenAdvice(err))
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	fmt.Fprintf(e.stdout, "Serving on http://%s (database %s). Stop with Ctrl-C.\n", ln.Addr(), u.Redacted())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutting down: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintln(e.stdout, "Stopped.")
	return nil
}

func pendingPhrase(n int) string {
	return plural(n, "migration file is", "migration files are")
}

// listenAdvice says what to do about a listen error, by its cause: only a
// port in use has another server behind it.
func listenAdvice(err error) string {
	var dnsErr *net.DNSError
	var addrErr *net.AddrError
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return "another server is using the port: stop it, or pass another --addr"
	case errors.Is(err, syscall.EACCES):
		return "ports below 1024 need privileges: pass a higher port, e.g. --addr 127.0.0.1:8080"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no network interface of this machine has that address: pass one it has, e.g. --addr 127.0.0.1:8080 or --addr :8080 for all"
	case errors.As(err, &dnsErr):
		return "the host name does not resolve: check it, or pass an IP address, e.g. --addr 127.0.0.1:8080"
	case errors.As(err, &addrErr):
		return "write --addr as HOST:PORT, e.g. 127.0.0.1:8080 or :8080"
	}
	return "check --addr, written HOST:PORT, e.g. 127.0.0.1:8080"
}

// migrateOrRefuse is serve's step on a server database: with --migrate it
// applies the pending files; then it refuses to serve while files are
// pending, and returns the readiness check that says so in /readyz.
func migrateOrRefuse(c *cli.Context, e *env, cfg config.Config, u *dbconn.URL, db *sql.DB) (func(context.Context) error, error) {
	ctx := c.Context
	dir, err := migdir.DialectDir(cfg.MigrationsDir, u.Dialect)
	if err != nil {
		return nil, err
	}
	if c.Bool("migrate") {
		folder, err := migdir.Folder(u.Dialect)
		if err != nil {
			return nil, err
		}
		uopts, err := upgradeOptions(c, e, cfg, u, dir, true)
		if err != nil {
			return nil, err
		}
		uopts.DevURL = devURLFor(c, cfg, folder)
		eng, err := newEngine(u, db, dir, nil, e.dataMigrations())
		if err != nil {
			return nil, err
		}
		res, err := eng.Upgrade(ctx, uopts)
		if err != nil {
			return nil, err
		}
		renderUpgrade(e, u, res)
	}
	n, err := pendingFiles(ctx, db, u, dir, e.dataMigrations())
	if err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, fmt.Errorf("serve: %s pending on %s: run `weberctl db upgrade` first, or pass --migrate",
			pendingPhrase(n), u.Redacted())
	}
	return func(ctx context.Context) error {
		n, err := pendingFiles(ctx, db, u, dir, e.dataMigrations())
		if err != nil {
			return fmt.Errorf("reading the migration status: %w", err)
		}
		if n > 0 {
			return notReady(pendingPhrase(n) + " pending: run `weberctl db upgrade`")
		}
		return nil
	}, nil
}

// refuseMissingInProduction refuses to serve, in production (--env or
// WEBER_ENV), an SQLite database that does not exist: serve would create
// it, and a mistyped path would become a fresh, empty database.
func refuseMissingInProduction(c *cli.Context, cfg config.Config, u *dbconn.URL) error {
	if !envmark.IsProduction(cfg.Env) {
		return nil
	}
	ok, err := dbconn.Exists(c.Context, u)
	if err != nil || ok {
		return err
	}
	return fmt.Errorf("serve: database %s does not exist, and the environment is %q: serve does not create a production database, which usually means a mistyped path; check --database-url, or create it on purpose with `weberctl db ensure --env %s`",
		u.Redacted(), cfg.Env, cfg.Env)
}
