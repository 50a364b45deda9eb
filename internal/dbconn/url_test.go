package dbconn

import (
	"context"
	"errors"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
)

func TestParseForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, dialect, database string
		memory                 bool
	}{
		{"sqlite://var/weber.db", dialect.SQLite, "var/weber.db", false},
		{"sqlite:///srv/app/weber.db", dialect.SQLite, "/srv/app/weber.db", false},
		{"sqlite://var/weber.db?_pragma=busy_timeout(500)", dialect.SQLite, "var/weber.db", false},
		{"sqlite://:memory:", dialect.SQLite, "", true},
		{"sqlite://test?mode=memory", dialect.SQLite, "", true},
		{"postgres://u:p@localhost:5432/app?sslmode=disable", dialect.Postgres, "app", false},
		{"postgresql://u@/app?host=/var/run/postgresql", dialect.Postgres, "app", false},
		{"mysql://root:pass@localhost:3306/app", dialect.MySQL, "app", false},
		{"mysql://root:pass@/app?socket=/run/mysqld/mysqld.sock", dialect.MySQL, "app", false},
	}
	for _, tt := range tests {
		u, err := Parse(tt.raw)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.raw, err)
			continue
		}
		if u.Dialect != tt.dialect || u.Database != tt.database || u.Memory != tt.memory {
			t.Errorf("Parse(%q) = {%s %q memory=%v}, want {%s %q memory=%v}", tt.raw, u.Dialect, u.Database, u.Memory, tt.dialect, tt.database, tt.memory)
		}
	}
}

func TestParseErrorsAreOneLineAndNamesTheProblem(t *testing.T) {
	t.Parallel()
	const pw = "s3cr3t-PW"
	tests := []struct{ raw, want string }{
		{"", "no database URL"},
		{"weber.db", "has no scheme"},
		{"u:" + pw + "@localhost/db", "has no scheme"},
		{"oracle://u:" + pw + "@h/db", `unknown database URL scheme "oracle"`},
		{"postgres://u:" + pw + "%zz@localhost/db", "'%' is not followed by two hex digits"},
		{"postgres://u:" + pw + "@localhost:99999/db", "invalid port"},
		{"postgres://u:" + pw + "@localhost:abc/db", "port"},
		{"mysql://u:" + pw + "@localhost:3306/", "names no database"},
		{"mysql://u:" + pw + "@localhost:3306/a;b", "semicolon"},
		{"sqlite://", "names no file"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.raw)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want an error containing %q", tt.raw, tt.want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.want) {
			t.Errorf("Parse(%q) = %q, want it to contain %q", tt.raw, msg, tt.want)
		}
		if strings.Contains(msg, pw) || strings.Contains(msg, "\n") {
			t.Errorf("Parse(%q) = %q: leaks the password or spans lines", tt.raw, msg)
		}
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"postgres://u:s3cr3t-PW@localhost/app",
		"postgres://u@localhost/app?password=s3cr3t-PW",
		"mysql://u:s3cr3t-PW@localhost:3306/app",
		"postgres://u:s3cr3t%2FPW@localhost/app",
	} {
		u, err := Parse(raw)
		if err != nil {
			t.Fatalf("Parse(%q): %v", raw, err)
		}
		got := u.Redacted()
		if strings.Contains(got, "s3cr3t") || !strings.Contains(got, "xxxxx") {
			t.Errorf("Redacted(%q) = %q", raw, got)
		}
		if got != u.String() {
			t.Errorf("String() = %q, Redacted() = %q", u.String(), got)
		}
	}
}

func TestConnectionErrorsHideThePassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, raw := range []string{
		"postgres://weber:s3cr3t-PW@127.0.0.1:1/app?sslmode=disable",
		"mysql://weber:s3cr3t-PW@127.0.0.1:1/app",
	} {
		u, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Open(ctx, u)
		if err == nil {
			t.Fatalf("Open(%s) succeeded against a closed port", u)
		}
		msg := err.Error()
		if strings.Contains(msg, "s3cr3t") || !strings.Contains(msg, "connection refused") || strings.Contains(msg, "\n") {
			t.Errorf("Open(%s) error = %q: want one line saying the connection was refused, without the password", u, msg)
		}
	}
}

// A password that is also an ordinary word of the message (here the user
// name and the start of the database name) is hidden by position, and the
// rest of the message stays readable.
func TestRedactionDoesNotMangleWordsThatEqualThePassword(t *testing.T) {
	t.Parallel()
	_, err := Parse("postgres://weber:weber@localhost:5432/")
	if err == nil || !strings.Contains(err.Error(), "postgres://weber:xxxxx@localhost:5432/") {
		t.Errorf("Parse error = %v, want the URL shown as postgres://weber:xxxxx@localhost:5432/", err)
	}
	u, err := Parse("mysql://weber:weber@127.0.0.1:1/weber_app")
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Redacted(); got != "mysql://weber:xxxxx@127.0.0.1:1/weber_app" {
		t.Errorf("Redacted() = %q", got)
	}
	_, err = Open(context.Background(), u)
	if err == nil || !strings.Contains(err.Error(), "mysql://weber:xxxxx@127.0.0.1:1/weber_app") {
		t.Errorf("Open error = %v, want the URL readable with only the password hidden", err)
	}
	if got := redactRaw("u:s3cr3t@h/db?password=s3cr3t&x=1"); got != "u:xxxxx@h/db?password=xxxxx&x=1" {
		t.Errorf("redactRaw of a scheme-less URL = %q", got)
	}
}

// A driver's own fmt artefacts ("%!w(<nil>)") never reach the message, and
// a server that does not speak the URL's protocol is named as such.
func TestExplainDriverArtefactsAndForeignServers(t *testing.T) {
	t.Parallel()
	if got := explain(errors.New("failed to connect: received reply: %!w(<nil>)"), nil); strings.Contains(got, "%!") {
		t.Errorf("explain kept a fmt artefact: %q", got)
	}
	u, err := Parse("postgres://app:s3cr3t@127.0.0.1:3306/app")
	if err != nil {
		t.Fatal(err)
	}
	msg := u.wrap("connecting to", errors.New("failed to connect to `user=app database=app`: 127.0.0.1:3306 (127.0.0.1): received unexpected message: %!w(<nil>)")).Error()
	if !strings.Contains(msg, "did not answer as PostgreSQL") || strings.Contains(msg, "%!") || strings.Contains(msg, "s3cr3t") {
		t.Errorf("message = %q", msg)
	}
	// The same words from an established connection are not about the port.
	msg = u.wrap("dropping", errors.New("received unexpected message")).Error()
	if strings.Contains(msg, "did not answer") {
		t.Errorf("a dropped connection is blamed on the port: %q", msg)
	}
}
