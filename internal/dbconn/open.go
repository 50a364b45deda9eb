package dbconn

import (
	"context"
	"database/sql"
	"io"
	"log"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	// The three drivers Weber speaks, registered as "sqlite", "pgx" and "mysql".
	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// connectTimeout bounds how long Open waits for a server that does not answer.
const connectTimeout = 10 * time.Second

// Open opens the database and checks that it answers. The database must
// exist; EnsureDatabase creates it. Errors name the URL without its password.
func Open(ctx context.Context, u *URL) (*sql.DB, error) {
	return u.open(ctx, false)
}

// OpenServer opens the server's maintenance database (postgres on
// PostgreSQL, no database on MySQL), to create or drop databases.
func OpenServer(ctx context.Context, u *URL) (*sql.DB, error) {
	return u.open(ctx, true)
}

func (u *URL) open(ctx context.Context, maintenance bool) (*sql.DB, error) {
	driver, dsn, err := u.driverDSN(maintenance)
	if err != nil {
		return nil, u.wrap("opening", err)
	}
	if u.Dialect == dialect.SQLite && !u.Memory && !maintenance {
		if err := checkSQLitePath(u.Database); err != nil {
			return nil, u.wrap("opening", err)
		}
	}
	var db *sql.DB
	if u.Dialect == dialect.MySQL {
		// Through a connector, which keeps a Logger that discards (a DSN
		// cannot carry it): the driver would otherwise write its own
		// warnings ("packets.go:68 [warn] unexpected sequence nr") to
		// stderr, beside the one-line error that says what went wrong.
		cfg, cerr := mysql.ParseDSN(dsn) // the DSN's charset and params, as sql.Open reads them
		if cerr != nil {
			return nil, u.wrap("opening", cerr)
		}
		cfg.Logger = mysql.Logger(log.New(io.Discard, "", 0))
		connector, cerr := mysql.NewConnector(cfg)
		if cerr != nil {
			return nil, u.wrap("opening", cerr)
		}
		db = sql.OpenDB(connector)
	} else if u.Dialect == dialect.Postgres {
		if db, err = openPostgres(dsn); err != nil {
			return nil, u.wrap("opening", err)
		}
	} else if db, err = sql.Open(driver, dsn); err != nil {
		return nil, u.wrap("opening", err)
	}
	if u.Dialect == dialect.SQLite && u.Memory {
		// One connection keeps the in-memory database alive and private.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	}
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	err = u.ping(pctx, db)
	if err != nil && u.Dialect == dialect.SQLite && strings.Contains(err.Error(), "not a database") {
		err = notSQLite(u.Database)
	}
	if err != nil {
		db.Close()
		return nil, u.wrap("connecting to", err)
	}
	return db, nil
}

// ping checks that the database answers. On SQLite it also reads the schema,
// which proves the file is a database, and it retries SQLITE_BUSY: the first
// connections to a new file race to switch it to WAL, and SQLite reports
// that race as "database is locked" without waiting on busy_timeout.
func (u *URL) ping(ctx context.Context, db *sql.DB) error {
	if u.Dialect != dialect.SQLite {
		return db.PingContext(ctx)
	}
	delay := 5 * time.Millisecond
	for {
		err := db.PingContext(ctx)
		if err == nil {
			_, err = db.ExecContext(ctx, "SELECT 1 FROM sqlite_master LIMIT 1")
		}
		if err == nil || !isBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

// isBusy reports SQLite's SQLITE_BUSY ("database is locked").
func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}
