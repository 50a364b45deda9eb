package dbconn_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// Queries with parameters through a transaction-pooling PgBouncer 1.18:
// pgx's default caches a named prepared statement per connection, and the
// pooler lends the next query another server connection, where that name
// is unknown or already taken by another client ("prepared statement
// stmtcache_... already exists"). Weber's URLs use the unnamed statement.
func TestQueriesThroughPgBouncer(t *testing.T) {
	t.Parallel()
	b := testserver.PgBouncer(t)
	u := testserver.NewURL(t, b, nil)
	ctx := context.Background()
	if _, err := dbconn.EnsureDatabase(ctx, u); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for c := range 4 {
		wg.Go(func() {
			db, err := dbconn.Open(ctx, u)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			db.SetMaxOpenConns(2)
			for i := range 50 {
				var got int
				if err := db.QueryRowContext(ctx, "SELECT $1::int + $2::int", i, c).Scan(&got); err != nil {
					errs <- fmt.Errorf("client %d, query %d: %w", c, i, err)
					return
				}
				if got != i+c {
					errs <- fmt.Errorf("client %d, query %d: got %d, want %d", c, i, got, i+c)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
