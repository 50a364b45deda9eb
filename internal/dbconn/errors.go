package dbconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"

	"entgo.io/ent/dialect"
)

// Error is a database URL or connection error whose message has had the
// password removed. It wraps the cause for errors.Is/As.
//
// The message is built safe: URLs in it are redacted by position (the
// password's place in the user info, password= values), and only the text
// that comes from a driver is scrubbed of the password's string wherever it
// appears. Scrubbing our own words would mangle them when a password is an
// ordinary word ("weber" turning `weberctl` into `xxxxxctl`).
type Error struct {
	msg string
	err error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// wrap turns a driver error into a one-line Error that names the problem and
// the fix, with the password scrubbed.
func (u *URL) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if msg := foreignServer(u, err); msg != "" && strings.HasPrefix(op, "connecting") {
		return &Error{msg: op + " " + u.Redacted() + ": " + msg, err: err}
	}
	return &Error{msg: op + " " + u.Redacted() + ": " + explain(err, u.secrets), err: err}
}

// foreignServer recognises a server that does not speak the URL's protocol
// (a postgres:// URL pointed at a MySQL port, ...), which the drivers
// report in their own terms, and says to check the port; "" otherwise.
func foreignServer(u *URL, err error) string {
	msg := err.Error()
	var signs []string
	name, port := "", ""
	switch u.Dialect {
	case dialect.Postgres:
		signs = []string{"received unexpected message", "failed to receive message", "invalid body length", "unexpected message type"}
		name, port = "PostgreSQL", "5432"
	case dialect.MySQL:
		signs = []string{"invalid connection", "unexpected sequence nr", "malformed packet", "busy buffer", "commands out of sync"}
		name, port = "MySQL", "3306"
	default:
		return ""
	}
	for _, s := range signs {
		if strings.Contains(msg, s) {
			return fmt.Sprintf("the server at %s did not answer as %s: check the host and port in the URL (%s listens on %s by default)",
				u.Host(), name, name, port)
		}
	}
	return ""
}

// driverArtefact matches what fmt prints for a verb with a bad or nil
// argument ("%!w(<nil>)" from a driver wrapping a nil error), which means
// nothing to a user.
var driverArtefact = regexp.MustCompile(`:? ?%!\w\([^)]*\)`)

// explain says in one line what a connection error means. Where it falls
// back to the driver's own words, they are scrubbed of the secrets.
func explain(err error, secrets []string) string {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out: is the server running and reachable?"
	case errors.As(err, &oe) && strings.Contains(msg, "refused"), strings.Contains(msg, "connection refused"):
		return "connection refused: is the server running on that host and port?"
	case strings.Contains(msg, "no such host"):
		return "unknown host: check the host name in the URL"
	case strings.Contains(msg, "password authentication failed"), strings.Contains(msg, "Access denied"),
		strings.Contains(msg, "(28P01)"), strings.Contains(msg, "Error 1045"):
		return "authentication failed: check the user name and password"
	case strings.Contains(msg, "does not exist") && strings.Contains(msg, "database"), strings.Contains(msg, "Error 1049"):
		return "the database does not exist: create it with `weberctl db ensure`"
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out: is the server running and reachable?"
	}
	return redactString(strings.TrimSpace(driverArtefact.ReplaceAllString(msg, "")), secrets)
}
