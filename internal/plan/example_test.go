package plan_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/internal/plan"
)

// Revise writes the first revision of an empty history, then finds nothing
// more to write.
func ExampleRevise() {
	root, err := os.MkdirTemp("", "weber-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(root)
	opts := plan.ReviseOptions{
		Root:     root,
		Dialects: []string{plan.SQLite},
		Name:     "Initial",
		Tables:   migrate.Tables,
		Now:      func() time.Time { return time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC) },
	}
	res, err := plan.Revise(context.Background(), opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range res.Dialects {
		fmt.Println(d.Dialect, filepath.Base(d.File), len(d.Statements), "statements")
	}
	res, err = plan.Revise(context.Background(), opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("written again:", res.Written)
	// Output:
	// sqlite 20261127090000_initial.sql 7 statements
	// written again: false
}
