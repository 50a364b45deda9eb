package weberctl

import (
	"database/sql"
	"log/slog"

	"github.com/weber-framework/weber/engine"
	"github.com/weber-framework/weber/internal/dbconn"
)

// newEngine builds the engine of the database db that u names and its
// dialect folder dir. The options of each operation come from its flags,
// per call; the Config holds none, so that New refuses nothing a flag
// could have set (a dev URL of another dialect is reported where it is
// used, as before).
func newEngine(u *dbconn.URL, db *sql.DB, dir string, log *slog.Logger, data map[string]engine.DataMigration) (*engine.Engine, error) {
	return engine.New(db, engine.Config{URL: u, Dir: dir, Logger: log, DataMigrations: data})
}
