package dbconn_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
)

func TestPoolValidate(t *testing.T) {
	t.Parallel()
	if err := dbconn.DefaultPool.Validate(); err != nil {
		t.Errorf("DefaultPool: %v", err)
	}
	if err := (dbconn.Pool{}).Validate(); err != nil {
		t.Errorf("the zero Pool (no bounds): %v", err)
	}
	for _, tc := range []struct {
		p    dbconn.Pool
		want string
	}{
		{dbconn.Pool{MaxOpen: -1}, "open connections is -1"},
		{dbconn.Pool{MaxIdle: -2}, "idle connections is -2"},
		{dbconn.Pool{MaxLifetime: -time.Second}, "lifetime is -1s"},
		{dbconn.Pool{MaxIdleTime: -time.Minute}, "idle time is -1m0s"},
	} {
		if err := tc.p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an error saying %q", tc.p, err, tc.want)
		}
	}
}

// Apply sets the limits on a pool, except on an in-memory SQLite database,
// which lives in its one connection.
func TestPoolApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file, err := dbconn.Parse("sqlite://" + filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := dbconn.Parse("sqlite://:memory:")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		u    *dbconn.URL
		want int
	}{{file, 3}, {mem, 1}} {
		if _, err := dbconn.EnsureDatabase(ctx, tc.u); err != nil {
			t.Fatal(err)
		}
		db, err := dbconn.Open(ctx, tc.u)
		if err != nil {
			t.Fatal(err)
		}
		dbconn.Pool{MaxOpen: 3, MaxIdle: 2}.Apply(db, tc.u)
		if got := db.Stats().MaxOpenConnections; got != tc.want {
			t.Errorf("%s: MaxOpenConnections = %d, want %d", tc.u.Redacted(), got, tc.want)
		}
		db.Close()
	}
}
