package plan

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/weber-framework/weber/internal/flavor"
)

// checkDevFlavor refuses a MySQL-dialect history declared for one flavour
// (MySQL 8 or MariaDB) planned on a dev server of the other: ent emits
// different DDL for each, and the server normalises the models its own
// way, so the comparison would report false changes. Other dialects and
// undeclared histories pass.
func checkDevFlavor(ctx context.Context, db *sql.DB, folder, dir string, files []flavor.File) error {
	if folder != MySQL {
		return nil
	}
	hist, _, err := flavor.Declared(files)
	if err != nil {
		return wrapf("planning mysql ("+dir+")", err)
	}
	if hist == "" {
		return nil
	}
	server, version, err := flavor.Of(ctx, db)
	if err != nil {
		return wrapf("planning mysql", err)
	}
	v := DevURLVariable(MySQL)
	return flavor.Check(dir, hist, server, version, "the dev database ("+v+")", "point "+v+" at a "+hist.Name()+" server")
}

// flavorHeader returns the header line that declares the flavour of the
// MySQL-dialect server db is on ("" for other dialects).
func flavorHeader(ctx context.Context, db *sql.DB, folder string) (string, error) {
	if folder != MySQL {
		return "", nil
	}
	f, _, err := flavor.Of(ctx, db)
	if err != nil {
		return "", wrapf("planning mysql", err)
	}
	return flavor.Header(f), nil
}

// firstDeclaration warns when a revision is about to declare the flavour
// of a MySQL-dialect history that had files but declared none: from now
// on the whole history is held to the dev server's flavour, which is
// right only if those files were written for it. "" when there is nothing
// to say.
func firstDeclaration(ctx context.Context, db *sql.DB, folder, dir string, files []flavor.File) string {
	if folder != MySQL || len(files) == 0 {
		return ""
	}
	if hist, _, err := flavor.Declared(files); err != nil || hist != "" {
		return ""
	}
	server, version, err := flavor.Of(ctx, db)
	if err != nil {
		return ""
	}
	other := flavor.MySQL
	if server == flavor.MySQL {
		other = flavor.MariaDB
	}
	return fmt.Sprintf("%s declared no server flavour: this revision declares %s, the dev server's (%s), for the whole history; "+
		"if production runs %s, delete the new file, restore atlas.sum and revise against a %s dev server",
		dir, server.Name(), version, other.Name(), other.Name())
}
