package weberctl

import (
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// forEachE2EPooled runs f in a new project on each backend
// (testserver.Each, with opts), and once more, as the parallel subtest
// "pgbouncer", in a project whose weberctl reaches a fresh PostgreSQL
// database through the transaction-pooling PgBouncer that
// WEBER_TEST_PGBOUNCER_URL names (skipped when it is not set, a failure
// under CI=true). The test's own connections (project.open) go to the
// server directly: what is under test is weberctl through the pooler.
func forEachE2EPooled(t *testing.T, f func(t *testing.T, p *project), opts ...testserver.EachOption) {
	t.Helper()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		f(t, newProject(t, e2eBackendOf(b)))
	}, opts...)
	t.Run("pgbouncer", func(t *testing.T) {
		t.Parallel()
		f(t, newPooledProject(t))
	})
}

// newPooledProject is a project on a database of the test PostgreSQL server
// that weberctl reaches through the pooler.
func newPooledProject(t *testing.T) *project {
	t.Helper()
	pooler := testserver.PgBouncer(t)
	server := testserver.Lookup(t, "postgres")
	name := testserver.NewURL(t, server, nil).Database // dropped on the server when the test passes
	p := newProject(t, e2eBackend{name: "pgbouncer", newURL: func(t *testing.T, dir string) string {
		raw, err := pooler.URLOf(name)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}})
	raw, err := server.URLOf(name)
	if err != nil {
		t.Fatal(err)
	}
	if p.direct, err = dbconn.Parse(raw); err != nil {
		t.Fatal(err)
	}
	return p
}
