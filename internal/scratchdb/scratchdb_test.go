package scratchdb_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/scratchdb"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// serverURL returns the backend's server URL (testserver.Lookup: a named
// skip when it is not set, a failure under CI=true).
func serverURL(t *testing.T, name string) *dbconn.URL {
	t.Helper()
	b := testserver.Lookup(t, name)
	u, err := dbconn.Parse(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func exists(t *testing.T, u *dbconn.URL) bool {
	t.Helper()
	ok, err := dbconn.Exists(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// A scratch database whose owner is gone (created here without its lock,
// as a killed process leaves it) is removed by the next Create and named
// in Removed; the scratch database of a live owner, and one of an older
// Weber (no "o" in its name, no lock), are never touched.
func TestCreateRemovesOnlyOwnerlessScratch(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		ctx := context.Background()
		server := serverURL(t, b.Name)
		live, err := scratchdb.Create(ctx, server, scratchdb.DevPrefix)
		if err != nil {
			t.Fatal(err)
		}
		defer live.Drop(ctx)
		if !scratchdb.Owned(live.URL.Database) {
			t.Fatalf("Create named its database %s, not an owned scratch name", live.URL.Database)
		}
		dead := server.WithDatabase(scratchdb.VerifyPrefix + "o" + randomHex())
		old := server.WithDatabase(scratchdb.DevPrefix + randomHex())
		for _, u := range []*dbconn.URL{dead, old} {
			if _, err := dbconn.EnsureDatabase(ctx, u); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { dbconn.DropDatabase(context.Background(), u) })
		}
		next, err := scratchdb.Create(ctx, server, scratchdb.PreflightPrefix)
		if err != nil {
			t.Fatal(err)
		}
		defer next.Drop(ctx)
		// Another test process creating a scratch database at the same
		// time may have removed it first: what matters is that it is
		// gone, and that this Create names it when it was the one.
		if !slices.Contains(next.Removed, dead.Database) && exists(t, dead) {
			t.Errorf("Create removed %v (kept %v), want %s among them", next.Removed, next.Kept, dead.Database)
		}
		if slices.Contains(next.Removed, live.URL.Database) || !exists(t, live.URL) {
			t.Errorf("the scratch database %s of a live owner was removed", live.URL.Database)
		}
		if exists(t, dead) {
			t.Errorf("%s, left by a dead owner, still exists", dead.Database)
		}
		if !exists(t, old) {
			t.Errorf("%s, an older Weber's scratch database, was removed", old.Database)
		}
		if err := live.Drop(ctx); err != nil || exists(t, live.URL) {
			t.Errorf("Drop: %v; the database still exists: %v", err, exists(t, live.URL))
		}
	}, testserver.Except(testserver.SQLite, "scratch databases live on a PostgreSQL or MySQL server"))
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
