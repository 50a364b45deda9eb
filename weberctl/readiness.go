package weberctl

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// readinessTimeout bounds serve's own readiness check, so that a stuck
// database makes /readyz answer 503 instead of hanging the prober.
const readinessTimeout = 3 * time.Second

// notReadyError is a readiness failure whose reason may be shown to
// anyone who asks /readyz: it names the problem and holds no secret.
type notReadyError struct{ reason string }

func (e *notReadyError) Error() string { return e.reason }

func notReady(reason string) error { return &notReadyError{reason: reason} }

// withReadiness wraps the project's handler: GET /readyz first runs
// check (no migration file pending) and answers 503 itself when it fails,
// with the reason when it is public (notReady), else "unavailable" and the
// error in the log; when it passes, the app's own /readyz answers.
func withReadiness(h http.Handler, check func(context.Context) error, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/readyz" {
			h.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), readinessTimeout)
		err := check(ctx)
		cancel()
		if err == nil {
			h.ServeHTTP(w, r)
			return
		}
		reason := "unavailable"
		var nr *notReadyError
		if errors.As(err, &nr) {
			reason = nr.reason
		}
		log.WarnContext(r.Context(), "readiness check failed", "check", "migrations", "error", err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"status": "unavailable",
			"checks": map[string]string{"migrations": reason},
		})
	})
}
