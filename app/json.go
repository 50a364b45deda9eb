package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"entgo.io/ent/dialect/sql/schema"
	entfield "entgo.io/ent/schema/field"
)

// maxBodyBytes bounds a request body.
const maxBodyBytes = 1 << 20

// Pagination bounds for every list endpoint.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client may have gone; nothing more to do
}

// timestamp formats t as RFC 3339 in UTC, to the second: every backend
// stores at least that precision, so a value reads back as it was written.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func timestampPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timestamp(*t)
	return &s
}

// object is a JSON request body, one raw value per field, so that each
// field's error can name the field and PATCH can tell absent from null.
type object map[string]json.RawMessage

// readObject reads the JSON object of a request for one of table's rows. It
// refuses a body not sent as JSON, fields not in allowed, text holding a NUL
// character (PostgreSQL cannot store one, so no backend gets one), and text
// longer than its column holds, counted in characters as the column counts.
func readObject(w http.ResponseWriter, r *http.Request, table *schema.Table, allowed ...string) (object, error) {
	if err := requireJSON(r); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, badRequest("", "request body is larger than %d bytes", maxBodyBytes)
		}
		return nil, badRequest("", "reading the request body: %v", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, badRequest("", "the request body must be a JSON object")
	}
	var obj object
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, badRequest("", "the request body is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	var unknown []string
	for k := range obj {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, badRequest(unknown[0], "unknown field %q: the fields are %s", unknown[0], strings.Join(allowed, ", "))
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if err := checkText(table, k, obj[k]); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

// requireJSON refuses a request body that is not declared as JSON. A
// browser lets any page post a form or text/plain to another site without
// asking; it does not let it send application/json, so this check is what
// keeps a cross-site form from creating records once the app has sessions.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	got := "no Content-Type"
	if ct != "" {
		got = fmt.Sprintf("Content-Type %q", ct)
	}
	return &inputError{status: http.StatusUnsupportedMediaType,
		msg: "the request body must be JSON sent with the header Content-Type: application/json (got " + got + ")"}
}

// checkText checks the text in a field's raw value: a string, or the
// strings of an array. None may hold a NUL character, and a string may be
// no longer, in characters, than the column of the same name in table.
func checkText(table *schema.Table, name string, raw json.RawMessage) error {
	var one string
	var many []string
	switch {
	case json.Unmarshal(raw, &one) == nil:
		many = []string{one}
	case json.Unmarshal(raw, &many) == nil:
	default:
		return nil // not text: field[T] says what it must be
	}
	for _, s := range many {
		if strings.ContainsRune(s, 0) {
			return badRequest(name, "field %q contains a NUL character (\\u0000), which text may not hold: remove it", name)
		}
	}
	if max := maxChars(table, name); max > 0 && len(many) == 1 && raw[0] == '"' {
		if n := utf8.RuneCountInString(one); n > max {
			return invalid(name, "field %q is %d characters long; it may be at most %d", name, n, max)
		}
	}
	return nil
}

// maxChars is the most characters table's text column name may hold (its
// size in the models), or 0 when it has no limit or there is no such column.
func maxChars(table *schema.Table, name string) int {
	if table == nil {
		return 0
	}
	for _, c := range table.Columns {
		if c.Name == name && c.Type == entfield.TypeString {
			return int(c.Size)
		}
	}
	return 0
}

// checkQuery refuses a query parameter holding a NUL character, which no
// text column can be compared with on PostgreSQL.
func checkQuery(r *http.Request) error {
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			if strings.ContainsRune(v, 0) {
				return badRequest(k, "parameter %q contains a NUL character (%%00): remove it", k)
			}
		}
	}
	return nil
}

// field decodes obj[name]. present reports whether the field was given;
// null gives present and a nil value.
func field[T any](obj object, name string) (v *T, present bool, err error) {
	raw, ok := obj[name]
	if !ok {
		return nil, false, nil
	}
	if string(raw) == "null" {
		return nil, true, nil
	}
	v = new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, true, badRequest(name, "field %q must be %s", name, jsonKind[T]())
	}
	return v, true, nil
}

// required decodes a field that must be present and not null.
func required[T any](obj object, name string) (T, error) {
	var zero T
	v, _, err := field[T](obj, name)
	if err != nil {
		return zero, err
	}
	if v == nil {
		return zero, invalid(name, "field %q is required", name)
	}
	return *v, nil
}

// notNull decodes an optional field that may be absent but not null.
func notNull[T any](obj object, name string) (*T, error) {
	v, present, err := field[T](obj, name)
	if err == nil && present && v == nil {
		return nil, invalid(name, "field %q cannot be null", name)
	}
	return v, err
}

func jsonKind[T any]() string {
	var v T
	switch any(v).(type) {
	case string:
		return "a string"
	case int, int64:
		return "an integer"
	case bool:
		return "true or false"
	case []string:
		return "an array of strings"
	case time.Time:
		return "an RFC 3339 time, e.g. 2026-11-27T10:00:00Z"
	}
	return fmt.Sprintf("a %T", v)
}

// pathID reads the {id} path parameter.
func pathID(r *http.Request) (int, error) {
	s := r.PathValue("id")
	id, err := strconv.Atoi(s)
	if err != nil || id < 1 {
		return 0, badRequest("id", "id %q must be a positive integer", s)
	}
	return id, nil
}

// page is a list request's window: up to Limit items, after the item with
// id After (keyset) or skipping Offset items.
type page struct {
	Limit  int
	After  int
	Offset int
}

// readPage reads ?limit= (1..MaxLimit, default DefaultLimit) and either
// ?after= (an id from a previous page's next_after) or ?offset=.
func readPage(r *http.Request) (page, error) {
	q := r.URL.Query()
	p := page{Limit: DefaultLimit}
	intParam := func(name string, min, max int) (int, bool, error) {
		s := q.Get(name)
		if !q.Has(name) {
			return 0, false, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < min || n > max {
			return 0, true, badRequest(name, "%s must be an integer from %d to %d, got %q", name, min, max, s)
		}
		return n, true, nil
	}
	var err error
	if p.Limit, _, err = intParam("limit", 1, MaxLimit); err != nil {
		return p, err
	}
	if !q.Has("limit") {
		p.Limit = DefaultLimit
	}
	after, hasAfter, err := intParam("after", 0, int(^uint32(0)>>1))
	if err != nil {
		return p, err
	}
	offset, hasOffset, err := intParam("offset", 0, 1_000_000)
	if err != nil {
		return p, err
	}
	if hasAfter && hasOffset {
		return p, badRequest("offset", "use either after or offset, not both")
	}
	p.After, p.Offset = after, offset
	return p, nil
}

// listBody is the JSON body of every list endpoint.
type listBody[T any] struct {
	Items []T `json:"items"`
	// NextAfter, when set, fetches the next page: ?after=NextAfter.
	NextAfter *int `json:"next_after,omitempty"`
}

// pageOf trims the Limit+1 rows a query fetched to the page and says where
// the next page starts.
func pageOf[E any, T any](p page, rows []E, id func(E) int, conv func(E) T) listBody[T] {
	out := listBody[T]{Items: make([]T, 0, min(len(rows), p.Limit))}
	if len(rows) > p.Limit {
		rows = rows[:p.Limit]
		next := id(rows[len(rows)-1])
		out.NextAfter = &next
	}
	for _, r := range rows {
		out.Items = append(out.Items, conv(r))
	}
	return out
}
