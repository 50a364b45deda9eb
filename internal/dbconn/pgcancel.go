package dbconn

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
)

// cancelGrace bounds how long a cancelled PostgreSQL query waits for the
// server (or the pooler in front of it) to answer the cancel request before
// its connection is broken off instead.
const cancelGrace = 5 * time.Second

// openPostgres opens a pgx pool whose queries, when their context ends,
// are cancelled by a cancel request that runs to its end before the query
// returns (patientCancel).
func openPostgres(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler { return &patientCancel{conn: c} }
	return stdlib.OpenDB(*cfg), nil
}

// patientCancel cancels a query whose context ended with a cancel request,
// and lets that request finish (the server closes its connection when it
// has delivered it) before the query returns. pgx's own handlers break the
// connection at once and send the cancel request from a goroutine: a
// process that exits right after (weberctl on SIGINT) then drops the cancel
// connection half-way, which crashes PgBouncer 1.18 ("disconnect_client():
// bad client state: 0", pgbouncer issue 801), and the server learns of the
// cancelled statement only when it next writes to the dead connection. Here
// the statement stops, the connection stays usable, and the caller's
// transaction rolls back on it.
type patientCancel struct {
	conn *pgconn.PgConn
	done chan struct{}
}

// HandleCancel sends the cancel request; if the server answers neither the
// request nor the query within cancelGrace, the connection's deadline ends
// the wait.
func (h *patientCancel) HandleCancel(context.Context) {
	done := make(chan struct{})
	h.done = done
	deadline := time.Now().Add(cancelGrace)
	h.conn.Conn().SetDeadline(deadline.Add(time.Second))
	go func() {
		defer close(done)
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		defer cancel()
		if err := h.conn.CancelRequest(ctx); err != nil {
			return
		}
		// The server has the request but may deliver it to the backend a
		// moment later: wait, as pgx does, so that it cannot cancel the
		// connection's next query instead.
		time.Sleep(100 * time.Millisecond)
	}()
}

// HandleUnwatchAfterCancel waits for the cancel request to finish and
// lifts the deadline.
func (h *patientCancel) HandleUnwatchAfterCancel() {
	<-h.done
	h.conn.Conn().SetDeadline(time.Time{})
}
