package dbconn

import (
	"errors"
	"strings"
	"testing"
)

// The system databases are refused from the URL alone. Every URL here
// points at port 1, where no server listens: were the refusal to come after
// a connection, the error would be "connection refused" and the test would
// fail without anything having been dropped on a real server.
func TestSystemDatabasesAreRefusedBeforeConnecting(t *testing.T) {
	t.Parallel()
	cases := []struct {
		url       string
		dropOnly  bool // writes allowed, drop refused
		notSystem bool
	}{
		{url: "mysql://root:pw@127.0.0.1:1/mysql"},
		{url: "mysql://root:pw@127.0.0.1:1/sys"},
		{url: "mysql://root:pw@127.0.0.1:1/performance_schema"},
		{url: "mysql://root:pw@127.0.0.1:1/information_schema"},
		{url: "mariadb://root:pw@127.0.0.1:1/MySQL"},
		{url: "postgres://u:pw@127.0.0.1:1/template0"},
		{url: "postgres://u:pw@127.0.0.1:1/template1"},
		{url: "postgres://u:pw@127.0.0.1:1/postgres", dropOnly: true},
		{url: "postgres://u:pw@127.0.0.1:1/myapp", notSystem: true},
		{url: "mysql://u:pw@127.0.0.1:1/mysql_app", notSystem: true},
		{url: "postgres://u:pw@127.0.0.1:1/mysql", notSystem: true},
		{url: "sqlite://mysql", notSystem: true},
	}
	for _, c := range cases {
		u, err := Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		drop := u.RefuseSystem("drop")
		write := u.RefuseSystem("ensure")
		var se *SystemDatabaseError
		switch {
		case c.notSystem:
			if drop != nil || write != nil {
				t.Errorf("%s: refused an ordinary database: %v / %v", c.url, drop, write)
			}
			continue
		case !errors.As(drop, &se):
			t.Errorf("%s: drop not refused: %v", c.url, drop)
			continue
		case c.dropOnly && write != nil:
			t.Errorf("%s: writes refused, though applications keep tables there: %v", c.url, write)
		case !c.dropOnly && write == nil:
			t.Errorf("%s: writes not refused", c.url)
		}
		if strings.Contains(drop.Error(), "pw") || !strings.Contains(drop.Error(), "system database") {
			t.Errorf("%s: message %q: want it to say system database, without the password", c.url, drop)
		}
		// The connection-level operations refuse by themselves too.
		if _, err := DropDatabase(t.Context(), u); !errors.As(err, &se) {
			t.Errorf("%s: DropDatabase = %v; want a *SystemDatabaseError before connecting", c.url, err)
		}
		if _, err := EnsureDatabase(t.Context(), u); !c.dropOnly && !errors.As(err, &se) {
			t.Errorf("%s: EnsureDatabase = %v; want a *SystemDatabaseError before connecting", c.url, err)
		}
	}
}
