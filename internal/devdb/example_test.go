package devdb_test

import (
	"context"
	"fmt"
	"github.com/weber-framework/weber/ent/migrate"
	"os"
	"path/filepath"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/devdb"
)

func ExampleEnsure() {
	dir, _ := os.MkdirTemp("", "devdb-example-")
	defer os.RemoveAll(dir)
	u, _ := dbconn.Parse("sqlite://" + filepath.Join(dir, "var", "app.db"))
	ctx := context.Background()

	res, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("created database:", res.DatabaseCreated)
	fmt.Println("created tables:", res.Tables)

	again, _ := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables})
	fmt.Println("second run, nothing to do:", again.NothingToDo())
	// Output:
	// created database: true
	// created tables: [posts tags users post_tags]
	// second run, nothing to do: true
}

func ExampleDrop() {
	dir, _ := os.MkdirTemp("", "devdb-example-")
	defer os.RemoveAll(dir)
	u, _ := dbconn.Parse("sqlite://" + filepath.Join(dir, "app.db"))
	ctx := context.Background()
	if _, err := devdb.Ensure(ctx, u, devdb.EnsureOptions{Tables: migrate.Tables}); err != nil {
		fmt.Println(err)
		return
	}

	// Not on a terminal and no Yes: refused, nothing dropped.
	_, err := devdb.Drop(ctx, u, devdb.DropOptions{})
	fmt.Println("refused:", err != nil)

	res, _ := devdb.Drop(ctx, u, devdb.DropOptions{Yes: true})
	fmt.Println("dropped:", res.Dropped)
	// Output:
	// refused: true
	// dropped: true
}
