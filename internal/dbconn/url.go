package dbconn

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/weber-framework/weber/internal/dialect"
)

// URL is a parsed database URL. Its String method never shows the password.
type URL struct {
	// Dialect is ent's dialect name ("sqlite3", "postgres" or "mysql"), as
	// dialect.Dialect.Ent returns it.
	Dialect string
	// Database is the database name on PostgreSQL and MySQL, and the file
	// path on SQLite ("" for an in-memory database).
	Database string
	// Memory reports an in-memory SQLite database.
	Memory bool

	raw     string   // the URL as given; holds the password
	u       *url.URL // nil for SQLite
	query   url.Values
	secrets []string
}

// Parse parses a database URL. Its errors never contain the password.
func Parse(raw string) (*URL, error) {
	raw = strings.TrimSpace(raw)
	secrets := Secrets(raw, 1)
	fail := func(format string, args ...any) error {
		return &Error{msg: fmt.Sprintf(format, args...)}
	}
	if raw == "" {
		return nil, fail("no database URL: pass --database-url or set WEBER_DATABASE_URL, e.g. sqlite://var/weber.db")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fail("database URL %q has no scheme: write it as sqlite://PATH, postgres://USER:PASSWORD@HOST/DB or mysql://USER:PASSWORD@HOST/DB", redactRaw(raw))
	}
	d, ok := dialect.FromScheme(scheme)
	switch {
	case !ok:
		return nil, fail("unknown database URL scheme %q: use sqlite://, postgres:// or mysql://", scheme)
	case d == dialect.SQLite:
		return parseSQLite(raw, rest, secrets)
	}
	return parseServer(raw, d.Ent(), secrets)
}

func parseSQLite(raw, rest string, secrets []string) (*URL, error) {
	path, rawQuery, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, &Error{msg: fmt.Sprintf("database URL %s: malformed query options: write them as ?key=value&key=value", redactRaw(raw))}
	}
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	u := &URL{Dialect: dialect.SQLite.Ent(), raw: raw, query: q}
	switch {
	case path == ":memory:" || q.Get("mode") == "memory":
		// Each parsed in-memory URL is its own database: sqlite://NAME?mode=memory
		// keeps NAME for messages, and a random suffix keeps two pools apart.
		u.Memory = true
		if path == "" || path == ":memory:" {
			path = "memory"
		}
		if q.Get("_name") == "" {
			q.Set("_name", RandomName(path+"-"))
		}
	case path == "":
		return nil, &Error{msg: "database URL sqlite:// names no file: write sqlite://var/weber.db (relative) or sqlite:///abs/path.db"}
	default:
		u.Database = filepath.Clean(path)
	}
	return u, nil
}

func parseServer(raw, dia string, secrets []string) (*URL, error) {
	fail := func(format string, args ...any) error {
		return &Error{msg: fmt.Sprintf(format, args...)}
	}
	pu, err := url.Parse(raw)
	if c := unencodedInUserinfo(raw); c != "" && (err != nil || misplacedAt(pu)) {
		// An unencoded '/', '?' or '#' in the password ends the host early,
		// and net/url then complains about the port or the path.
		return nil, fail("database URL %s is malformed: the password contains an unencoded %q, which ends the host part early: "+
			"percent-encode it as %s (and @ as %%40, : as %%3A, %% as %%25)", redactRaw(raw), c, percentCodes[c])
	}
	if err != nil {
		// net/url's errors quote the whole URL, password included: say what
		// is wrong in our own words instead.
		return nil, fail("database URL %s is malformed: %s", redactRaw(raw), describeURLError(err))
	}
	if pu.Port() != "" {
		if _, err := net.LookupPort("tcp", pu.Port()); err != nil {
			return nil, fail("database URL %s has an invalid port %q", redactRaw(raw), pu.Port())
		}
	}
	name := strings.TrimPrefix(pu.Path, "/")
	if name == "" || strings.Contains(name, "/") {
		return nil, fail("database URL %s names no database: add it after the host, e.g. %s://HOST/myapp", redactRaw(raw), pu.Scheme)
	}
	if err := ValidateName(name); err != nil {
		return nil, &Error{msg: fmt.Sprintf("database URL %s: %v", redactRaw(raw), err)}
	}
	return &URL{Dialect: dia, Database: name, raw: raw, u: pu, query: pu.Query()}, nil
}

// percentCodes are the characters that end a URL's user info early, with
// their percent-encodings.
var percentCodes = map[string]string{"/": "%2F", "?": "%3F", "#": "%23"}

// unencodedInUserinfo returns the first '/', '?' or '#' in what stands
// between the scheme and the last '@' of a URL, where only the user name
// and password can be; "" when there is none or no '@'.
func unencodedInUserinfo(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ""
	}
	info := rest[:at]
	if i := strings.IndexAny(info, "/?#"); i >= 0 && strings.Contains(info[:i], ":") {
		return info[i : i+1]
	}
	return ""
}

// misplacedAt reports a URL without user info whose '@' landed in the path
// (or, with no path, in the query or fragment): the sign of a password that
// ended the host part early.
func misplacedAt(pu *url.URL) bool {
	if pu.User != nil {
		return false
	}
	return strings.Contains(pu.Path, "@") || pu.Path == "" && strings.Contains(pu.RawQuery+pu.Fragment, "@")
}

// ValidateName rejects database names that cannot be quoted safely everywhere.
func ValidateName(name string) error {
	switch {
	case name == "":
		return errors.New("empty database name")
	case len(name) > 63:
		return fmt.Errorf("database name %q is longer than 63 characters", name)
	case strings.ContainsAny(name, "\x00`\"'\\;/"):
		return fmt.Errorf("database name %q contains a quote, backslash, slash or semicolon: use letters, digits, '_' and '-'", name)
	}
	return nil
}

// describeURLError reduces a net/url error to its cause, without the URL.
func describeURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var esc url.EscapeError
	if errors.As(err, &esc) {
		return "a '%' is not followed by two hex digits: percent-encode special characters in the password (% as %25, @ as %40, / as %2F)"
	}
	msg := err.Error()
	if strings.Contains(msg, "invalid port") {
		return "the port is not a number"
	}
	return "check its form: SCHEME://USER:PASSWORD@HOST:PORT/DATABASE"
}

// String returns the URL with its password replaced by "xxxxx".
func (u *URL) String() string { return u.Redacted() }

// Redacted returns the URL with its password replaced by "xxxxx".
func (u *URL) Redacted() string {
	if u.u == nil {
		return redactRaw(u.raw)
	}
	c := *u.u
	if c.User != nil {
		if _, has := c.User.Password(); has {
			c.User = url.UserPassword(c.User.Username(), "xxxxx")
		}
	}
	if q := c.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		c.RawQuery = q.Encode()
	}
	return strings.Replace(c.String(), "xxxxx@", "xxxxx@", 1)
}

// WithDatabase returns the same server URL naming another database. It
// panics on SQLite, whose "database" is a file.
func (u *URL) WithDatabase(name string) *URL {
	if u.u == nil {
		c := *u
		c.Database, c.Memory = name, false
		c.raw = "sqlite://" + name
		return &c
	}
	c := *u
	pu := *u.u
	pu.Path = "/" + name
	pu.RawPath = ""
	c.u, c.Database = &pu, name
	c.raw = pu.String()
	return &c
}

// Host describes where the database lives, for messages: the file for SQLite,
// host:port for servers.
func (u *URL) Host() string {
	if u.u == nil {
		if u.Memory {
			return "memory"
		}
		return u.Database
	}
	if h := u.query.Get("host"); h != "" {
		return h
	}
	if s := u.query.Get("socket"); s != "" {
		return s
	}
	return u.u.Host
}

// driverDSN returns the driver name and the DSN to open this URL with. When
// server is true the DSN names the server's maintenance database instead.
func (u *URL) driverDSN(maintenance bool) (string, string, error) {
	d, err := dialect.Parse(u.Dialect)
	if err != nil {
		return "", "", err
	}
	switch d {
	case dialect.SQLite:
		return d.Driver(), u.sqliteDSN(), nil
	case dialect.Postgres:
		pu := *u.u
		pu.Scheme = "postgres"
		if maintenance {
			pu.Path = "/postgres"
		}
		q := pu.Query()
		if !q.Has("sslmode") && isLocal(pu.Hostname()) {
			// Local servers rarely have TLS; pgx would otherwise try it first.
			q.Set("sslmode", "disable")
		}
		if !q.Has("default_query_exec_mode") {
			// No named prepared statements, which pgx caches per
			// connection by default: a transaction-pooling PgBouncer
			// (before 1.21, or without max_prepared_statements) hands the
			// next transaction another server connection, where the name
			// is unknown or already taken. "exec" sends each query with
			// its parameters in one round trip and the unnamed statement.
			q.Set("default_query_exec_mode", "exec")
		}
		if !q.Has("application_name") {
			// Names Weber's sessions in pg_stat_activity, for the DBA who
			// wonders who holds a lock.
			q.Set("application_name", "weberctl")
		}
		pu.RawQuery = q.Encode()
		return d.Driver(), pu.String(), nil
	}
	return d.Driver(), u.mysqlConfig(maintenance).FormatDSN(), nil
}

// mysqlConfig is go-sql-driver/mysql's configuration for this URL.
func (u *URL) mysqlConfig(maintenance bool) *mysql.Config {
	cfg := mysql.NewConfig()
	if u.u.User != nil {
		cfg.User = u.u.User.Username()
		cfg.Passwd, _ = u.u.User.Password()
	}
	q := u.u.Query()
	if s := q.Get("socket"); s != "" {
		cfg.Net, cfg.Addr = "unix", s
		q.Del("socket")
	} else {
		cfg.Net, cfg.Addr = "tcp", u.u.Host
		if u.u.Port() == "" {
			cfg.Addr = net.JoinHostPort(u.u.Hostname(), "3306")
		}
	}
	if !maintenance {
		cfg.DBName = u.Database
	}
	cfg.ParseTime = true
	cfg.Params = map[string]string{}
	for k := range q {
		cfg.Params[k] = q.Get(k)
	}
	if _, ok := cfg.Params["charset"]; !ok {
		cfg.Params["charset"] = "utf8mb4"
	}
	if v, ok := cfg.Params["connectionAttributes"]; ok {
		cfg.ConnectionAttributes = v
		delete(cfg.Params, "connectionAttributes")
	} else {
		// Names Weber's sessions in performance_schema, for the DBA.
		cfg.ConnectionAttributes = "program_name:weberctl"
	}
	return cfg
}

func isLocal(host string) bool {
	return host == "" || host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// sqliteDSN builds modernc.org/sqlite's DSN: the user's options plus Weber's
// defaults for those not given.
func (u *URL) sqliteDSN() string {
	q := url.Values{}
	for k, v := range u.query {
		if k == "_fk" { // Atlas's spelling of foreign_keys=on
			continue
		}
		q[k] = v
	}
	pragmas := q["_pragma"]
	has := func(name string) bool {
		for _, p := range pragmas {
			if strings.HasPrefix(strings.ToLower(p), name) {
				return true
			}
		}
		return false
	}
	if !has("foreign_keys") {
		pragmas = append(pragmas, "foreign_keys(1)")
	}
	if !has("busy_timeout") {
		pragmas = append(pragmas, "busy_timeout(10000)")
	}
	if !u.Memory && !has("journal_mode") {
		pragmas = append(pragmas, "journal_mode(WAL)")
	}
	q["_pragma"] = pragmas
	if !q.Has("_txlock") {
		q.Set("_txlock", "immediate")
	}
	if u.Memory {
		// A private named in-memory database shared by this pool's connections.
		name := u.query.Get("_name")
		q.Del("_name")
		q.Set("mode", "memory")
		q.Set("cache", "shared")
		return "file:" + name + "?" + q.Encode()
	}
	return "file:" + u.Database + "?" + q.Encode()
}

// Secrets returns the passwords that raw carries, even when raw is not a
// valid URL (no scheme, a bad escape, a "password=" query or key=value
// pair), each as written, percent-decoded and query-escaped, so that text
// can be scrubbed of them. A password shorter than minLen is left out with
// its forms: a caller that scrubs all of its output passes a floor so that
// a short password does not blank ordinary words.
func Secrets(raw string, minLen int) []string {
	var out []string
	add := func(s string) {
		if s == "" || len(s) < minLen {
			return
		}
		out = append(out, s)
		if un, err := url.PathUnescape(s); err == nil && un != s {
			out = append(out, un)
		}
		if esc := url.QueryEscape(s); esc != s {
			out = append(out, esc)
		}
	}
	// A URL without a scheme ("user:pass@host/db") still carries a password.
	rest := raw
	if _, r, ok := strings.Cut(raw, "://"); ok {
		rest = r
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if _, pass, ok := strings.Cut(rest[:at], ":"); ok {
			add(pass)
		}
	}
	for _, part := range strings.FieldsFunc(raw, func(r rune) bool { return r == '?' || r == '&' || r == ' ' }) {
		if v, ok := strings.CutPrefix(part, "password="); ok {
			add(v)
		}
	}
	return out
}

// Redact returns raw, a database URL or a command-line argument holding
// one (--database-url=URL), with the password replaced by "xxxxx", even
// when it does not parse: the text between the user name's ':' and the
// last '@' of the user info, and any password= value.
func Redact(raw string) string { return redactRaw(raw) }

// passwordParam finds password=VALUE in a query string or a key=value DSN.
var passwordParam = regexp.MustCompile(`(password=)[^&\s]*`)

// redactRaw shows a URL that may not parse, without its password: the text
// between the user name's ':' and the last '@' of the user info, and any
// password= value, become "xxxxx". It works by position, so a password that
// also occurs elsewhere in the URL (as the user or database name) leaves
// those intact.
func redactRaw(raw string) string {
	out := raw
	if i := strings.Index(out, "://"); i >= 0 {
		rest := out[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if c := strings.Index(rest[:at], ":"); c >= 0 {
				out = out[:i+3] + rest[:c+1] + "xxxxx" + rest[at:]
			}
		}
	} else if at := strings.LastIndex(out, "@"); at >= 0 {
		if c := strings.Index(out[:at], ":"); c >= 0 {
			out = out[:c+1] + "xxxxx" + out[at:]
		}
	}
	return passwordParam.ReplaceAllString(out, "${1}xxxxx")
}

func redactString(s string, secrets []string) string {
	for _, p := range secrets {
		if p != "" {
			s = strings.ReplaceAll(s, p, "xxxxx")
		}
	}
	return s
}
