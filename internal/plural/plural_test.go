package plural

import "testing"

func TestCount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		got, want string
	}{
		{Count(0, "row", "rows"), "0 rows"},
		{Count(1, "row", "rows"), "1 row"},
		{Count(2, "row", "rows"), "2 rows"},
		{Count(int64(1), "statement", "statements"), "1 statement"},
		{Count(uint(1), "file", "files"), "1 file"},
		{Count(uint(0), "file", "files"), "0 files"},
		{Noun(int64(1_000_000), "row", "rows"), "rows"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
