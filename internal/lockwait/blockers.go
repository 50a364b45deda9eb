package lockwait

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
)

// Blocker is a session that holds what a waiting statement needs.
type Blocker struct {
	// ID is the server's session id: PostgreSQL's pid, MySQL's thread id.
	ID int64
	// App is the session's application name (PostgreSQL only).
	App string
	// User is the database user the session logged in as.
	User string
	// Client is the client's address ("" for a local socket).
	Client string
	// TxAge is how long its transaction has been open.
	TxAge time.Duration
	// State is what the session is doing ("idle in transaction", "Sleep").
	State string
	// Query is the head of its current or last query, with every literal
	// replaced by "?": never a value or a password.
	Query string
}

// String describes b in one line, e.g. `pid 4242 (app "psql", client
// 10.0.0.7, transaction open 31s, idle in transaction: "SELECT * FROM
// users WHERE id = ?")`.
func (b Blocker) String() string {
	var parts []string
	if b.App != "" {
		parts = append(parts, fmt.Sprintf("app %q", b.App))
	}
	if b.User != "" {
		parts = append(parts, fmt.Sprintf("user %q", b.User))
	}
	if b.Client != "" {
		parts = append(parts, "client "+b.Client)
	}
	if b.TxAge > 0 {
		round := time.Second
		if b.TxAge < 10*time.Second {
			round = 100 * time.Millisecond
		}
		parts = append(parts, "transaction open "+b.TxAge.Round(round).String())
	}
	if b.State != "" {
		parts = append(parts, b.State)
	}
	s := fmt.Sprintf("session %d", b.ID)
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ")
		if b.Query != "" {
			s += fmt.Sprintf(": %q", b.Query)
		}
		s += ")"
	}
	return s
}

// Describe lists blockers in one phrase, "" when there are none.
func Describe(bs []Blocker) string {
	var out []string
	for _, b := range bs {
		out = append(out, b.String())
	}
	return strings.Join(out, "; ")
}

// Blockers returns the sessions that block session id, read through db
// (another connection: the blocked one is busy waiting). On PostgreSQL
// these are exactly pg_blocking_pids(id). MySQL and MariaDB cannot say who
// holds a metadata lock without performance_schema; the sessions with an
// open transaction (information_schema.INNODB_TRX) are what holds one in
// practice, oldest first (those using the same database).
func Blockers(ctx context.Context, db *sql.DB, dia string, id int64) ([]Blocker, error) {
	var query string
	switch dia {
	case dialect.Postgres:
		query = `SELECT a.pid, COALESCE(a.application_name, ''), COALESCE(a.usename::text, ''), COALESCE(host(a.client_addr), ''),
	COALESCE(EXTRACT(EPOCH FROM now() - a.xact_start), 0)::float8, COALESCE(a.state, ''), COALESCE(a.query, '')
FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids($1)) ORDER BY a.xact_start NULLS LAST LIMIT 5`
	case dialect.MySQL:
		query = `SELECT p.ID, '', COALESCE(p.USER, ''), COALESCE(SUBSTRING_INDEX(p.HOST, ':', 1), ''),
	CAST(TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)) / 1000000 AS DOUBLE), COALESCE(p.COMMAND, ''), COALESCE(p.INFO, '')
FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
WHERE p.ID <> ? AND p.DB = DATABASE() ORDER BY t.trx_started LIMIT 5`
	default:
		return nil, nil
	}
	rows, err := db.QueryContext(ctx, query, id)
	if err != nil {
		return nil, fmt.Errorf("reading the sessions that hold the lock: %w", err)
	}
	defer rows.Close()
	var out []Blocker
	for rows.Next() {
		var b Blocker
		var age float64
		if err := rows.Scan(&b.ID, &b.App, &b.User, &b.Client, &age, &b.State, &b.Query); err != nil {
			return nil, fmt.Errorf("reading the sessions that hold the lock: %w", err)
		}
		if b.Client == "localhost" {
			b.Client = ""
		}
		b.TxAge = time.Duration(age * float64(time.Second))
		b.Query = QueryHead(b.Query)
		out = append(out, b)
	}
	return out, rows.Err()
}

var (
	stringLit = regexp.MustCompile(`(?s)[eEbBxXnN]?'(?:[^'\\]|''|\\.)*'|\$([A-Za-z_]*)\$.*?\$([A-Za-z_]*)\$`)
	numberLit = regexp.MustCompile(`(^|[^\w$.])\d+(\.\d+)?([eE][-+]?\d+)?\b`)
	spaces    = regexp.MustCompile(`\s+`)
)

// QueryHead returns the first 80 characters of a query with every string,
// dollar-quoted and numeric literal replaced by "?", so that no value (a
// password in an ALTER ROLE, a customer's e-mail) reaches a log.
func QueryHead(q string) string {
	q = stringLit.ReplaceAllString(q, "?")
	q = numberLit.ReplaceAllString(q, "${1}?")
	q = strings.TrimSpace(spaces.ReplaceAllString(q, " "))
	if r := []rune(q); len(r) > 80 {
		q = string(r[:79]) + "…"
	}
	return q
}

// Watch looks for the sessions blocking session id after delay, and then
// every delay, on db, until stop is called; stop returns the blockers seen
// last (nil when none was seen, or db had no free connection). It lets a
// caller name who made a statement wait after the wait gave up, when the
// server no longer shows the wait.
func Watch(ctx context.Context, db *sql.DB, dia string, id int64, delay time.Duration) (stop func() []Blocker) {
	if db == nil || id == 0 || (dia != dialect.Postgres && dia != dialect.MySQL) {
		return func() []Blocker { return nil }
	}
	ctx, cancel := context.WithCancel(ctx)
	var (
		mu   sync.Mutex
		last []Blocker
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		t := time.NewTimer(delay)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if bs, err := Blockers(ctx, db, dia, id); err == nil && len(bs) > 0 {
				mu.Lock()
				last = bs
				mu.Unlock()
			}
			t.Reset(delay)
		}
	}()
	return func() []Blocker {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}
