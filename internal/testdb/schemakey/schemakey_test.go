package schemakey_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/weber-framework/weber/internal/testdb/schemakey"
)

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func key(t *testing.T, dir string, extra ...string) string {
	t.Helper()
	k, err := schemakey.Dir(dir, extra...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestDirKeyFollowsTheFiles(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		write(t, d, "1_a.sql", "CREATE TABLE a (id int);")
		write(t, d, "atlas.sum", "h1:x")
		os.Mkdir(filepath.Join(d, "sub"), 0o755) // ignored
	}
	base := key(t, a)
	if key(t, b) != base {
		t.Fatal("two directories with the same files have different keys")
	}
	if len(base) != 64 {
		t.Fatalf("key %q is not hex SHA-256", base)
	}
	if key(t, a, "models") == base {
		t.Fatal("extra inputs do not change the key")
	}
	write(t, b, "1_a.sql", "CREATE TABLE a (id bigint);")
	if key(t, b) == base {
		t.Fatal("an edited file does not change the key")
	}
	write(t, b, "1_a.sql", "CREATE TABLE a (id int);")
	os.Rename(filepath.Join(b, "1_a.sql"), filepath.Join(b, "2_a.sql"))
	if key(t, b) == base {
		t.Fatal("a renamed file does not change the key")
	}
	if _, err := schemakey.Dir(filepath.Join(a, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing directory: want fs.ErrNotExist, got %v", err)
	}
}

func TestOfSeparatesParts(t *testing.T) {
	t.Parallel()
	if schemakey.Of("ab", "c") == schemakey.Of("a", "bc") {
		t.Fatal("parts are not delimited")
	}
	if schemakey.Of("x") != schemakey.Of("x") {
		t.Fatal("Of is not deterministic")
	}
}
