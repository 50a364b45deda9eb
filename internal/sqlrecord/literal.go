package sqlrecord

import (
	sqldriver "database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"
)

// expand writes args into query in place of its placeholders ($1 on
// PostgreSQL, ? elsewhere), as literals of dialect d. Quoted strings and
// identifiers are copied as they are.
func expand(d, query string, args []any) (string, error) {
	var b strings.Builder
	next := 0 // the next ? placeholder's argument
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			end := skipQuoted(d, query, i)
			b.WriteString(query[i:end])
			i = end - 1
		case c == '$' && d == dialect.Postgres && i+1 < len(query) && isDigit(query[i+1]):
			j := i + 1
			for j < len(query) && isDigit(query[j]) {
				j++
			}
			n, _ := strconv.Atoi(query[i+1 : j])
			if n < 1 || n > len(args) {
				return "", fmt.Errorf("recording SQL: %s has no argument for $%d", clip(query, 60), n)
			}
			lit, err := literal(d, args[n-1])
			if err != nil {
				return "", err
			}
			b.WriteString(lit)
			i = j - 1
		case c == '?' && d != dialect.Postgres:
			if next >= len(args) {
				return "", fmt.Errorf("recording SQL: %s has more placeholders than arguments", clip(query, 60))
			}
			lit, err := literal(d, args[next])
			if err != nil {
				return "", err
			}
			b.WriteString(lit)
			next++
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// skipQuoted returns the index just past the quoted string or identifier
// that starts at query[i] (a doubled quote stays inside; so does a
// backslash-escaped one in a MySQL string).
func skipQuoted(d, query string, i int) int {
	q := query[i]
	for j := i + 1; j < len(query); j++ {
		switch {
		case query[j] == '\\' && q == '\'' && d == dialect.MySQL:
			j++
		case query[j] == q && j+1 < len(query) && query[j+1] == q:
			j++
		case query[j] == q:
			return j + 1
		}
	}
	return len(query)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// literal writes v as a literal of dialect d, the way d's driver would
// have stored it: NULL, numbers, booleans, strings, bytes and times, and
// anything whose underlying kind is one of them (ent's enums) or that is a
// driver.Valuer. Any other value is refused rather than guessed.
func literal(d string, v any) (string, error) {
	if val, ok := v.(sqldriver.Valuer); ok {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return "NULL", nil
		}
		x, err := val.Value()
		if err != nil {
			return "", fmt.Errorf("recording SQL: the value %v: %w", v, err)
		}
		v = x
	}
	switch v := v.(type) {
	case nil:
		return "NULL", nil
	case time.Time:
		return timeLiteral(d, v), nil
	case json.RawMessage:
		return stringLiteral(d, string(v)), nil
	case []byte:
		return bytesLiteral(d, v), nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return boolLiteral(d, rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "", fmt.Errorf("recording SQL: the number %v has no SQL literal", f)
		}
		return strconv.FormatFloat(f, 'g', -1, rv.Type().Bits()), nil
	case reflect.String:
		return stringLiteral(d, rv.String()), nil
	case reflect.Pointer:
		if rv.IsNil() {
			return "NULL", nil
		}
		return literal(d, rv.Elem().Interface())
	}
	return "", fmt.Errorf("recording SQL: a value of type %T has no SQL literal Weber can write; pass a string, number, bool, time or []byte, or write this statement by hand with `weberctl db new`", v)
}

// boolLiteral is true or false: a boolean on PostgreSQL, 1 or 0 (how the
// drivers store a bool) elsewhere.
func boolLiteral(d string, b bool) string {
	switch {
	case d == dialect.Postgres && b:
		return "true"
	case d == dialect.Postgres:
		return "false"
	case b:
		return "1"
	}
	return "0"
}

// stringLiteral quotes s for dialect d. Quotes are doubled, which every
// server reads the same way. A backslash is where they differ (MySQL reads
// it as an escape unless NO_BACKSLASH_ESCAPES is set; PostgreSQL only in
// E-strings): such a string is written so that no setting changes it.
func stringLiteral(d, s string) string {
	quoted := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if !strings.Contains(s, `\`) {
		return quoted
	}
	switch d {
	case dialect.Postgres:
		return "E'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
	case dialect.MySQL:
		return "CONVERT(X'" + hex.EncodeToString([]byte(s)) + "' USING utf8mb4)"
	}
	return quoted // SQLite has no escapes in strings
}

// bytesLiteral is a binary literal of dialect d.
func bytesLiteral(d string, b []byte) string {
	if d == dialect.Postgres {
		return `'\x` + hex.EncodeToString(b) + `'::bytea`
	}
	return "X'" + hex.EncodeToString(b) + "'"
}

// timeLiteral writes t as the drivers store it: PostgreSQL a timestamptz
// with its offset (microseconds); MySQL a DATETIME in UTC (the
// go-sql-driver's default location); SQLite the text modernc.org/sqlite
// writes by default (time.Time.String).
func timeLiteral(d string, t time.Time) string {
	switch d {
	case dialect.Postgres:
		return "'" + t.Format("2006-01-02 15:04:05.999999-07:00") + "'"
	case dialect.MySQL:
		return "'" + t.UTC().Format("2006-01-02 15:04:05.999999") + "'"
	}
	return "'" + t.Round(0).String() + "'"
}
