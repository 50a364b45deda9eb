// Package fleet runs one database operation over many databases: the
// tenants or shards of one application, each with the same migration
// history. It owns the list of targets (read from a file, given as a list,
// or matched by a pattern on a server or in a folder) and the run: a
// parallelism limit, a canary, stopping on the first failure or going on,
// a report rewritten after every target so that a run that was stopped
// can be resumed, and a stop that lets running targets finish.
//
// The operation itself (an upgrade, a status) is the caller's: fleet never
// opens a migration folder and never prints.
package fleet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
)

// Target is one database of the fleet.
type Target struct {
	// Name identifies the target in reports: its URL without the password.
	Name string
	// URL is the parsed database URL.
	URL *dbconn.URL
}

// NewTarget parses one database URL into a Target.
func NewTarget(raw string) (Target, error) {
	u, err := dbconn.Parse(raw)
	if err != nil {
		return Target{}, err
	}
	return Target{Name: u.Redacted(), URL: u}, nil
}

// List parses database URLs given one by one (a flag given several times,
// or a comma-separated list) into targets, in the order given, without
// duplicates.
func List(raws []string) ([]Target, error) {
	var out []Target
	for _, r := range raws {
		for _, one := range strings.Split(r, ",") {
			if one = strings.TrimSpace(one); one == "" {
				continue
			}
			t, err := NewTarget(one)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
	}
	return dedupe(out), nil
}

// Read reads targets from r: one database URL per line; blank lines and
// lines starting with # are skipped. name says where the lines come from,
// for errors ("targets.txt line 3: ...").
func Read(r io.Reader, name string) ([]Target, error) {
	var out []Target
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		t, err := NewTarget(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", name, n, err)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return dedupe(out), nil
}

// ReadFile reads targets from the file at path ("-": standard input, given
// as stdin).
func ReadFile(path string, stdin io.Reader) ([]Target, error) {
	if path == "-" {
		return Read(stdin, "standard input")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the targets file: %w (write one database URL per line)", err)
	}
	defer f.Close()
	return Read(f, path)
}

// Match expands a pattern into targets: a database URL whose database name
// (on PostgreSQL and MySQL) or file name (on SQLite) holds a * that matches
// any run of characters, e.g. postgres://app@db/tenant_* or
// sqlite://var/tenants/*.db. Server databases are listed on the server;
// system databases never match. The targets come sorted by name; a pattern
// that matches nothing is an error.
func Match(ctx context.Context, pattern string) ([]Target, error) {
	u, err := dbconn.Parse(pattern)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(u.Database, "*") {
		return nil, fmt.Errorf("pattern %s has no * in its database name: write e.g. %s", u.Redacted(), exampleFor(u.Dialect))
	}
	var names []string
	if u.Dialect == dialect.SQLite {
		names, err = filepath.Glob(u.Database)
	} else {
		names, err = serverDatabases(ctx, u)
	}
	if err != nil {
		return nil, fmt.Errorf("listing the databases that match %s: %w", u.Redacted(), err)
	}
	var out []Target
	for _, name := range names {
		if u.Dialect != dialect.SQLite {
			if ok, _ := path.Match(u.Database, name); !ok {
				continue
			}
		}
		t := u.WithDatabase(name)
		if _, system := t.SystemDatabase(); system {
			continue
		}
		out = append(out, Target{Name: t.Redacted(), URL: t})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no database matches %s: check the pattern (* matches any characters in the database name)", u.Redacted())
	}
	slices.SortFunc(out, func(a, b Target) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// serverDatabases lists the databases of u's server.
func serverDatabases(ctx context.Context, u *dbconn.URL) ([]string, error) {
	db, err := dbconn.OpenServer(ctx, u)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	q := "SELECT schema_name FROM information_schema.schemata"
	if u.Dialect == dialect.Postgres {
		q = "SELECT datname FROM pg_database WHERE datallowconn"
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

func exampleFor(dia string) string {
	switch dia {
	case dialect.SQLite:
		return "sqlite://var/tenants/*.db"
	case dialect.MySQL:
		return "mysql://app@db.internal/tenant_*"
	default:
		return "postgres://app@db.internal/tenant_*"
	}
}

// dedupe drops later targets that name a database already listed.
func dedupe(ts []Target) []Target {
	seen := map[string]bool{}
	out := ts[:0]
	for _, t := range ts {
		if seen[t.Name] {
			continue
		}
		seen[t.Name] = true
		out = append(out, t)
	}
	return out
}
