package lockwait

import (
	"strings"
	"testing"
	"time"
)

func TestQueryHeadHidesEveryValue(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"SELECT * FROM users WHERE email = 'ada@example.com' AND id = 42", "SELECT * FROM users WHERE email = ? AND id = ?"},
		{"ALTER ROLE app PASSWORD 's3cr''et'", "ALTER ROLE app PASSWORD ?"},
		{"SELECT E'a\\'b', $$body$$, $x$ more $x$ FROM t", "SELECT ?, ?, ? FROM t"},
		{"UPDATE t SET v = 1.5e3\n\n  WHERE id = $1", "UPDATE t SET v = ? WHERE id = $1"},
		{"INSERT INTO t2 (c1) VALUES (7)", "INSERT INTO t2 (c1) VALUES (?)"},
	} {
		if got := QueryHead(c.in); got != c.want {
			t.Errorf("QueryHead(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := QueryHead("SELECT " + strings.Repeat("a, ", 100) + "b FROM t")
	if n := len([]rune(long)); n != 80 || !strings.HasSuffix(long, "…") {
		t.Errorf("a long query head is %d characters: %q", n, long)
	}
}

func TestExempt(t *testing.T) {
	t.Parallel()
	for stmt, want := range map[string]bool{
		"CREATE INDEX CONCURRENTLY ix ON t (a)":                  true,
		"-- why\ncreate unique index concurrently ix ON t (a)":   true,
		"DROP INDEX CONCURRENTLY ix":                             true,
		"ALTER TABLE t VALIDATE CONSTRAINT t_fk":                 true,
		"REINDEX INDEX CONCURRENTLY ix":                          true,
		"CREATE INDEX ix ON t (a)":                               false,
		"ALTER TABLE t ADD COLUMN concurrently int":              false,
		"ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID": false,
	} {
		if got := Exempt(stmt); got != want {
			t.Errorf("Exempt(%q) = %v, want %v", stmt, got, want)
		}
	}
}

func TestBackoffGrowsWithJitterAndACap(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 20; n++ {
		base := min(minBackoff<<min(n-1, 10), maxBackoff)
		for range 50 {
			if d := Backoff(n); d < base/2 || d > base {
				t.Fatalf("Backoff(%d) = %s, want within [%s, %s]", n, d, base/2, base)
			}
		}
	}
	if Backoff(20) > maxBackoff {
		t.Errorf("Backoff is not capped at %s", maxBackoff)
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	p := Policy{Timeout: 1500 * time.Millisecond, StatementTimeout: time.Minute}
	got := strings.Join(p.Settings("postgres", true, false), "; ")
	if want := "SET LOCAL lock_timeout = '1500ms'; SET LOCAL statement_timeout = '60000ms'"; got != want {
		t.Errorf("postgres, local: %s, want %s", got, want)
	}
	got = strings.Join(p.Settings("postgres", false, true), "; ")
	if want := "SET lock_timeout = 0; SET statement_timeout = '60000ms'"; got != want {
		t.Errorf("postgres, exempt: %s, want %s", got, want)
	}
	got = strings.Join(p.Settings("mysql", false, false), "; ")
	if want := "SET SESSION lock_wait_timeout = 2; SET SESSION innodb_lock_wait_timeout = 2"; got != want {
		t.Errorf("mysql rounds up to whole seconds: %s, want %s", got, want)
	}
	if s := p.Settings("sqlite3", false, false); len(s) != 0 {
		t.Errorf("sqlite has no settings, got %v", s)
	}
	if err := (Policy{StatementTimeout: -time.Second}).Validate(); err == nil {
		t.Error("a negative statement timeout was accepted")
	}
}
