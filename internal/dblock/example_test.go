package dblock_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/dblock"
)

func ExampleAcquire() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "dblock-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	u, err := dbconn.Parse("sqlite://" + filepath.Join(dir, "app.db"))
	if err != nil {
		panic(err)
	}
	if _, err := dbconn.EnsureDatabase(ctx, u); err != nil {
		panic(err)
	}
	db, err := dbconn.Open(ctx, u)
	if err != nil {
		panic(err)
	}
	defer db.Close()

	lock, err := dblock.Acquire(ctx, db, u, 30*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lock.Release()
	// Read what is pending only now, under the lock, and apply it through db.

	// Any other schema change on this database, in this process or another,
	// waits for Release or times out.
	_, err = dblock.Acquire(ctx, db, u, 0)
	fmt.Println(errors.Is(err, dblock.ErrTimeout))
	// Output: true
}
