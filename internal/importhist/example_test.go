package importhist_test

import (
	"fmt"
	"os"
	"path/filepath"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/importhist"
)

// Import a golang-migrate history into Weber's SQLite folder: the up/down
// pairs become one file each, with versions padded so that 10 stays last.
func ExampleImport() {
	src, _ := os.MkdirTemp("", "golang-migrate-")
	defer os.RemoveAll(src)
	for name, body := range map[string]string{
		"1_users.up.sql":     "CREATE TABLE users (id integer PRIMARY KEY);\n",
		"1_users.down.sql":   "DROP TABLE users;\n",
		"2_posts.up.sql":     "CREATE TABLE posts (id integer PRIMARY KEY, user_id integer REFERENCES users (id));\n",
		"10_vacuum.up.sql":   "VACUUM;\n",
		"10_vacuum.down.sql": "",
	} {
		os.WriteFile(filepath.Join(src, name), []byte(body), 0o644)
	}
	s, err := importhist.Read(importhist.GolangMigrate, src, dialect.SQLite)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := os.MkdirTemp("", "weber-")
	defer os.RemoveAll(out)
	res, err := importhist.Import(s, filepath.Join(out, "sqlite"), dialect.SQLite)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range res.Files {
		fmt.Printf("%s from %v, outside a transaction: %v\n", f.Name, f.Sources, f.NoTx)
	}
	// Output:
	// 01_users.sql from [1_users.up.sql 1_users.down.sql], outside a transaction: false
	// 02_posts.sql from [2_posts.up.sql], outside a transaction: false
	// 10_vacuum.sql from [10_vacuum.up.sql 10_vacuum.down.sql], outside a transaction: true
}
