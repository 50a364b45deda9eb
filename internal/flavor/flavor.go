// Package flavor tells MySQL 8 from MariaDB and keeps a MySQL-dialect
// history on the flavour it was written for.
//
// The two servers share the mysql:// URL, the driver and the migrations/mysql
// folder, but not the DDL ent emits for them: MariaDB gets a native uuid
// type (MySQL 8 has none), names unnamed checks CONSTRAINT_n and stores a
// unique index on text or blob as a hash (MySQL 8 refuses it without a
// prefix). A history written on one therefore neither replays nor compares
// cleanly on the other. Weber plans for the flavour of the dev server, and
// `weberctl db revision` writes that flavour into the header of every
// MySQL-dialect file it writes:
//
//	-- weber:flavor mariadb
//
// From then on the history is declared: revising, checking, comparing or
// upgrading it against a server of the other flavour is refused with a
// one-line error. A project that must serve both keeps a second history
// under another --dir, revised against a dev server of the other flavour.
package flavor

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"

	"ariga.io/atlas/sql/schema"

	"github.com/weber-framework/weber/internal/migdir"
)

// Flavor is a MySQL-dialect server family.
type Flavor string

// The flavours Weber tells apart. The zero Flavor is an undeclared history.
const (
	MySQL   Flavor = "mysql"
	MariaDB Flavor = "mariadb"
)

// Name is the flavour as people write it: "MySQL" or "MariaDB".
func (f Flavor) Name() string {
	switch f {
	case MySQL:
		return "MySQL"
	case MariaDB:
		return "MariaDB"
	}
	return "an undeclared flavour"
}

// FromVersion returns the flavour of a server by its SELECT VERSION(), e.g.
// "10.11.14-MariaDB-0+deb12u2" (MariaDB) or "8.0.36" (MySQL).
func FromVersion(version string) Flavor {
	if strings.Contains(strings.ToLower(version), "mariadb") {
		return MariaDB
	}
	return MySQL
}

// Of asks the server db is connected to for its version and returns its
// flavour with the version string.
func Of(ctx context.Context, db schema.ExecQuerier) (Flavor, string, error) {
	rows, err := db.QueryContext(ctx, "SELECT VERSION()")
	if err != nil {
		return "", "", fmt.Errorf("asking the server for its version: %w", err)
	}
	defer rows.Close()
	var v string
	if rows.Next() {
		if err := rows.Scan(&v); err != nil {
			return "", "", fmt.Errorf("reading the server's version: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return "", "", fmt.Errorf("reading the server's version: %w", err)
	}
	return FromVersion(v), v, nil
}

// Header is the line that declares a file's flavour, without a newline.
func Header(f Flavor) string { return "-- weber:flavor " + string(f) }

var headerLine = regexp.MustCompile(`^--\s*weber:flavor\s+(\S+)\s*$`)

// File is a history file to read the declaration of.
type File struct {
	Name string
	Body []byte
}

// declared reads the flavour a file's header declares ("" for none). The header
// is the leading block of comment lines.
func declared(body []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "--") {
			return ""
		}
		if m := headerLine.FindStringSubmatch(line); m != nil {
			return strings.ToLower(m[1])
		}
	}
	return ""
}

// Declared returns the flavour a history's files declare, with the first
// file that declares it; "" for a history that declares none (written
// before Weber recorded flavours, or by hand). Files that declare unknown
// or different flavours are an error naming them.
func Declared(files []File) (Flavor, string, error) {
	var got Flavor
	var first string
	for _, f := range files {
		d := declared(f.Body)
		switch {
		case d == "":
			continue
		case Flavor(d) != MySQL && Flavor(d) != MariaDB:
			return "", "", fmt.Errorf("%s declares the unknown flavour %q: write `-- weber:flavor mysql` or `-- weber:flavor mariadb`", f.Name, d)
		case got == "":
			got, first = Flavor(d), f.Name
		case Flavor(d) != got:
			return "", "", fmt.Errorf("%s declares %s but %s declares %s: one history serves one flavour; move the files for the other into their own --dir",
				first, got.Name(), f.Name, Flavor(d).Name())
		}
	}
	return got, first, nil
}

// MismatchError reports a history declared for one flavour, or a live
// database of one flavour, used with a server of the other.
type MismatchError struct {
	// What is what expects Want, e.g. "migrations/mysql was written for".
	What string
	Want Flavor
	// Role names the other server and where it comes from, e.g. "the dev
	// database (WEBER_DEV_MYSQL_URL)".
	Role    string
	Got     Flavor
	Version string // the other server's SELECT VERSION()
	// Fix says what to change.
	Fix string
}

// Error says which flavour is needed and what to change.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s %s, but %s is %s %s: %s", e.What, e.Want.Name(), e.Role, e.Got.Name(), e.Version, e.Fix)
}

// both is the end of every fix for a history: how to serve both flavours.
const both = "; a project that serves both keeps a separate history for each under its own --dir"

// FromMigrate converts Atlas's migration files.
func FromMigrate[F interface {
	Name() string
	Bytes() []byte
}](files []F) []File {
	out := make([]File, len(files))
	for i, f := range files {
		out[i] = File{Name: f.Name(), Body: f.Bytes()}
	}
	return out
}

// Check returns a *MismatchError when history is declared and server is
// the other flavour; nil otherwise (an undeclared history is accepted).
// role names the server, fix says what to change.
func Check(dir string, history, server Flavor, version, role, fix string) error {
	if history == "" || history == server {
		return nil
	}
	return &MismatchError{What: dir + " was written for", Want: history, Role: role, Got: server, Version: version, Fix: fix + both}
}

// FromDir converts a validated folder's files.
func FromDir(files []*migdir.File) []File {
	out := make([]File, len(files))
	for i, f := range files {
		out[i] = File{Name: f.Name, Body: f.Bytes}
	}
	return out
}

// CheckDatabase refuses a MySQL-dialect history declared for one flavour
// used on a database of the other (db is that database, u's redacted form
// names it in the error). A history that declares nothing passes.
func CheckDatabase(ctx context.Context, db schema.ExecQuerier, redacted, dir string, files []File) error {
	hist, _, err := Declared(files)
	if err != nil || hist == "" {
		return err
	}
	server, version, err := Of(ctx, db)
	if err != nil {
		return err
	}
	return Check(dir, hist, server, version, "the database "+redacted,
		"use the history written for "+server.Name()+" (--dir), or a "+hist.Name()+" server")
}

// CheckDev refuses a dev server of another flavour than the live database
// it stands in for: replaying a history there and comparing the result
// with the live database would report the flavours' differences as
// changes made by hand.
func CheckDev(ctx context.Context, live, dev schema.ExecQuerier, devVariable string) error {
	want, _, err := Of(ctx, live)
	if err != nil {
		return err
	}
	got, version, err := Of(ctx, dev)
	if err != nil {
		return err
	}
	if got == want {
		return nil
	}
	return &MismatchError{What: "the database is", Want: want, Role: "the dev database (" + devVariable + ")", Got: got, Version: version,
		Fix: "point " + devVariable + " at a " + want.Name() + " server"}
}
