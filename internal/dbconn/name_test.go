package dbconn

import (
	"regexp"
	"testing"
)

func TestRandomName(t *testing.T) {
	// A plain identifier in SQLite, PostgreSQL and MySQL: no quoting, no
	// case folding, well under PostgreSQL's 63 bytes with a test prefix.
	plain := regexp.MustCompile(`^weber_test_[a-z0-9]{26}$`)
	seen := map[string]bool{}
	for range 100 {
		n := RandomName("weber_test_")
		if !plain.MatchString(n) {
			t.Fatalf("RandomName(%q) = %q, want the prefix and 26 lower-case letters or digits", "weber_test_", n)
		}
		if seen[n] {
			t.Fatalf("RandomName returned %q twice", n)
		}
		seen[n] = true
	}
}
