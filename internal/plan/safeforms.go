package plan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	mysqldriver "github.com/go-sql-driver/mysql"
)

// Safe forms: what `db revision` writes for a table that already exists
// must not block the application's writes while it works (package
// livelint's rules). On PostgreSQL an index added to an existing table is
// built CONCURRENTLY, and a foreign key or a named check is added NOT VALID
// and validated by a separate statement; the file then runs outside a
// transaction (`-- atlas:txmode none`), each statement in its own, with
// Weber's statement-level progress. Tables created by the same file keep
// the plain forms: they are empty.

// txModeNone is the header directive of a file run statement by statement.
const txModeNone = "-- atlas:txmode none"

// safeForms marks the changes to existing tables with PostgreSQL's
// CONCURRENTLY and NOT VALID, and returns the VALIDATE CONSTRAINT
// statements to run after them. It does nothing on other dialects.
func safeForms(folder string, changes []schema.Change) (validate []*migrate.Change, online bool) {
	if folder != Postgres {
		return nil, false
	}
	for _, c := range changes {
		m, ok := c.(*schema.ModifyTable)
		if !ok {
			continue
		}
		for _, sc := range m.Changes {
			switch sc := sc.(type) {
			case *schema.AddIndex:
				sc.Extra = append(sc.Extra, &postgres.Concurrently{})
				online = true
			case *schema.AddForeignKey:
				sc.Extra = append(sc.Extra, &postgres.NotValid{})
				validate = append(validate, validateChange(m.T.Name, sc.F.Symbol, "foreign key"))
				online = true
			case *schema.AddCheck:
				if sc.C.Name == "" {
					continue // an unnamed check cannot be validated by name
				}
				sc.Extra = append(sc.Extra, &postgres.NotValid{})
				validate = append(validate, validateChange(m.T.Name, sc.C.Name, "check"))
				online = true
			}
		}
	}
	return validate, online
}

func validateChange(table, constraint, kind string) *migrate.Change {
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	return &migrate.Change{
		Cmd:     fmt.Sprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s", q(table), q(constraint)),
		Comment: fmt.Sprintf("validate %s %q of table %q without blocking writes", kind, constraint, table),
	}
}

// onlineFile makes a planned file run outside a transaction and appends
// the validations after every other statement.
func onlineFile(mp *migrate.Plan, validate []*migrate.Change) {
	mp.Directives = append(mp.Directives, txModeNone)
	mp.Changes = append(mp.Changes, validate...)
}

// mysqlAlgorithms are the clauses tried on each ALTER TABLE, least locking
// first: INSTANT changes only metadata; INPLACE with LOCK=NONE rebuilds
// without blocking writes.
var mysqlAlgorithms = []string{", ALGORITHM=INSTANT", ", ALGORITHM=INPLACE, LOCK=NONE"}

// mysqlOnline runs the plan's statements one by one on db, the dev
// database holding the replayed history, each ALTER TABLE first with the
// least-locking ALGORITHM clause the server accepts (ER_ALTER_OPERATION_
// NOT_SUPPORTED, 1845/1846, means it does not), and rewrites the plan with
// the forms that ran. An ALTER no online form accepts is kept as planned:
// lint (WL2xx) and the upgrade's size check deal with it.
func mysqlOnline(ctx context.Context, db *sql.DB, p *Plan) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return wrapf("planning mysql: connecting to the dev database", err)
	}
	defer conn.Close()
	content := string(p.Content)
	for i := range p.Statements {
		st := &p.Statements[i]
		form, err := runOnline(ctx, conn, st.SQL)
		if err != nil {
			return &PlannedFileError{Dialect: p.Dialect, Statement: i + 1, SQL: st.SQL, Err: err}
		}
		if form != st.SQL {
			content = strings.Replace(content, "\n"+st.SQL+";\n", "\n"+form+";\n", 1)
			st.SQL = form
		}
	}
	p.Content = []byte(content)
	return nil
}

// runOnline runs stmt on conn, an ALTER TABLE in the first online form the
// server accepts, and returns the form that ran.
func runOnline(ctx context.Context, conn *sql.Conn, stmt string) (string, error) {
	if alterTableRe.MatchString(stmt) && !algorithmClauseRe.MatchString(stmt) {
		for _, clause := range mysqlAlgorithms {
			_, err := conn.ExecContext(ctx, stmt+clause)
			if err == nil {
				return stmt + clause, nil
			}
			var me *mysqldriver.MySQLError
			if !errors.As(err, &me) || (me.Number != 1845 && me.Number != 1846) {
				return "", err
			}
		}
	}
	_, err := conn.ExecContext(ctx, stmt)
	return stmt, err
}

var (
	alterTableRe      = regexp.MustCompile(`(?i)^\s*ALTER\s+TABLE\s`)
	algorithmClauseRe = regexp.MustCompile(`(?i)\bALGORITHM\s*=`)
)
