package dbconn

import (
	"crypto/rand"
	"strings"
)

// RandomName returns prefix followed by 26 random lower-case letters and
// digits (crypto/rand.Text, 130 bits): a name no other process picks, and
// safe unquoted as a database name in every dialect when prefix is.
func RandomName(prefix string) string {
	return prefix + strings.ToLower(rand.Text())
}
