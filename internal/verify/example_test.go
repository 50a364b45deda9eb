package verify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"ariga.io/atlas/sql/migrate"

	"github.com/weber-framework/weber/internal/verify"
)

// Rehearse the newest file of a two-file SQLite history on 10 generated
// rows per table. The second file rewrites values it does not own.
func ExampleRun() {
	root, _ := os.MkdirTemp("", "weber-example-")
	defer os.RemoveAll(root)
	dir := filepath.Join(root, "sqlite")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "20260101000000_users.sql"), []byte(
		"CREATE TABLE `users` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `name` text NOT NULL, `email` varchar(255) NOT NULL);\n"+
			"CREATE UNIQUE INDEX `users_email_key` ON `users` (`email`);\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "20260102000000_nickname.sql"), []byte(
		"ALTER TABLE `users` ADD COLUMN `nickname` text NULL;\n"+
			"UPDATE `users` SET `name` = lower(`name`) || '!';\n"), 0o644)
	ld, _ := migrate.NewLocalDir(dir)
	sum, _ := ld.Checksum()
	migrate.WriteSumFile(ld, sum)

	rep, err := verify.Run(context.Background(), verify.Options{Root: root, Rows: 10, NoReverse: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range rep.Dialects {
		for _, s := range d.Steps {
			fmt.Printf("%s  %s: %s\n", s.Status, s.Name, s.Detail)
		}
	}
	fmt.Println("passed:", rep.Passed())
	// Output:
	// pass  build the database at 20260101000000: 1 file applied
	// pass  fill the tables: rows generated: users 10
	// pass  fingerprint the data: 10 rows in 1 table
	// pass  apply 20260102000000_nickname.sql: 2 statements; touches users.nickname
	// pass  no row lost after the upgrade: 10 rows in 1 table before; 10 rows in 1 table after
	// fail  untouched values unchanged after the upgrade: 10 of 10 values of users.name changed although no migration file touches the column (first: id=1: "onyx juniper basil k...amber basil basil" -> "onyx juniper basil k...mber basil basil!"): if a file rewrites it on purpose, say so with `-- weber:touches users.name` in that file
	// pass  foreign keys hold after the upgrade: every reference has its row
	// skip  final schema equals the models: no models given
	// passed: false
}
