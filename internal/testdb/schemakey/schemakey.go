// Package schemakey names a database schema by what builds it: the bytes of
// a migration directory's files (names and contents) plus any extra inputs
// the caller adds (the models' SQL when a dialect has no history, a version
// string). Two processes reading the same files get the same key, so
// sqlitesnap and pgtemplate can share a built schema across tests and, on a
// server, across the test processes of one `go test ./...` run.
package schemakey

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"sort"
)

// Dir returns the hex SHA-256 of every regular file directly in dir (sorted
// by name; each name and its contents length-prefixed) followed by extra.
// Sub-directories are ignored. A missing directory is an error that wraps
// fs.ErrNotExist, so a caller can fall back to keying the models with Of.
func Dir(dir string, extra ...string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("hashing migration directory %s: %w: check the path", dir, err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	h := sha256.New()
	writePart(h, "dir")
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return "", fmt.Errorf("hashing migration file %s: %w", filepath.Join(dir, n), err)
		}
		writePart(h, n)
		writePart(h, string(b))
	}
	writePart(h, "extra")
	for _, x := range extra {
		writePart(h, x)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Of returns the hex SHA-256 of parts, each length-prefixed so that
// ("ab", "c") and ("a", "bc") differ.
func Of(parts ...string) string {
	h := sha256.New()
	writePart(h, "parts")
	for _, p := range parts {
		writePart(h, p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writePart(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}
