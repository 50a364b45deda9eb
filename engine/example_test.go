package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"ariga.io/atlas/sql/migrate"

	"github.com/weber-framework/weber/engine"
)

func Example() {
	ctx := context.Background()
	root, err := os.MkdirTemp("", "weber-engine-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(root)
	// A history of two files with its atlas.sum, as `weberctl db revision`
	// writes it.
	folder := filepath.Join(root, "migrations", "sqlite")
	os.MkdirAll(folder, 0o755)
	dir, _ := migrate.NewLocalDir(folder)
	dir.WriteFile("20261127000001_users.sql", []byte("CREATE TABLE users (id integer PRIMARY KEY, name text);\n"))
	dir.WriteFile("20261127000002_posts.sql", []byte("CREATE TABLE posts (id integer PRIMARY KEY);\nCREATE INDEX posts_id ON posts (id);\n"))
	sum, _ := dir.Checksum()
	migrate.WriteSumFile(dir, sum)

	u, err := engine.ParseURL("sqlite://" + filepath.Join(root, "app.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	db, err := engine.Open(ctx, u)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	eng, err := engine.New(db, engine.Config{URL: u, Dir: folder})
	if err != nil {
		fmt.Println(err)
		return
	}

	st, _ := eng.Status(ctx)
	fmt.Println("pending:", len(st.Pending), "up to date:", st.UpToDate())
	res, err := eng.Upgrade(ctx, engine.UpgradeOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range res.Files {
		fmt.Println("applied", f.Name, "-", f.Statements, "statements")
	}
	st, _ = eng.Status(ctx)
	fmt.Println("now at", st.Current, "up to date:", st.UpToDate())
	// Output:
	// pending: 2 up to date: false
	// applied 20261127000001_users.sql - 1 statements
	// applied 20261127000002_posts.sql - 2 statements
	// now at 20261127000002 up to date: true
}
