package sqlrecord

import (
	"strings"
)

// token is one piece of a statement: a name (quoted or not, without its
// quotes), a string, or a punctuation mark.
type token struct {
	text  string
	name  bool // an identifier or keyword
	quote bool // a quoted identifier: never a keyword
}

// keyword reports whether t is the unquoted keyword k.
func (t token) keyword(k string) bool { return t.name && !t.quote && strings.EqualFold(t.text, k) }

// lex splits an ent-built statement (placeholders, no literals but
// perhaps quoted names) into tokens.
func lex(q string) []token {
	var out []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '`':
			end := skipQuoted("", q, i)
			inner := q[i+1 : max(i+1, end-1)]
			out = append(out, token{text: strings.ReplaceAll(inner, string(c)+string(c), string(c)), name: true, quote: true})
			i = end
		case c == '\'':
			end := skipQuoted("", q, i)
			out = append(out, token{text: q[i:end]})
			i = end
		case isWord(c):
			j := i
			for j < len(q) && isWord(q[j]) {
				j++
			}
			out = append(out, token{text: q[i:j], name: true})
			i = j
		default:
			out = append(out, token{text: string(c)})
			i++
		}
	}
	return out
}

func isWord(c byte) bool {
	return c == '_' || c == '$' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// tableAt reads a table name at ts[i] (schema.table gives table) and
// returns it with the index after it.
func tableAt(ts []token, i int) (string, int, bool) {
	if i >= len(ts) || !ts[i].name {
		return "", i, false
	}
	name := ts[i].text
	i++
	for i+1 < len(ts) && ts[i].text == "." && ts[i+1].name {
		name = ts[i+1].text
		i += 2
	}
	return name, i, true
}

// touches reads what an ent-built statement changes: table.column for each
// column an UPDATE sets, table.* for an INSERT or DELETE. ok is false for
// a statement of another shape.
func touches(raw string) (out []string, ok bool) {
	ts := lex(raw)
	if len(ts) == 0 {
		return nil, false
	}
	switch {
	case ts[0].keyword("INSERT"):
		i := 1
		for i < len(ts) && (ts[i].keyword("IGNORE") || ts[i].keyword("OR") || ts[i].keyword("REPLACE")) {
			i++
		}
		if i < len(ts) && ts[i].keyword("INTO") {
			if t, _, ok := tableAt(ts, i+1); ok {
				return []string{t + ".*"}, true
			}
		}
	case ts[0].keyword("DELETE") && len(ts) > 1 && ts[1].keyword("FROM"):
		if t, _, ok := tableAt(ts, 2); ok {
			return []string{t + ".*"}, true
		}
	case ts[0].keyword("UPDATE"):
		return updated(ts)
	}
	return nil, false
}

// updated reads the columns an UPDATE's SET list assigns.
func updated(ts []token) ([]string, bool) {
	table, i, ok := tableAt(ts, 1)
	if !ok || i >= len(ts) || !ts[i].keyword("SET") {
		return nil, false
	}
	var out []string
	for i++; i < len(ts); {
		col, j, ok := tableAt(ts, i) // "users"."bio" or "bio"
		if !ok || j >= len(ts) || ts[j].text != "=" {
			return nil, false
		}
		out = append(out, table+"."+col)
		end, last := skipExpr(ts, j+1)
		if last {
			return out, true
		}
		i = end + 1 // past the comma
	}
	return nil, false
}

// skipExpr skips one assigned expression from ts[i] and returns the index
// of the comma that ends it, or last when the SET list ends there (WHERE,
// RETURNING, ORDER, LIMIT or the statement's end).
func skipExpr(ts []token, i int) (int, bool) {
	depth := 0
	for ; i < len(ts); i++ {
		t := ts[i]
		switch {
		case t.text == "(":
			depth++
		case t.text == ")":
			depth--
		case depth > 0:
		case t.text == ",":
			return i, false
		case t.keyword("WHERE"), t.keyword("RETURNING"), t.keyword("ORDER"), t.keyword("LIMIT"), t.text == ";":
			return i, true
		}
	}
	return i, true
}

// cutReturning drops a RETURNING clause from an ent-built INSERT or UPDATE
// and returns the columns it named.
func cutReturning(q string) (string, []string) {
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted("", q, i) - 1
		case (c == 'R' || c == 'r') && (i == 0 || !isWord(q[i-1])) && len(q) >= i+9 && strings.EqualFold(q[i:i+9], "RETURNING") && (len(q) == i+9 || !isWord(q[i+9])):
			var cols []string
			for _, t := range lex(q[i+9:]) {
				if t.name {
					cols = append(cols, t.text)
				}
			}
			return strings.TrimSpace(q[:i]), cols
		}
	}
	return q, nil
}
