package plan

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
)

// The dialects Weber keeps a history for, by folder name.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
	MySQL    = "mysql"
)

// DevURLVariable names the environment variable that gives the dialect's
// dev server (app.ConfigFromEnv reads it into Config.DevURLs); "" for
// SQLite, which needs none.
func DevURLVariable(dialect string) string {
	switch f, _ := folderName(dialect); f {
	case Postgres:
		return "WEBER_DEV_POSTGRES_URL"
	case MySQL:
		return "WEBER_DEV_MYSQL_URL"
	}
	return ""
}

// dropTimeout bounds dropping a scratch database after the work is done,
// even when the caller's context was cancelled.
const dropTimeout = 30 * time.Second

// MissingDevURLError is returned when a kept dialect needs a dev server and
// none was given.
type MissingDevURLError struct {
	Dialect  string // folder name, e.g. "postgres"
	Variable string // the environment variable to set
}

// Error says which variable to set, or how to revise fewer dialects.
func (e *MissingDevURLError) Error() string {
	return fmt.Sprintf("no dev database for %s: set %s to a server where weberctl may create scratch databases "+
		"(e.g. %s; `scripts/services.sh up` starts local ones and `scripts/services.sh env` prints the variables), "+
		"or revise only some dialects with --dialect sqlite or WEBER_DIALECTS=sqlite to try a change "+
		"(a revision you commit needs every kept dialect written in one run, under one version: `weberctl db check` refuses folders that disagree)",
		e.Dialect, e.Variable, exampleURL(e.Dialect))
}

func exampleURL(d string) string {
	if d == MySQL {
		return "mysql://root:pass@127.0.0.1:3306/dev"
	}
	return "postgres://postgres:pass@127.0.0.1:5432/postgres"
}

// entDialect maps a folder name (or ent's own name) to ent's dialect name.
func entDialect(d string) (string, error) {
	switch strings.ToLower(d) {
	case SQLite, dialect.SQLite:
		return dialect.SQLite, nil
	case Postgres, "postgresql":
		return dialect.Postgres, nil
	case MySQL, "mariadb":
		return dialect.MySQL, nil
	}
	return "", fmt.Errorf("unknown dialect %q: use sqlite, postgres or mysql", d)
}

// folderName maps ent's dialect name (or a folder name) to the folder name.
func folderName(d string) (string, error) {
	e, err := entDialect(d)
	if err != nil {
		return "", err
	}
	switch e {
	case dialect.SQLite:
		return SQLite, nil
	case dialect.Postgres:
		return Postgres, nil
	}
	return MySQL, nil
}

// randomSuffix returns 12 random hex digits.
func randomSuffix() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return fmt.Sprintf("%012x", time.Now().UnixNano()&0xffffffffffff)
	}
	return hex.EncodeToString(b)
}

// DevDB opens an empty dev database for the dialect and returns it with a
// cleanup function that closes it and removes it. SQLite gets a private
// in-memory database and needs no devURL. PostgreSQL and MySQL get a scratch
// database named "weber_dev_<random>", created on the server that devURL
// names and dropped by cleanup even when ctx was cancelled. The database
// devURL itself names is never touched.
func DevDB(ctx context.Context, dia, devURL string) (*sql.DB, func() error, error) {
	folder, err := folderName(dia)
	if err != nil {
		return nil, nil, err
	}
	if folder == SQLite {
		u, err := dbconn.Parse("sqlite://:memory:?_name=weber_dev_" + randomSuffix())
		if err != nil {
			return nil, nil, err
		}
		db, err := dbconn.Open(ctx, u)
		if err != nil {
			return nil, nil, fmt.Errorf("opening the in-memory SQLite dev database: %w", err)
		}
		return db, db.Close, nil
	}
	if strings.TrimSpace(devURL) == "" {
		return nil, nil, &MissingDevURLError{Dialect: folder, Variable: DevURLVariable(folder)}
	}
	server, err := dbconn.Parse(devURL)
	if err != nil {
		return nil, nil, fmt.Errorf("dev database URL for %s (%s): %w", folder, DevURLVariable(folder), err)
	}
	if want, _ := entDialect(folder); server.Dialect != want {
		return nil, nil, fmt.Errorf("dev database URL for %s (%s) is %s, a %s URL: give a %s:// URL",
			folder, DevURLVariable(folder), server.Redacted(), server.Dialect, folder)
	}
	scratch := server.WithDatabase("weber_dev_" + randomSuffix())
	if _, err := dbconn.EnsureDatabase(ctx, scratch); err != nil {
		return nil, nil, fmt.Errorf("creating a scratch %s database for planning: %w", folder, err)
	}
	drop := func() error {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dropTimeout)
		defer cancel()
		if _, err := dbconn.DropDatabase(dctx, scratch); err != nil {
			return fmt.Errorf("dropping the scratch database %s: %w (drop it by hand)", scratch.Database, err)
		}
		return nil
	}
	db, err := dbconn.Open(ctx, scratch)
	if err != nil {
		return nil, nil, join(fmt.Errorf("opening the scratch %s database: %w", folder, err), drop())
	}
	cleanup := func() error {
		return join(db.Close(), drop())
	}
	return db, cleanup, nil
}
