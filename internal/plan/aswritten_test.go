package plan

import (
	"context"
	"testing"

	"ariga.io/atlas/sql/migrate"
)

// A file marked `-- weber:as-written` controls its own transactions: the
// replay runs it outside its own transaction, as upgrade does, instead of
// failing on the file's BEGIN (SQLite: "cannot start a transaction within
// a transaction") or letting its COMMIT end the replay's transaction.
func TestReplayRunsAsWrittenFiles(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	for _, dia := range dialects {
		t.Run(dia, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, cleanup, err := OpenScratch(ctx, dia, urls[dia])
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cleanup() })
			files := []migrate.File{
				migrate.NewLocalFile("1_a.sql", []byte("CREATE TABLE a (id int);\n")),
				migrate.NewLocalFile("2_b.sql", []byte("-- weber:as-written\n\nBEGIN;\nCREATE TABLE b (id int);\nINSERT INTO a VALUES (1);\nCOMMIT;\n")),
				migrate.NewLocalFile("3_c.sql", []byte("CREATE TABLE c (id int);\n")),
			}
			if n, err := Replay(ctx, db, dia, files, ""); err != nil || n != 3 {
				t.Fatalf("Replay = %d, %v; want 3 files", n, err)
			}
			var rows int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM a").Scan(&rows); err != nil || rows != 1 {
				t.Fatalf("a has %d rows (%v), want 1", rows, err)
			}
			if _, err := db.ExecContext(ctx, "SELECT COUNT(*) FROM c"); err != nil {
				t.Errorf("the file after the as-written one did not run: %v", err)
			}
		})
	}
}
