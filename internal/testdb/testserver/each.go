package testserver

import (
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// The backends' names: the dialects' migration folder names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
	MySQL    = "mysql"
)

// EnvCI is the variable a CI run sets to "true". Under it every server is
// promised: a test that needs one that is not configured fails instead of
// skipping.
const EnvCI = "CI"

// InCI reports whether this run is CI's (CI=true), where a missing server is
// a failure, not a skip.
func InCI() bool { return os.Getenv(EnvCI) == "true" }

// backendNames lists every backend, in the order Each runs them.
func backendNames() []string { return []string{SQLite, Postgres, MySQL} }

// configured returns the backend named name and whether it can run here:
// SQLite always; a server when its variable (EnvFor) is set.
func configured(name string) (Backend, bool) {
	if name == SQLite {
		return Backend{Name: SQLite}, true
	}
	u := strings.TrimSpace(os.Getenv(EnvFor(name)))
	return Backend{Name: name, URL: u}, u != ""
}

// noServer is why a server backend cannot run: the variable to set.
func noServer(name string) string {
	return "no server: set " + EnvFor(name) + " to run on " + name
}

// missing skips t because the server of backend name is not configured,
// or fails it under CI=true, where that server was promised.
func missing(t testing.TB, name string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s: CI=true promises every server, but %s is not set (eval \"$(scripts/services.sh env)\")", name, EnvFor(name))
	}
	t.Skip(noServer(name))
}

// Lookup returns the backend named name ("sqlite", "postgres" or "mysql").
// When that server is not configured it skips the test, naming the
// variable to set, or fails it under CI=true.
func Lookup(t testing.TB, name string) Backend {
	t.Helper()
	if !known(name) {
		t.Fatalf("testserver: unknown backend %q: want sqlite, postgres or mysql", name)
	}
	b, ok := configured(name)
	if !ok {
		missing(t, name)
	}
	return b
}

// DevURL returns the server URL where the backend's tests may create
// scratch databases (plan's dev database): WEBER_DEV_<NAME>_URL when set,
// else the test server's URL. It is "" for SQLite.
func (b Backend) DevURL() string {
	if b.URL == "" {
		return ""
	}
	if v := strings.TrimSpace(os.Getenv("WEBER_DEV_" + strings.ToUpper(b.Name) + "_URL")); v != "" {
		return v
	}
	return b.URL
}

func known(name string) bool {
	for _, n := range backendNames() {
		if n == name {
			return true
		}
	}
	return false
}

// EachOption configures Each.
type EachOption func(*eachConfig)

type eachConfig struct {
	except map[string]string // backend name -> why it does not apply
}

// Except leaves backend name out of Each, for a behaviour it does not have:
// its subtest is skipped with why ("sqlite: a file lock has no session to
// lose"), so that the run lists what it left out and the reason.
func Except(name, why string) EachOption {
	return func(c *eachConfig) { c.except[name] = name + ": " + why }
}

// Each runs fn once per backend, as parallel subtests named after it:
// "sqlite", "postgres", "mysql". It calls t.Parallel() in the subtest: fn
// must not call it again.
//
// A backend that cannot run is still a subtest, skipped by name with the
// reason: a server whose variable is not set ("no server: set
// WEBER_TEST_POSTGRES_URL to run on postgres"; under CI=true, where every
// server is promised, a failure instead), or one left out with Except.
// When no backend can run, Each skips t itself with the same reasons, so
// that `go test -v` lists the test as SKIP, never as a PASS that ran
// nothing; the code after Each does not run then. Under CI=true, a test
// whose every subtest skipped itself fails when it ends; elsewhere it logs
// that nothing ran.
func Each(t *testing.T, fn func(t *testing.T, b Backend), opts ...EachOption) {
	t.Helper()
	c := eachConfig{except: map[string]string{}}
	for _, o := range opts {
		o(&c)
	}
	for name := range c.except {
		if !known(name) {
			t.Fatalf("testserver.Except: unknown backend %q: want sqlite, postgres or mysql", name)
		}
	}
	var started, ran atomic.Int32
	var reasons []string
	for _, name := range backendNames() {
		b, ok := configured(name)
		why, left := c.except[name]
		switch {
		case left:
			reasons = append(reasons, why)
		case !ok:
			reasons = append(reasons, noServer(name))
		}
		t.Run(name, func(t *testing.T) {
			if left {
				t.Skip(why)
			}
			if !ok {
				missing(t, name)
			}
			t.Parallel()
			started.Add(1)
			t.Cleanup(func() {
				if !t.Skipped() {
					ran.Add(1)
				}
			})
			fn(t, b)
		})
	}
	if len(reasons) == len(backendNames()) && !t.Failed() {
		t.Skip(strings.Join(reasons, "; "))
	}
	t.Cleanup(func() {
		if started.Load() == 0 || ran.Load() > 0 {
			return
		}
		if InCI() {
			t.Errorf("every backend's subtest skipped itself under CI=true: the test ran nothing")
			return
		}
		t.Log("every backend's subtest skipped itself: the test ran nothing")
	})
}
