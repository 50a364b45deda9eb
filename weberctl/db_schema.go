package weberctl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/dialect"
	"github.com/weber-framework/weber/internal/schemadoc"
)

func dbSchemaCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "schema",
		Usage: "print the schema as SQL or as an ER diagram (Mermaid)",
		Description: `Prints the schema of the models: as the SQL that creates it for a dialect
(--format sql, the default), or as an entity-relationship diagram in Mermaid
(--format mermaid) that GitHub and most editors draw: every table with its
columns, types and keys (PK, FK, UK), and every relation with its cardinality
(a foreign key is one-to-many, one-to-one when its columns are unique; a join
table such as post_tags is many-to-many between the tables it links).

--live prints the schema of the database --database-url names instead (it
only reads it); --at VERSION the schema after the history up to that version,
replayed on a scratch database. PostgreSQL and MySQL, except with --live,
need a server for a scratch database: WEBER_DEV_POSTGRES_URL /
WEBER_DEV_MYSQL_URL or the --dev-*-url flags.

--write FILE writes to FILE instead of stdout; with --format mermaid it
writes a Markdown page around the diagram. The project keeps docs/schema.md
that way, and ` + "`weberctl db check`" + ` fails when it no longer matches the models.

Example:
   weberctl db schema
   weberctl db schema --format mermaid --write docs/schema.md
   weberctl db schema --live --database-url postgres://app@db.internal/app
   weberctl db schema --at 20250101120000 --dialect postgres`,
		Flags: withGlobal(append([]cli.Flag{
			&cli.StringFlag{Name: "format", Value: "sql", DefaultText: "sql", Usage: "`FORMAT`: sql or mermaid"},
			&cli.StringFlag{Name: "dialect", DefaultText: "sqlite, or the database's with --live", Usage: "the `DIALECT` of the SQL and the types: sqlite, postgres or mysql"},
			&cli.BoolFlag{Name: "live", Usage: "the schema of the database --database-url names, not of the models"},
			&cli.StringFlag{Name: "at", Usage: "the schema after the history up to `VERSION`, not of the models"},
			&cli.StringFlag{Name: "write", Usage: "write to `FILE` instead of stdout (Markdown with --format mermaid)"},
		}, devURLFlags()...)...),
		Action: func(c *cli.Context) error { return dbSchema(c, e) },
	}
}

// dbSchema runs `db schema`.
func dbSchema(c *cli.Context, e *env) error {
	if err := noArgs(c); err != nil {
		return err
	}
	format := strings.ToLower(c.String("format"))
	if format != "sql" && format != "mermaid" {
		return usagef("unknown --format %q: use sql or mermaid", c.String("format"))
	}
	if c.Bool("live") && c.IsSet("at") {
		return usagef("--live and --at name two different schemas: give one")
	}
	s, err := loadSchema(c, e)
	if err != nil {
		return err
	}
	out := schemadoc.SQL(s)
	if format == "mermaid" {
		out = schemadoc.Mermaid(s.Schema)
		if c.IsSet("write") {
			out = schemadoc.Markdown(out)
		}
	}
	path := c.String("write")
	if path == "" {
		_, err := fmt.Fprint(e.stdout, out)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	fmt.Fprintf(e.stdout, "Wrote the schema of the %s (%s, %s) to %s\n", s.Source, s.Dialect, format, path)
	return nil
}

// loadSchema loads the schema the flags name.
func loadSchema(c *cli.Context, e *env) (*schemadoc.Schema, error) {
	cfg := e.config(c)
	opts := schemadoc.Options{Dialect: c.String("dialect"), Tables: e.project.Tables}
	if c.Bool("live") {
		_, u, db, _, err := e.openDatabase(c, false)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		if opts.Dialect != "" && !sameDialect(opts.Dialect, u.Dialect) {
			return nil, usagef("--dialect %s, but --live reads a %s database: leave --dialect out", opts.Dialect, u.Dialect)
		}
		opts.Dialect, opts.Live = u.Dialect, db
		return schemadoc.Load(c.Context, opts)
	}
	if opts.Dialect == "" {
		opts.Dialect = dialect.SQLite.String()
	}
	d, err := dialect.Parse(opts.Dialect)
	if err != nil {
		return nil, usagef("--dialect %s: use sqlite, postgres or mysql", opts.Dialect)
	}
	opts.DevURL = devURLs(c, cfg)[d.Folder()]
	if c.IsSet("at") {
		opts.At, opts.Dir = c.String("at"), filepath.Join(cfg.MigrationsDir, d.Folder())
	}
	return schemadoc.Load(c.Context, opts)
}

// sameDialect reports whether a and b name the same dialect.
func sameDialect(a, b string) bool {
	da, errA := dialect.Parse(a)
	db, errB := dialect.Parse(b)
	return errA == nil && errB == nil && da == db
}
