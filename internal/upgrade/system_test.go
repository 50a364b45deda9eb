package upgrade

import (
	"errors"
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
)

// Upgrade and Downgrade refuse a server's own database from its URL,
// before they use the pool: the pool here is an unrelated in-memory SQLite
// database, and the URL points at port 1, where nothing listens.
func TestUpgradeRefusesSystemDatabases(t *testing.T) {
	t.Parallel()
	mem, _ := dbconn.Parse("sqlite://:memory:")
	db, err := dbconn.Open(t.Context(), mem)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, raw := range []string{"mysql://root:pw@127.0.0.1:1/mysql", "mysql://root:pw@127.0.0.1:1/information_schema", "postgres://u:pw@127.0.0.1:1/template1"} {
		u, err := dbconn.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		var se *dbconn.SystemDatabaseError
		if _, err := Upgrade(t.Context(), db, u, t.TempDir(), Options{}); !errors.As(err, &se) {
			t.Errorf("Upgrade(%s) = %v; want a *dbconn.SystemDatabaseError", u.Redacted(), err)
		}
		if _, err := Downgrade(t.Context(), db, u, t.TempDir(), DowngradeOptions{}); !errors.As(err, &se) {
			t.Errorf("Downgrade(%s) = %v; want a *dbconn.SystemDatabaseError", u.Redacted(), err)
		}
	}
}
