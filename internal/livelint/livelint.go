// Package livelint finds the statements of a migration file that would
// stall a live application: DDL that blocks writes while it builds or
// scans, rewrites a populated table under an exclusive lock, or cannot run
// where it stands. Each finding has a code, the risk in plain words and the
// safe rewrite (squawk's and strong_migrations' rules, for Weber's
// dialects).
//
// It reads statements, not databases: a table created earlier in the same
// file is new and empty, so nothing on it is a finding; any other table is
// taken to hold rows (the upgrade's pre-flight measures how many).
package livelint

import (
	"regexp"
	"strings"

	"entgo.io/ent/dialect"
)

// Finding is one statement that would stall the application.
type Finding struct {
	// Code identifies the rule: WL1xx for PostgreSQL, WL2xx for MySQL and
	// MariaDB. `-- atlas:nolint WL101` (or `live`) silences it.
	Code string
	// Stmt is the statement's 0-based index in the file; Table the table
	// it locks.
	Stmt  int
	Table string
	// Message names the problem in one line.
	Message string
	// Explanation says the risk in plain words; Alternative the safe way.
	Explanation, Alternative string
}

// Analyzer is the name an `-- atlas:nolint` directive uses for every rule.
const Analyzer = "live"

// File is what the rules read of a migration file.
type File struct {
	// Dialect is ent's dialect name.
	Dialect string
	// Stmts are the file's statements, in order.
	Stmts []string
	// Transactional reports that the file runs in one transaction (not
	// `-- atlas:txmode none`, and not MySQL).
	Transactional bool
}

// Lint returns the findings of f, in statement order.
func Lint(f File) []Finding {
	c := &checker{f: f, created: map[string]bool{}, notValid: map[string]int{}}
	for i, s := range f.Stmts {
		c.stmt(i, normalize(s))
	}
	return c.out
}

type checker struct {
	f       File
	created map[string]bool // tables created earlier in the file
	// notValid maps constraints added NOT VALID in this file to their
	// statement, to find a VALIDATE in the same transaction.
	notValid map[string]int
	out      []Finding
}

func (c *checker) add(code string, i int, table, msg string) {
	r := rules[code]
	c.out = append(c.out, Finding{Code: code, Stmt: i, Table: table, Message: msg, Explanation: r[0], Alternative: r[1]})
}

// existing reports whether table was there before the file (and so may
// hold rows).
func (c *checker) existing(table string) bool { return table != "" && !c.created[table] }

var (
	createTableRe = regexp.MustCompile(`^create\s+(?:(?:global\s+|local\s+)?(?:temporary|temp|unlogged)\s+)?table\s+(?:if\s+not\s+exists\s+)?(` + ident + `)`)
	createIndexRe = regexp.MustCompile(`^create\s+(unique\s+)?index\s+(concurrently\s+)?(?:if\s+not\s+exists\s+)?(?:` + ident + `\s+)?on\s+(?:only\s+)?(` + ident + `)`)
	alterTableRe  = regexp.MustCompile(`^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?(` + ident + `)\s+(.*)$`)
	updateRe      = regexp.MustCompile(`^update\s+(?:only\s+)?(` + ident + `)\s`)
	deleteRe      = regexp.MustCompile(`^delete\s+from\s+(?:only\s+)?(` + ident + `)`)
	whereRe       = regexp.MustCompile(`\bwhere\b`)
	limitRe       = regexp.MustCompile(`\blimit\b`)
	concurrentRe  = regexp.MustCompile(`\bconcurrently\b`)
)

// ident matches a possibly qualified, possibly quoted name.
const ident = "(?:" + part + "\\.)?" + part

// part is one name: bare, "double-quoted" or `back-quoted`.
const part = "(?:\"[^\"]+\"|`[^`]+`|[\\w$]+)"

func (c *checker) stmt(i int, s string) {
	if c.f.Transactional && concurrentRe.MatchString(s) &&
		(strings.HasPrefix(s, "create") || strings.HasPrefix(s, "drop index") || strings.HasPrefix(s, "reindex") || strings.HasPrefix(s, "refresh")) {
		c.add("WL102", i, "", "a CONCURRENTLY statement in a file that runs in one transaction (PostgreSQL refuses it there)")
	}
	switch {
	case createTableRe.MatchString(s):
		c.created[table(createTableRe.FindStringSubmatch(s)[1])] = true
	case createIndexRe.MatchString(s):
		m := createIndexRe.FindStringSubmatch(s)
		t := table(m[3])
		if c.f.Dialect == dialect.Postgres && m[2] == "" && c.existing(t) {
			c.add("WL101", i, t, "CREATE INDEX on "+t+", which existed before this file, without CONCURRENTLY blocks its writes while it builds")
		}
	case alterTableRe.MatchString(s):
		m := alterTableRe.FindStringSubmatch(s)
		t := table(m[1])
		if !c.existing(t) {
			return
		}
		if c.f.Dialect == dialect.MySQL {
			c.alterMySQL(i, t, m[2])
		} else if c.f.Dialect == dialect.Postgres {
			c.alterPostgres(i, t, m[2])
		}
	case updateRe.MatchString(s) || deleteRe.MatchString(s):
		m := updateRe.FindStringSubmatch(s)
		if m == nil {
			m = deleteRe.FindStringSubmatch(s)
		}
		t := table(m[1])
		if c.existing(t) && !whereRe.MatchString(s) && !limitRe.MatchString(s) && c.f.Dialect != dialect.SQLite {
			c.add("WL109", i, t, "an UPDATE or DELETE of every row of "+t+" in one statement")
		}
	}
}

var (
	volatileRe     = regexp.MustCompile(`\bdefault\s+(?:\(\s*)?(clock_timestamp|random|gen_random_uuid|uuid_generate_v[14]|timeofday|nextval|txid_current)\s*\(`)
	addColumnRe    = regexp.MustCompile(`\badd\s+(?:column\s+)?(?:if\s+not\s+exists\s+)?` + ident + `\s+(.*)`)
	serialRe       = regexp.MustCompile(`^(small|big)?serial\b`)
	storedRe       = regexp.MustCompile(`\bgenerated\s+always\s+as\s*\(.*\)\s*stored\b`)
	typeChangeRe   = regexp.MustCompile(`\balter\s+(?:column\s+)?(` + ident + `)\s+(?:set\s+data\s+)?type\s+([\w ]+(?:\(\s*\d+(?:\s*,\s*\d+)?\s*\))?)`)
	setNotNullRe   = regexp.MustCompile(`\balter\s+(?:column\s+)?(` + ident + `)\s+set\s+not\s+null\b`)
	addConstrRe    = regexp.MustCompile(`\badd\s+(?:constraint\s+(` + ident + `)\s+)?(foreign\s+key|check|unique|primary\s+key|exclude)\b`)
	notValidRe     = regexp.MustCompile(`\bnot\s+valid\b`)
	usingIndexRe   = regexp.MustCompile(`\busing\s+index\b`)
	validateRe     = regexp.MustCompile(`\bvalidate\s+constraint\s+(` + ident + `)`)
	algorithmRe    = regexp.MustCompile(`\balgorithm\s*=?\s*(\w+)`)
	lockClauseRe   = regexp.MustCompile(`\block\s*=?\s*(\w+)`)
	modifyRe       = regexp.MustCompile(`\b(?:modify|change)\s+(?:column\s+)?`)
	primaryKeyRe   = regexp.MustCompile(`\b(?:add|drop)\s+(?:constraint\s+` + ident + `\s+)?primary\s+key\b`)
	mysqlAddIdxRe  = regexp.MustCompile(`^\s*add\s+(?:unique\s+|fulltext\s+|spatial\s+)?(?:index|key)\b`)
	safeTextTypeRe = regexp.MustCompile(`^(text|varchar|character varying|citext)$`)
)

func (c *checker) alterPostgres(i int, t, rest string) {
	for _, part := range splitTopLevel(rest) {
		part = strings.TrimSpace(part)
		if m := addColumnRe.FindStringSubmatch(part); m != nil && strings.HasPrefix(part, "add") && !addConstrRe.MatchString(part) {
			if volatileRe.MatchString(part) || serialRe.MatchString(m[1]) || storedRe.MatchString(part) {
				c.add("WL103", i, t, "ADD COLUMN on "+t+" with a volatile default or a stored generated value rewrites the whole table under an exclusive lock")
			}
		}
		if m := typeChangeRe.FindStringSubmatch(part); m != nil {
			if !safeTextTypeRe.MatchString(strings.TrimSpace(m[2])) {
				c.add("WL104", i, t, "changing the type of "+t+"."+table(m[1])+" to "+strings.TrimSpace(m[2])+" rewrites the table under an exclusive lock unless the change is binary-coercible")
			}
		}
		if m := setNotNullRe.FindStringSubmatch(part); m != nil {
			c.add("WL105", i, t, "SET NOT NULL on "+t+"."+table(m[1])+" scans the whole table under an exclusive lock")
		}
		if m := addConstrRe.FindStringSubmatch(part); m != nil && strings.HasPrefix(part, "add") {
			c.addConstraint(i, t, table(m[1]), strings.Join(strings.Fields(m[2]), " "), part)
		}
		if m := validateRe.FindStringSubmatch(part); m != nil && c.f.Transactional {
			if _, ok := c.notValid[table(m[1])]; ok {
				c.add("WL107", i, t, "constraint "+table(m[1])+" is added NOT VALID and validated in the same transaction: the lock is held throughout, as if it were added at once")
			}
		}
	}
}

func (c *checker) addConstraint(i int, t, name, kind, part string) {
	switch kind {
	case "foreign key", "check":
		if notValidRe.MatchString(part) {
			if name != "" {
				c.notValid[name] = i
			}
			return
		}
		c.add("WL106", i, t, "ADD "+strings.ToUpper(kind)+" on "+t+" without NOT VALID checks every row while it blocks writes")
	case "unique", "primary key", "exclude":
		if !usingIndexRe.MatchString(part) {
			c.add("WL108", i, t, "ADD "+strings.ToUpper(kind)+" constraint on "+t+" builds its index while it blocks writes")
		}
	}
}

func (c *checker) alterMySQL(i int, t, rest string) {
	algo := algorithmRe.FindStringSubmatch(rest)
	lock := lockClauseRe.FindStringSubmatch(rest)
	switch {
	case algo != nil && algo[1] == "copy":
		c.add("WL202", i, t, "ALTER TABLE "+t+" with ALGORITHM=COPY copies the table while it blocks writes")
	case lock != nil && (lock[1] == "shared" || lock[1] == "exclusive"):
		c.add("WL202", i, t, "ALTER TABLE "+t+" with LOCK="+strings.ToUpper(lock[1])+" blocks writes while it runs")
	}
	if m := addConstrRe.FindStringSubmatch(rest); m != nil && (strings.HasPrefix(m[2], "foreign") || m[2] == "check") {
		c.add("WL205", i, t, "ADD "+strings.ToUpper(strings.Join(strings.Fields(m[2]), " "))+" on "+t+" copies or scans the table while it blocks writes")
	}
	if primaryKeyRe.MatchString(rest) {
		c.add("WL204", i, t, "adding or dropping the primary key of "+t+" rebuilds the whole table")
	} else if modifyRe.MatchString(rest) {
		c.add("WL203", i, t, "MODIFY/CHANGE COLUMN on "+t+" copies the table unless it only renames or widens a VARCHAR within the same length bytes")
	}
	if algo == nil && !onlyIndexes(rest) && !onlyInstant(rest) {
		c.add("WL201", i, t, "ALTER TABLE "+t+" without an ALGORITHM clause lets the server fall back to copying the table")
	}
}

// instantClauseRe matches the ALTER clauses that MariaDB 10.4+ and MySQL
// 8.0.29+ make instantly by default (metadata only): adding or dropping a
// plain column, renaming a column, setting or dropping a default.
var instantClauseRe = regexp.MustCompile(`^(add\s+(column\s+)?` + ident + `\s|drop\s+(column\s+)?` + ident + `$|rename\s+column\s|alter\s+(column\s+)?` + ident + `\s+(set|drop)\s+default\b)`)

// keyWordsRe finds what makes an added column more than metadata.
var keyWordsRe = regexp.MustCompile(`\b(primary|unique|key|index|references|check|constraint|auto_increment|generated|stored|first|after)\b`)

// onlyInstant reports whether every clause of a MySQL ALTER is one the
// server makes instantly (see instantClauseRe): no ALGORITHM clause needed.
func onlyInstant(rest string) bool {
	for _, p := range splitTopLevel(rest) {
		p = strings.TrimSpace(p)
		if !instantClauseRe.MatchString(p) || strings.HasPrefix(p, "add") && keyWordsRe.MatchString(p) {
			return false
		}
	}
	return true
}

// onlyIndexes reports whether every clause of a MySQL ALTER adds or drops
// an index: InnoDB builds those in place without blocking writes.
func onlyIndexes(rest string) bool {
	for _, p := range splitTopLevel(rest) {
		p = strings.TrimSpace(p)
		if !mysqlAddIdxRe.MatchString(p) && !strings.HasPrefix(p, "drop index") && !strings.HasPrefix(p, "drop key") &&
			!strings.HasPrefix(p, "rename index") && !strings.HasPrefix(p, "rename key") {
			return false
		}
	}
	return true
}

// normalize lower-cases a statement outside its string literals and
// collapses comments and white space, so the rules read one shape.
func normalize(s string) string {
	var b strings.Builder
	inStr := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case inStr:
			if ch == '\'' {
				inStr = false
			}
			b.WriteByte(ch)
		case ch == '\'':
			inStr = true
			b.WriteByte(ch)
		case ch == '-' && i+1 < len(s) && s[i+1] == '-', ch == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			b.WriteByte(' ')
		default:
			if 'A' <= ch && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			b.WriteByte(ch)
		}
	}
	return strings.TrimRight(strings.Join(strings.Fields(b.String()), " "), "; ")
}

// splitTopLevel splits an ALTER TABLE's clauses on commas outside
// parentheses and quotes.
func splitTopLevel(s string) []string {
	var out []string
	depth, start, inStr := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case inStr:
			inStr = ch != '\''
		case ch == '\'':
			inStr = true
		case ch == '(':
			depth++
		case ch == ')':
			depth--
		case ch == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// table strips quotes and a schema qualifier from a name.
func table(name string) string {
	name = strings.Trim(strings.TrimSpace(name), "\"`")
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = strings.Trim(name[i+1:], "\"`")
	}
	return name
}
