package weberctl

import "strings"

// suggest returns the candidate nearest to name, or "" when none is near
// enough to be what the user meant. A candidate "db upgrade" also matches
// by its last word, so `weberctl upgrade` suggests it.
func suggest(name string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		word := c
		if i := strings.LastIndexByte(c, ' '); i >= 0 {
			word = c[i+1:]
		}
		d := min(distance(name, c), distance(name, word))
		if strings.HasPrefix(word, name) && len(name) >= 3 {
			d = min(d, 1)
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist < 0 || bestDist > max(2, len(name)/3) {
		return ""
	}
	return best
}

// distance is the Levenshtein distance between a and b, by bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
