package plan

import (
	"fmt"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
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
