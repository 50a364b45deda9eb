package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/dialect"
	"github.com/weber-framework/weber/internal/testdb/mysqlclone"
	"github.com/weber-framework/weber/internal/testdb/pgtemplate"
	"github.com/weber-framework/weber/internal/testdb/sqlitesnap"
	"github.com/weber-framework/weber/internal/testdb/templates"
)

// The process-wide memo of built schemas. These package-level variables are
// the one deliberate exception to Weber's no-globals rule: a template is
// worth building once per test process, and a test process has no object
// that lives across its tests other than the package. Nothing here is
// configuration; each is safe for concurrent use.
var (
	// snapshots holds the SQLite templates, by recipe key.
	snapshots sqlitesnap.Cache
	// servers holds one connection per test server and template scope.
	servers serverSet
	// builds counts, per backend and recipe key, how many times this
	// process ran migrateSchema to make a template (for tests: a second
	// database of the same recipe must not rebuild it).
	builds sync.Map // string -> *atomic.Int64
	// historyKeys remembers the key of a history folder by its listing
	// (see historyKey).
	historyKeys sync.Map // string -> string
)

// countBuild records that a template for key is being built on backend.
func countBuild(backend, key string) {
	n, _ := builds.LoadOrStore(backend+"|"+key, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
}

// buildCount returns how many times this process built the template for
// key on backend.
func buildCount(backend, key string) int64 {
	if n, ok := builds.Load(backend + "|" + key); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// migrator returns what r's template on backend is built from: r's key and
// the function that migrates it (counting the build).
func migrator(backend string, r recipe) templates.Migrator {
	return templates.Migrator{Hash: r.key, Migrate: func(ctx context.Context, db *sql.DB, u *dbconn.URL) error {
		countBuild(backend, r.key)
		return migrateSchema(ctx, db, u, r)
	}}
}

// sqliteTemplate returns the process's SQLite template for r, building it
// the first time.
func sqliteTemplate(ctx context.Context, r recipe) (*sqlitesnap.Template, error) {
	return snapshots.Build(ctx, migrator(dialect.SQLite.String(), r))
}

// serverSet memoises one server per (server URL, scope).
type serverSet struct {
	mu sync.Mutex
	m  map[string]*server
}

// server makes test databases on one PostgreSQL or MySQL server, for one
// template scope (see recipe.scope): pgtemplate and mysqlclone clean up a
// scope's older templates when they build a new one.
type server struct {
	once sync.Once
	err  error
	base *dbconn.URL
	pg   *pgtemplate.Server
	my   *mysqlclone.Server

	mu     sync.Mutex
	tpls   map[string]*template // by recipe key
	shared map[string]*sharedDB // by recipe key, for InTx
}

// template is one recipe's template on a server, found or built once per
// process.
type template struct {
	mu     sync.Mutex
	pgName string
	my     *mysqlclone.Template
}

// get returns the server for base and scope, connecting the first time.
// The connection lives as long as the process.
func (ss *serverSet) get(ctx context.Context, base *dbconn.URL, raw, scope string) (*server, error) {
	k := raw + "\x00" + scope
	ss.mu.Lock()
	if ss.m == nil {
		ss.m = map[string]*server{}
	}
	s, ok := ss.m[k]
	if !ok {
		s = &server{base: base, tpls: map[string]*template{}, shared: map[string]*sharedDB{}}
		ss.m[k] = s
	}
	ss.mu.Unlock()
	s.once.Do(func() {
		// The namespace scopes the templates' clean-up: the project (the
		// URL's database) and the scope.
		ns := base.Database + "|" + scope
		switch d, _ := dialect.Parse(base.Dialect); d {
		case dialect.Postgres:
			s.pg, s.err = pgtemplate.Open(ctx, base, pgtemplate.Options{Namespace: ns})
		case dialect.MySQL:
			s.my, s.err = mysqlclone.Open(ctx, base, mysqlclone.Options{Namespace: ns})
		default:
			s.err = fmt.Errorf("%s is not a PostgreSQL or MySQL URL", base.Redacted())
		}
	})
	if s.err != nil {
		// Not remembered: the next test tries again.
		ss.mu.Lock()
		if ss.m[k] == s {
			delete(ss.m, k)
		}
		ss.mu.Unlock()
		return nil, s.err
	}
	return s, nil
}

// template returns r's template, ensuring it on the server the first time
// (or again when fresh: the one remembered has gone).
func (s *server) template(ctx context.Context, r recipe, fresh bool) (*template, string, error) {
	s.mu.Lock()
	tp, ok := s.tpls[r.key]
	if !ok {
		tp = &template{}
		s.tpls[r.key] = tp
	}
	s.mu.Unlock()
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.pgName == "" && tp.my == nil || fresh {
		var err error
		if s.pg != nil {
			tp.pgName, err = s.pg.Ensure(ctx, migrator(dialect.Postgres.String(), r))
		} else {
			tp.my, err = s.my.Ensure(ctx, migrator(dialect.MySQL.String(), r))
		}
		if err != nil {
			tp.pgName, tp.my = "", nil
			return nil, "", err
		}
	}
	if s.pg != nil {
		return tp, tp.pgName, nil
	}
	return tp, tp.my.Name(), nil
}

// clone makes a new database "weber_test_<random>" from r's template and
// returns its name and the template's. If the clone fails (another test
// process may have replaced the template), the template is ensured again
// and the clone retried once.
func (s *server) clone(ctx context.Context, r recipe) (name, tplName string, err error) {
	for attempt := range 2 {
		var tp *template
		tp, tplName, err = s.template(ctx, r, attempt > 0)
		if err != nil {
			return "", "", err
		}
		if s.pg != nil {
			name, err = s.pg.Clone(ctx, tplName)
		} else {
			name, err = s.my.Clone(ctx, tp.my)
		}
		if err == nil {
			return name, tplName, nil
		}
	}
	return "", tplName, err
}

// drop drops a database this package cloned; pgtemplate and mysqlclone
// refuse any name without the prefix, and the URL's own database.
func (s *server) drop(ctx context.Context, name string) error {
	if s.pg != nil {
		return s.pg.Drop(ctx, name)
	}
	return s.my.Drop(ctx, name)
}

// sharedDB is the database that InTx tests of one recipe share on a
// server: made by the first such test, dropped when the last one running
// ends (so nothing outlives the process), reference-counted.
type sharedDB struct {
	mu   sync.Mutex
	refs int
	name string
	tpl  string
	db   *sql.DB
}

// acquireShared returns the shared database for r, cloning it if no InTx
// test is using one.
func (s *server) acquireShared(ctx context.Context, r recipe) (*sharedDB, error) {
	s.mu.Lock()
	sh, ok := s.shared[r.key]
	if !ok {
		sh = &sharedDB{}
		s.shared[r.key] = sh
	}
	s.mu.Unlock()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.refs == 0 {
		name, tpl, err := s.clone(ctx, r)
		if err != nil {
			return nil, err
		}
		db, err := dbconn.Open(ctx, s.base.WithDatabase(name))
		if err != nil {
			_ = s.drop(context.WithoutCancel(ctx), name)
			return nil, err
		}
		sh.name, sh.tpl, sh.db = name, tpl, db
	}
	sh.refs++
	return sh, nil
}

// releaseShared ends one InTx test's use of sh, dropping the database when
// no other test uses it.
func (s *server) releaseShared(ctx context.Context, sh *sharedDB) error {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.refs--
	if sh.refs > 0 {
		return nil
	}
	sh.db.Close()
	name := sh.name
	sh.name, sh.db = "", nil
	if !safeToDrop(s.base, s.base.WithDatabase(name)) {
		return fmt.Errorf("refusing to drop %s: testdb drops only databases named %s*", name, Prefix)
	}
	return s.drop(ctx, name)
}
