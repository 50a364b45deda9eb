package app

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/weber-framework/weber/config"
	"github.com/weber-framework/weber/ent"
)

// readinessTimeout bounds each readiness check, so that a stuck database
// makes /readyz answer 503 instead of hanging the prober.
const readinessTimeout = 3 * time.Second

// App is the Weber application: the HTTP handlers for the example domain,
// built on the generated ent client. Build it with New and serve
// App.Handler().
type App struct {
	client *ent.Client
	db     *sql.DB
	cfg    config.Config
	log    *slog.Logger
	checks []namedCheck
}

type namedCheck struct {
	name  string
	check func(context.Context) error
}

// NotReady is a readiness check's failure whose reason may be shown to
// anyone who asks /readyz: it must name the problem and hold no secret (no
// host, user, database name or driver text).
func NotReady(reason string) error { return &notReady{reason: reason} }

type notReady struct{ reason string }

func (e *notReady) Error() string { return e.reason }

// publicReason is what /readyz shows of a failed check: the reason given to
// NotReady, else only "unavailable" (the details are in the log).
func publicReason(err error) string {
	var nr *notReady
	if errors.As(err, &nr) {
		return nr.reason
	}
	return "unavailable"
}

// Option changes how New builds the App.
type Option func(*App) error

// WithReadiness adds a check that /readyz runs after the database ping, for
// example "no migration files pending". /readyz is public, so a failing
// check shows only "unavailable" there, and its error goes to the log;
// wrap a reason that is safe to show anyone with NotReady to show it
// instead. name labels the check in the body and the log.
func WithReadiness(name string, check func(ctx context.Context) error) Option {
	return func(a *App) error {
		if check == nil {
			return errors.New("app: WithReadiness(" + name + "): the check is nil: pass a function")
		}
		if name == "" {
			return errors.New("app: WithReadiness: the check has no name: name it, e.g. \"migrations\"")
		}
		for _, c := range a.checks {
			if c.name == name {
				return errors.New("app: WithReadiness(" + name + "): a check with that name exists already: give each check its own name")
			}
		}
		a.checks = append(a.checks, namedCheck{name: name, check: check})
		return nil
	}
}

// WithLogger sets the logger for the request log and errors, overriding
// config.Config.Logger. nil discards.
func WithLogger(l *slog.Logger) Option {
	return func(a *App) error {
		a.log = l
		return nil
	}
}

// New builds the application on client. db is the *sql.DB the client was
// opened on (entsql.OpenDB(dialect, db)); /readyz pings it. It may be nil,
// in which case /readyz runs "SELECT 1" through the client instead.
// config.Config.Logger receives the request log and errors (nil discards).
func New(client *ent.Client, db *sql.DB, cfg config.Config, opts ...Option) (*App, error) {
	if client == nil {
		return nil, errors.New("app: New: the ent client is nil: open the database and pass ent.NewClient(ent.Driver(entsql.OpenDB(dialect, db)))")
	}
	a := &App{client: client, db: db, cfg: cfg, log: cfg.Logger}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(a); err != nil {
			return nil, err
		}
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a, nil
}

// Handler returns the application's HTTP handler: the routes wrapped in
// request-id, request-log and panic-recovery middleware.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", a.livez)
	mux.HandleFunc("GET /readyz", a.readyz)

	mux.HandleFunc("POST /users", a.handle(a.createUser))
	mux.HandleFunc("GET /users", a.handle(a.listUsers))
	mux.HandleFunc("GET /users/{id}", a.handle(a.getUser))
	mux.HandleFunc("PATCH /users/{id}", a.handle(a.updateUser))
	mux.HandleFunc("DELETE /users/{id}", a.handle(a.deleteUser))
	mux.HandleFunc("GET /users/{id}/posts", a.handle(a.listUserPosts))
	mux.HandleFunc("POST /users/{id}/posts", a.handle(a.createUserPost))

	mux.HandleFunc("GET /posts", a.handle(a.listPosts))
	mux.HandleFunc("GET /posts/{id}", a.handle(a.getPost))
	mux.HandleFunc("PATCH /posts/{id}", a.handle(a.updatePost))
	mux.HandleFunc("DELETE /posts/{id}", a.handle(a.deletePost))
	mux.HandleFunc("POST /posts/{id}/views", a.handle(a.viewPost))

	mux.HandleFunc("POST /tags", a.handle(a.createTag))
	mux.HandleFunc("GET /tags", a.handle(a.listTags))
	mux.HandleFunc("GET /tags/{id}", a.handle(a.getTag))
	mux.HandleFunc("PATCH /tags/{id}", a.handle(a.updateTag))
	mux.HandleFunc("DELETE /tags/{id}", a.handle(a.deleteTag))
	mux.HandleFunc("GET /tags/{id}/posts", a.handle(a.listTagPosts))

	return a.requestID(a.logRequests(a.recoverPanics(mux)))
}

// handlerFunc is a handler that returns its error instead of writing it, so
// that every error reaches the client through writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (a *App) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := checkQuery(r)
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			a.writeError(w, r, err)
		}
	}
}

// livez answers 200 while the process serves HTTP. It touches no database:
// a database outage must not get the process restarted.
func (a *App) livez(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the database answers a ping and every check added
// with WithReadiness passes, else 503 naming what failed.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	type result struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	res := result{Status: "ready", Checks: map[string]string{}}
	run := func(name string, check func(context.Context) error, public func(error) string) {
		ctx, cancel := context.WithTimeout(r.Context(), readinessTimeout)
		defer cancel()
		if err := check(ctx); err != nil {
			res.Status = "unavailable"
			res.Checks[name] = public(err)
			a.log.WarnContext(r.Context(), "readiness check failed",
				"check", name, "request_id", RequestID(r.Context()), "error", err)
			return
		}
		res.Checks[name] = "ok"
	}
	run("database", a.pingDatabase, func(error) string { return "unreachable" })
	for _, c := range a.checks {
		run(c.name, c.check, publicReason)
	}
	status := http.StatusOK
	if res.Status != "ready" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, res)
}

func (a *App) pingDatabase(ctx context.Context) error {
	if a.db != nil {
		return a.db.PingContext(ctx)
	}
	rows, err := a.client.QueryContext(ctx, "SELECT 1")
	if err != nil {
		return err
	}
	return rows.Close()
}
