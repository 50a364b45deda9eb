package weberctl

import (
	"fmt"
	"strings"

	"entgo.io/ent/dialect"
	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/upgrade"
)

// sqlFlags are `db upgrade`'s flags for offline SQL.
func sqlFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "sql", Usage: "print the SQL script the upgrade would run (statements, lock, revision records) and change nothing"},
		&cli.StringFlag{Name: "from", Usage: "with --sql: start after `VERSION` (" + upgrade.Empty + ": an empty database) without connecting to the database"},
	}
}

// upgradeSQL prints the script of `db upgrade --sql`: from --from without
// connecting, or from the database's own version.
func (e *env) upgradeSQL(c *cli.Context) error {
	for _, f := range []string{"baseline", "retry", "mark-applied", "dry-run"} {
		if c.IsSet(f) {
			return usagef("--sql writes a script and changes nothing: --%s does not apply to it", f)
		}
	}
	cfg, u, err := e.target(c)
	if err != nil {
		return err
	}
	dirPath, err := migdir.DialectDir(cfg.MigrationsDir, u.Dialect)
	if err != nil {
		return err
	}
	dir, err := migdir.OpenDialect(dirPath, u.Dialect)
	if err != nil {
		return err
	}
	from := c.String("from")
	if !c.IsSet("from") {
		if from, err = e.scriptStart(c, u, dirPath); err != nil {
			return err
		}
	}
	files, err := upgrade.ScriptFiles(dir, from, c.String("to"))
	if err != nil {
		return err
	}
	ddl, err := ddlPolicy(c)
	if err != nil {
		return err
	}
	database := ""
	if !u.Memory && u.Dialect != dialect.SQLite {
		database = u.Database
	}
	folder, err := migdir.Folder(u.Dialect)
	if err != nil {
		return err
	}
	return upgrade.Script(e.stdout, files, upgrade.ScriptOptions{
		Dialect: u.Dialect, Folder: folder, Database: database, From: from, Operator: operator(), DDL: ddl,
	})
}

// scriptStart reads the database's version for a script, refusing what an
// upgrade would refuse (a partial file, an edited applied file, files
// behind the applied history).
func (e *env) scriptStart(c *cli.Context, u *dbconn.URL, dirPath string) (string, error) {
	db, err := dbconn.Open(c.Context, u)
	if err != nil {
		return "", fmt.Errorf("%w (or give --from VERSION to write the script without connecting)", err)
	}
	defer db.Close()
	st, err := upgrade.Status(c.Context, db, u, dirPath)
	if err != nil {
		return "", err
	}
	var problems []string
	if st.Partial != nil {
		problems = append(problems, fmt.Sprintf("%s is partially applied: finish it with `weberctl db upgrade`", st.Partial.Name))
	}
	for _, p := range st.Problems {
		problems = append(problems, p.Message)
	}
	if len(st.OutOfOrder) > 0 && !c.Bool("allow-out-of-order") {
		problems = append(problems, fmt.Sprintf("%s older than the applied history: pass --allow-out-of-order", strings.Join(st.OutOfOrder, ", ")))
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("upgrade --sql refused: %s", strings.Join(problems, "; "))
	}
	return st.Current, nil
}
