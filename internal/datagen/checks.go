package datagen

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"ariga.io/atlas/sql/schema"
)

// rule is what the CHECK constraints of a table ask of one column's
// values, in the shapes datagen understands: length bounds, numeric
// ranges, a list of allowed values, not empty, not NULL.
type rule struct {
	minLen, maxLen int // maxLen 0: no bound
	lo, hi         float64
	in             []string
	notNull        bool
}

func newRule() *rule { return &rule{lo: math.Inf(-1), hi: math.Inf(1)} }

// unsatisfiedCheck is a CHECK constraint datagen does not understand. The
// rows it generates may break it; the error then names it.
type unsatisfiedCheck struct {
	name, expr string
}

var (
	castRe      = regexp.MustCompile(`(?i)::\s*(?:"?[a-z_][a-z0-9_ ]*"?)(?:\(\d+\))?(?:\[\])?`)
	parenIdent  = regexp.MustCompile(`(^|[^A-Za-z0-9_])\(\s*([A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?|'(?:[^']|'')*')\s*\)`)
	quotedIdent = regexp.MustCompile("[\"`]([A-Za-z_][A-Za-z0-9_]*)[\"`]")
	betweenRe   = regexp.MustCompile(`(?i)((?:[a-z_]+\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\))|[A-Za-z_][A-Za-z0-9_]*)\s+between\s+(-?\d+(?:\.\d+)?)\s+and\s+(-?\d+(?:\.\d+)?)`)
	andRe       = regexp.MustCompile(`(?i)\s+and\s+`)
	lengthRe    = regexp.MustCompile(`(?i)^(?:char_length|character_length|length|octet_length|len)\(\s*(?:trim\(\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)?\s*\)\s*(>=|<=|<>|!=|=|>|<)\s*(\d+)$`)
	lengthRevRe = regexp.MustCompile(`(?i)^(\d+)\s*(>=|<=|<>|!=|=|>|<)\s*(?:char_length|character_length|length|octet_length|len)\(\s*(?:trim\(\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)?\s*\)$`)
	compareRe   = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|<>|!=|=|>|<)\s*(-?\d+(?:\.\d+)?|'(?:[^']|'')*')$`)
	compareRev  = regexp.MustCompile(`^(-?\d+(?:\.\d+)?)\s*(>=|<=|<>|!=|=|>|<)\s*([A-Za-z_][A-Za-z0-9_]*)$`)
	inRe        = regexp.MustCompile(`(?i)^([A-Za-z_][A-Za-z0-9_]*)\s+in\s*\((.*)\)$`)
	anyRe       = regexp.MustCompile(`(?i)^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*any\s*\(+\s*array\s*\[(.*)\]\s*\)+$`)
	notNullRe   = regexp.MustCompile(`(?i)^([A-Za-z_][A-Za-z0-9_]*)\s+is\s+not\s+null$`)
	jsonValidRe = regexp.MustCompile(`(?i)^json_valid\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$`)
	literalRe   = regexp.MustCompile(`'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)`)
)

// normalizeCheck removes what the dialects add to a stored expression:
// casts (PostgreSQL), quotes around names, parentheses around a single
// name or literal.
func normalizeCheck(expr string) string {
	s := castRe.ReplaceAllString(expr, "")
	s = quotedIdent.ReplaceAllString(s, "$1")
	for {
		next := parenIdent.ReplaceAllString(s, "$1$2")
		if next == s {
			break
		}
		s = next
	}
	return betweenRe.ReplaceAllString(strings.TrimSpace(s), "$1 >= $2 AND $1 <= $3")
}

// stripParens removes parentheses that wrap the whole expression.
func stripParens(s string) string {
	for {
		s = strings.TrimSpace(s)
		if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
			return s
		}
		depth := 0
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 && i < len(s)-1 {
					return s // "(a) AND (b)": the first paren closes early
				}
			}
		}
		s = s[1 : len(s)-1]
	}
}

// rulesOf reads the CHECK constraints of t into rules per column, and
// lists the checks it does not understand.
func rulesOf(t *schema.Table) (map[*schema.Column]*rule, []unsatisfiedCheck) {
	rules := map[*schema.Column]*rule{}
	var unknown []unsatisfiedCheck
	seen := map[string]bool{}
	var checks []*schema.Check
	for _, a := range t.Attrs {
		if c, ok := a.(*schema.Check); ok {
			checks = append(checks, c)
		}
	}
	for _, col := range t.Columns {
		for _, a := range col.Attrs {
			if c, ok := a.(*schema.Check); ok {
				checks = append(checks, c)
			}
		}
	}
	for _, ck := range checks {
		if seen[ck.Name+"\x00"+ck.Expr] {
			continue
		}
		seen[ck.Name+"\x00"+ck.Expr] = true
		for _, part := range andRe.Split(stripParens(normalizeCheck(ck.Expr)), -1) {
			if !applyCheck(t, rules, stripParens(part)) {
				unknown = append(unknown, unsatisfiedCheck{name: ck.Name, expr: ck.Expr})
				break
			}
		}
	}
	return rules, unknown
}

// applyCheck records one conjunct of a check in rules; false when its
// shape is not one datagen understands.
func applyCheck(t *schema.Table, rules map[*schema.Column]*rule, part string) bool {
	ruleOf := func(name string) *rule {
		c, ok := t.Column(name)
		if !ok {
			return nil
		}
		if rules[c] == nil {
			rules[c] = newRule()
		}
		return rules[c]
	}
	switch {
	case jsonValidRe.MatchString(part):
		return true // the generated JSON is valid
	case lengthRe.MatchString(part):
		m := lengthRe.FindStringSubmatch(part)
		n, _ := strconv.Atoi(m[3])
		return ruleOf(m[1]).length(m[2], n)
	case lengthRevRe.MatchString(part):
		m := lengthRevRe.FindStringSubmatch(part)
		n, _ := strconv.Atoi(m[1])
		return ruleOf(m[3]).length(flip(m[2]), n)
	case compareRe.MatchString(part):
		m := compareRe.FindStringSubmatch(part)
		return ruleOf(m[1]).compare(m[2], m[3])
	case compareRev.MatchString(part):
		m := compareRev.FindStringSubmatch(part)
		return ruleOf(m[3]).compare(flip(m[2]), m[1])
	case inRe.MatchString(part), anyRe.MatchString(part):
		m := inRe.FindStringSubmatch(part)
		if m == nil {
			m = anyRe.FindStringSubmatch(part)
		}
		r := ruleOf(m[1])
		if r == nil {
			return false
		}
		for _, lit := range literalRe.FindAllStringSubmatch(m[2], -1) {
			v := lit[2]
			if lit[2] == "" {
				v = strings.ReplaceAll(lit[1], "''", "'")
			}
			r.in = append(r.in, v)
		}
		return len(r.in) > 0
	case notNullRe.MatchString(part):
		if r := ruleOf(notNullRe.FindStringSubmatch(part)[1]); r != nil {
			r.notNull = true
			return true
		}
	}
	return false
}

func flip(op string) string {
	switch op {
	case ">":
		return "<"
	case "<":
		return ">"
	case ">=":
		return "<="
	case "<=":
		return ">="
	}
	return op
}

// length records a bound on the length of the column's values.
func (r *rule) length(op string, n int) bool {
	if r == nil {
		return false
	}
	switch op {
	case ">=":
		r.minLen = max(r.minLen, n)
	case ">":
		r.minLen = max(r.minLen, n+1)
	case "<=":
		r.maxLen = minPositive(r.maxLen, n)
	case "<":
		r.maxLen = minPositive(r.maxLen, n-1)
	case "=":
		r.minLen, r.maxLen = n, n
	case "<>", "!=":
		if n != 0 {
			return false
		}
		r.minLen = max(r.minLen, 1)
	}
	return true
}

// compare records a comparison of the column with a literal.
func (r *rule) compare(op, lit string) bool {
	if r == nil {
		return false
	}
	if strings.HasPrefix(lit, "'") {
		s := strings.ReplaceAll(lit[1:len(lit)-1], "''", "'")
		switch {
		case (op == "<>" || op == "!=") && s == "":
			r.minLen = max(r.minLen, 1)
			return true
		case op == "=":
			r.in = []string{s}
			return true
		}
		return false
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return false
	}
	switch op {
	case ">=":
		r.lo = math.Max(r.lo, f)
	case ">":
		r.lo = math.Max(r.lo, math.Nextafter(f, math.Inf(1)))
	case "<=":
		r.hi = math.Min(r.hi, f)
	case "<":
		r.hi = math.Min(r.hi, math.Nextafter(f, math.Inf(-1)))
	case "=":
		r.in = []string{lit}
	default:
		return false // <> a number: rare, not modelled
	}
	return true
}

func minPositive(a, b int) int {
	if a == 0 {
		return b
	}
	return min(a, b)
}

// intRange returns the integer bounds of the rule within [0, limit).
func (r *rule) intRange(limit int64) (int64, int64) {
	lo, hi := int64(0), limit-1
	if r == nil {
		return lo, hi
	}
	if !math.IsInf(r.lo, -1) {
		lo = int64(math.Ceil(r.lo))
		if lo > hi {
			hi = lo + limit - 1
		}
	}
	if !math.IsInf(r.hi, 1) {
		hi = min(hi, int64(math.Floor(r.hi)))
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// describe names the checks that the rows broke, for the error.
func describeChecks(cs []unsatisfiedCheck) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s (%s)", c.name, strings.Join(strings.Fields(c.expr), " "))
	}
	return strings.Join(parts, ", ")
}

// insertError explains a failed INSERT: when a CHECK constraint rejected
// the rows, it names the checks datagen could not read.
func (tf *tableFill) insertError(err error) error {
	msg := strings.ToLower(err.Error())
	if !strings.Contains(msg, "check") && !strings.Contains(msg, "constraint") {
		return fmt.Errorf("filling table %s: inserting generated rows: %w", tf.t.Name, err)
	}
	if len(tf.unknown) == 0 {
		return fmt.Errorf("filling table %s: the generated rows break a constraint: %w: provide seed data (--seed-file)", tf.t.Name, err)
	}
	return fmt.Errorf("filling table %s: cannot satisfy CHECK %s, whose form datagen does not read (it reads length bounds, numeric ranges, IN lists, <> '' and IS NOT NULL): %w: provide seed data (--seed-file)",
		tf.t.Name, describeChecks(tf.unknown), err)
}
