package liveschema

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/weber-framework/weber/internal/dialect"
	"github.com/weber-framework/weber/internal/flavor"
)

// PrepareDev readies dev, an empty dev database, to replay the history of
// live, the database it will be compared with: on MySQL and MariaDB it
// refuses a dev server of another flavour than live's (a
// *flavor.MismatchError) and gives dev live's default character set and
// collation. devVariable names the dev server's setting in the error.
// A no-op on other dialects.
func PrepareDev(ctx context.Context, dev, live *sql.DB, dia, devVariable string) error {
	if d, _ := dialect.Parse(dia); d != dialect.MySQL {
		return nil
	}
	if err := flavor.CheckDev(ctx, live, dev, devVariable); err != nil {
		return err
	}
	return matchDefaults(ctx, dev, live)
}

// matchDefaults gives the MySQL dev database the live database's default
// character set and collation before the history is replayed on it. A database created with the server's
// default collation (utf8mb4_general_ci) rather than the one Weber creates
// (utf8mb4_bin) is not a change made by hand, and every table a history
// creates without a COLLATE clause inherits the database's default: the
// replay must start from the same default as the live database did.
func matchDefaults(ctx context.Context, dev, live *sql.DB) error {
	const q = "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()"
	var charset, collation string
	if err := live.QueryRowContext(ctx, q).Scan(&charset, &collation); err != nil {
		return fmt.Errorf("reading the database's default collation: %w", err)
	}
	if !safeName(charset) || !safeName(collation) {
		return fmt.Errorf("the database's default collation %q (%q) is not a name Weber can repeat on the dev database", collation, charset)
	}
	if _, err := dev.ExecContext(ctx, "ALTER DATABASE CHARACTER SET "+charset+" COLLATE "+collation); err != nil {
		return fmt.Errorf("giving the dev database the default collation %s: %w", collation, err)
	}
	return nil
}

// safeName reports a charset or collation name made of [A-Za-z0-9_] only.
func safeName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
