package plan_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/weber-framework/weber/ent/migrate"
	"github.com/weber-framework/weber/internal/migdir"
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

// LintFiles replays a hand-written history on an in-memory SQLite database
// and finds the column it drops; the second drop is marked intended.
func ExampleLintFiles() {
	dir, err := os.MkdirTemp("", "weber-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	for name, body := range map[string]string{
		"20260101000000_init.sql": "CREATE TABLE users (id integer PRIMARY KEY, bio text, age integer);\n",
		"20260102000000_drop.sql": "ALTER TABLE users DROP COLUMN bio;\n-- atlas:nolint destructive\nALTER TABLE users DROP COLUMN age;\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := migdir.Rehash(dir); err != nil { // what `weberctl db hash` does
		fmt.Println(err)
		return
	}
	rep, err := plan.LintFiles(context.Background(), plan.LintOptions{Dir: dir, Dialect: plan.SQLite})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range rep.Findings() {
		fmt.Println(f.Severity+":", f)
	}
	fmt.Println("errors:", len(rep.Errors()))
	// Output:
	// error: 20260102000000_drop.sql line 1: DS103 Dropping non-virtual column "bio"
	// intended: 20260102000000_drop.sql line 3: DS103 Dropping non-virtual column "age" (marked intended)
	// errors: 1
}
