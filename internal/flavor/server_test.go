package flavor_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/drift"
	"github.com/weber-framework/weber/internal/flavor"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"github.com/weber-framework/weber/internal/upgrade"
)

// other is the flavour the test server is not.
func other(f flavor.Flavor) flavor.Flavor {
	if f == flavor.MariaDB {
		return flavor.MySQL
	}
	return flavor.MariaDB
}

// TestHistoryOfTheOtherFlavourIsRefused is scenario "Server flavour" on a real server: a
// history declared for the other flavour is refused by upgrade, downgrade
// and the drift comparison before anything runs, in one line naming the
// folder; nothing is applied.
func TestHistoryOfTheOtherFlavourIsRefused(t *testing.T) {
	t.Parallel()
	b := testserver.Lookup(t, "mysql")
	db, u := testserver.NewEmpty(t, b, nil)
	ctx := t.Context()
	server, _, err := flavor.Of(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "mysql")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := flavor.Header(other(server)) + "\n\nCREATE TABLE t (id bigint NOT NULL PRIMARY KEY);\n"
	if err := os.WriteFile(filepath.Join(dir, "1_t.sql"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := migdir.Rehash(dir); err != nil {
		t.Fatal(err)
	}
	_, err = upgrade.Upgrade(ctx, db, u, dir, upgrade.Options{})
	var me *flavor.MismatchError
	if !errors.As(err, &me) || me.Got != server || !strings.Contains(err.Error(), dir+" was written for "+other(server).Name()) {
		t.Fatalf("Upgrade of a %s history on %s = %v, want a *flavor.MismatchError naming %s", other(server), server, err, dir)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the refused upgrade left %d tables", n)
	}
	if _, err := upgrade.Downgrade(ctx, db, u, dir, upgrade.DowngradeOptions{DevURL: b.URL}); !errors.As(err, &me) {
		t.Errorf("Downgrade = %v, want a *flavor.MismatchError", err)
	}
	if _, err := drift.Live(ctx, db, u, dir, b.URL); !errors.As(err, &me) {
		t.Errorf("drift.Live = %v, want a *flavor.MismatchError", err)
	}
}

// TestDowngradeKeepsTheDefaultCollation: on a database created with the
// server's default collation, going back one file drops what that file
// created and nothing else; the dev database the history is replayed on
// takes the live database's default (liveschema.PrepareDev), so no table
// is re-collated.
func TestDowngradeKeepsTheDefaultCollation(t *testing.T) {
	t.Parallel()
	b := testserver.Lookup(t, "mysql")
	db, u := testserver.NewEmpty(t, b, nil)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, "ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "mysql")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"1_plain.sql": "CREATE TABLE plain (id bigint NOT NULL PRIMARY KEY, name varchar(50) NOT NULL);\n",
		"2_more.sql":  "CREATE TABLE more (id bigint NOT NULL PRIMARY KEY, note text NULL);\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := migdir.Rehash(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := upgrade.Upgrade(ctx, db, u, dir, upgrade.Options{}); err != nil {
		t.Fatal(err)
	}
	res, err := upgrade.Downgrade(ctx, db, u, dir, upgrade.DowngradeOptions{DevURL: b.URL, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Statements) != 1 || !strings.Contains(res.Statements[0], "DROP TABLE `more`") {
		t.Fatalf("downgrade plan on a utf8mb4_general_ci database = %q, want only DROP TABLE `more`", res.Statements)
	}
}
