package upgrade_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"ariga.io/atlas/sql/migrate"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/upgrade"
)

func ExampleUpgrade() {
	ctx := context.Background()
	// A history of two files with its atlas.sum, as `weberctl db revision`
	// writes it.
	root, _ := os.MkdirTemp("", "weber-example")
	defer os.RemoveAll(root)
	dirPath := filepath.Join(root, "sqlite")
	os.Mkdir(dirPath, 0o755)
	dir, _ := migrate.NewLocalDir(dirPath)
	dir.WriteFile("20261127000001_users.sql", []byte("CREATE TABLE users (id integer PRIMARY KEY, name text);\n"))
	dir.WriteFile("20261127000002_posts.sql", []byte("CREATE TABLE posts (id integer PRIMARY KEY);\nCREATE INDEX posts_id ON posts (id);\n"))
	sum, _ := dir.Checksum()
	migrate.WriteSumFile(dir, sum)

	u, _ := dbconn.Parse("sqlite://:memory:")
	db, _ := dbconn.Open(ctx, u)
	defer db.Close()

	res, err := upgrade.Upgrade(ctx, db, u, dirPath, upgrade.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range res.Files {
		fmt.Println(f.Name, f.Statements, "statements")
	}
	res, _ = upgrade.Upgrade(ctx, db, u, dirPath, upgrade.Options{})
	fmt.Println("again, nothing to do:", res.NothingToDo(), "at", res.After)
	// Output:
	// 20261127000001_users.sql 1 statements
	// 20261127000002_posts.sql 2 statements
	// again, nothing to do: true at 20261127000002
}
