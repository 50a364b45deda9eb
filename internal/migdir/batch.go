package migdir

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Batch is a statement marked `-- weber:batch TABLE.KEY SIZE`: a data
// change over many rows that db upgrade runs in ranges of SIZE values of
// TABLE's integer key KEY, each range its own transaction with its
// progress recorded, so that the application is never blocked longer than
// one batch and an interrupted run resumes after the last committed one.
// The statement names the range with {lo} and {hi}:
//
//	-- weber:batch users.id 1000
//	UPDATE users SET first_name = split_part(name, ' ', 1) WHERE id BETWEEN {lo} AND {hi};
type Batch struct {
	// Table and Key name the integer key the ranges cover; Size is the
	// number of key values in one batch.
	Table, Key string
	Size       int64
	// Template is the statement with {lo} and {hi} in place.
	Template string
}

// Range returns the statement for the keys lo through hi.
func (b *Batch) Range(lo, hi int64) string {
	return strings.NewReplacer("{lo}", strconv.FormatInt(lo, 10), "{hi}", strconv.FormatInt(hi, 10)).Replace(b.Template)
}

// batchRe matches the directive in a statement's leading comments.
var batchRe = regexp.MustCompile(`^(?:--|#)\s*weber:batch\b(.*)$`)

// batchArgsRe matches its arguments: TABLE.KEY SIZE.
var batchArgsRe = regexp.MustCompile(`^\s*([A-Za-z_][\w$]*)\.([A-Za-z_][\w$]*)\s+([0-9]+)\s*$`)

// parseBatch reads a `-- weber:batch` directive among a statement's
// comments. A statement with the directive must use {lo} and {hi}; one
// without must not.
func parseBatch(comments []string, text string) (*Batch, error) {
	var b *Batch
	for _, c := range comments {
		m := batchRe.FindStringSubmatch(strings.TrimSpace(c))
		if m == nil {
			continue
		}
		a := batchArgsRe.FindStringSubmatch(m[1])
		if a == nil {
			return nil, fmt.Errorf("directive `-- weber:batch%s` needs TABLE.KEY SIZE, e.g. `-- weber:batch users.id 1000` (an integer key and the number of key values per batch)", m[1])
		}
		size, err := strconv.ParseInt(a[3], 10, 64)
		if err != nil || size < 1 || size > math.MaxInt32 {
			return nil, fmt.Errorf("directive `-- weber:batch%s`: the batch size must be a number from 1 to %d", m[1], math.MaxInt32)
		}
		b = &Batch{Table: a[1], Key: a[2], Size: size, Template: text}
	}
	has := strings.Contains(text, "{lo}") && strings.Contains(text, "{hi}")
	switch {
	case b != nil && !has:
		return nil, fmt.Errorf("a `-- weber:batch` statement must select its rows with {lo} and {hi}, e.g. `WHERE %s BETWEEN {lo} AND {hi}`", b.Key)
	case b == nil && (strings.Contains(text, "{lo}") || strings.Contains(text, "{hi}")):
		return nil, fmt.Errorf("the statement uses {lo}/{hi} but has no `-- weber:batch TABLE.KEY SIZE` directive above it")
	}
	return b, nil
}
