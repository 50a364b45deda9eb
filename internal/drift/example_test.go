package drift_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/drift"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/upgrade"
)

func ExampleLive() {
	ctx := context.Background()
	root, _ := os.MkdirTemp("", "weber-drift-example")
	defer os.RemoveAll(root)
	dir := filepath.Join(root, "sqlite")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "1_users.sql"), []byte("CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL);\nCREATE INDEX users_name ON users (name);\n"), 0o644)
	migdir.Rehash(dir)

	u, _ := dbconn.Parse("sqlite://:memory:")
	db, _ := dbconn.Open(ctx, u)
	defer db.Close()
	upgrade.Upgrade(ctx, db, u, dir, upgrade.Options{})

	// Someone changes the database by hand.
	db.Exec("ALTER TABLE users ADD COLUMN nickname text")
	db.Exec("DROP INDEX users_name")

	rep, err := drift.Live(ctx, db, u, dir, "") // SQLite needs no dev server
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("clean:", rep.Clean)
	for _, d := range rep.Differences {
		fmt.Println(d)
	}
	// Output:
	// clean: false
	// column-added users.nickname (text NULL)
	// index-dropped users users_name (on (name))
}
