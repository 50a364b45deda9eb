// Package plural words a count in English for Weber's messages, so that no
// message says "1 rows" or "1 files are": every count of a noun in the
// engine and the CLI goes through it.
package plural

import (
	"fmt"
	"strconv"
	"strings"
)

// Integer is any integer type a count comes in.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// Noun returns one when n is 1, else many: "row" or "rows".
func Noun[N Integer](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Count returns n and the noun in the right number: "1 row", "0 rows",
// "3 rows".
func Count[N Integer](n N, one, many string) string {
	return fmt.Sprintf("%d %s", n, Noun(n, one, many))
}

// Thousands writes n with thousands separators: 1204 -> "1,204".
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
