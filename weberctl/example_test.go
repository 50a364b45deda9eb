package weberctl_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/weberctl"
)

// A project's cmd/weberctl/main.go: its models and its migration folder
// are all weberctl needs; App and Seed add serve and db seed.
func ExampleMain() {
	weberctl.Main(weberctl.Project{
		Tables:     migrate.Tables,
		Migrations: "migrations",
	})
}

// Run is Main without the process: arguments, streams and environment are
// the caller's, and the exit status is returned.
func ExampleRun() {
	dir, err := os.MkdirTemp("", "weberctl-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	p := weberctl.Project{Tables: migrate.Tables, Migrations: filepath.Join(dir, "migrations"), Dialects: []string{"sqlite"}}
	env := map[string]string{"WEBER_DATABASE_URL": "sqlite://" + filepath.Join(dir, "app.db")}
	code := weberctl.Run(context.Background(), p, []string{"weberctl", "db", "revision", "--name", "initial", "--json"},
		nil, io.Discard, os.Stderr, func(k string) string { return env[k] })
	fmt.Println("exit", code)
	entries, _ := os.ReadDir(filepath.Join(dir, "migrations", "sqlite"))
	fmt.Println(len(entries), "files")
	// Output:
	// exit 0
	// 2 files
}
