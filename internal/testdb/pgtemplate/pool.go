package pgtemplate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/scratchdb"
)

// spareComment marks a database made ahead of time by a Pool and not yet
// handed out: "weber-spare <unix seconds>". Get clears it.
const spareComment = "weber-spare "

// SpareMaxAge is how old an unused spare must be before a new Pool drops
// it: spares left behind by a test process that has exited.
const SpareMaxAge = 10 * time.Minute

// Pool hands out clones of one template, each with an open connection
// pool, keeping a few made ahead of time by background goroutines: a test
// then gets a ready database in about a millisecond instead of a
// CREATE DATABASE plus a first connection (15-35 ms here), and the
// CREATE DATABASEs overlap (concurrent FILE_COPY clones share their
// checkpoints: measured 12 ms one at a time, 6 ms each two at a time).
//
// A spare has an ordinary clone name and the comment "weber-spare <time>",
// which Get clears. Spares not handed out when the process exits stay on
// the server; the next Pool on that server (the next test run) drops those
// older than SpareMaxAge that nobody is connected to (a live process keeps
// its spares connected), and Close drops this Pool's own.
type Pool struct {
	s      *Server
	tpl    string
	spares int

	once   sync.Once
	ready  chan spare
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	made []string // every spare created, for tests

	fromSpare, direct atomic.Int64
}

// Stats reports how many Gets were served by a spare and how many had to
// clone directly (no spare ready, or the spare was gone).
func (p *Pool) Stats() (fromSpare, direct int64) { return p.fromSpare.Load(), p.direct.Load() }

// NewPool returns a Pool of the template (a name from Ensure) keeping up to
// spares clones ready (0 disables prefetching: Get clones directly). It
// drops spares older than SpareMaxAge left on the server by earlier runs.
// Nothing is created until the first Get.
func (s *Server) NewPool(ctx context.Context, template string, spares int) (*Pool, error) {
	if !strings.HasPrefix(template, TemplatePrefix) {
		return nil, fmt.Errorf("pgtemplate: %q is not a Weber test template (%s...): get one from Ensure", template, TemplatePrefix)
	}
	s.dropOldSpares(ctx)
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &Pool{s: s, tpl: template, spares: max(spares, 0), ready: make(chan spare, max(spares, 0)), ctx: pctx, cancel: cancel}, nil
}

// spare is a clone made ahead of time, with its pool already connected.
type spare struct {
	name string
	db   *sql.DB
}

// Get returns a new clone for one test and an open pool on it (dbconn.Open
// settings), which the caller closes: a spare if one is ready, else a
// direct Clone. Server.URL(name) is its URL.
func (p *Pool) Get(ctx context.Context) (string, *sql.DB, error) {
	p.once.Do(p.start)
	select {
	case sp := <-p.ready:
		// COMMENT ON a missing database is only a warning; the ping is
		// what proves the spare is still there.
		_, err := p.s.db.ExecContext(ctx, "COMMENT ON DATABASE "+dbconn.QuoteIdent(dialect.Postgres, sp.name)+" IS NULL")
		if err == nil {
			err = sp.db.PingContext(ctx)
		}
		if err == nil {
			p.fromSpare.Add(1)
			return sp.name, sp.db, nil
		}
		// Dropped meanwhile, or otherwise unusable: make one now.
		p.s.dropSpare(context.WithoutCancel(ctx), sp)
		p.s.log.Debug("spare test database unusable; cloning directly", "database", sp.name)
	default:
	}
	p.direct.Add(1)
	name, err := p.s.Clone(ctx, p.tpl)
	if err != nil {
		return "", nil, err
	}
	db, err := dbconn.Open(ctx, p.s.URL(name))
	if err != nil {
		p.s.Drop(context.WithoutCancel(ctx), name)
		return "", nil, err
	}
	return name, db, nil
}

func (p *Pool) start() {
	for range p.spares {
		p.wg.Add(1)
		go p.produce()
	}
}

// produce keeps one spare ready, until Close.
func (p *Pool) produce() {
	defer p.wg.Done()
	for p.ctx.Err() == nil {
		sp, err := p.makeSpare()
		if err != nil {
			if p.ctx.Err() == nil {
				p.s.log.Warn("creating a spare test database", "err", err)
				select { // do not spin on a persistent error
				case <-p.ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		select {
		case p.ready <- sp:
		case <-p.ctx.Done():
			p.s.dropSpare(context.Background(), sp)
			return
		}
	}
}

func (p *Pool) makeSpare() (spare, error) {
	name, err := p.s.Clone(p.ctx, p.tpl)
	if err != nil {
		return spare{}, err
	}
	p.mu.Lock()
	p.made = append(p.made, name)
	p.mu.Unlock()
	comment := fmt.Sprintf("COMMENT ON DATABASE %s IS '%s%d'", dbconn.QuoteIdent(dialect.Postgres, name), spareComment, time.Now().Unix())
	if _, err := p.s.db.ExecContext(p.ctx, comment); err != nil {
		p.s.Drop(context.Background(), name)
		return spare{}, p.s.fail("marking the spare "+name+" on", err)
	}
	db, err := dbconn.Open(p.ctx, p.s.URL(name))
	if err != nil {
		p.s.Drop(context.Background(), name)
		return spare{}, err
	}
	return spare{name: name, db: db}, nil
}

// Close stops making spares and drops those not handed out.
func (p *Pool) Close(ctx context.Context) error {
	p.cancel()
	p.wg.Wait()
	var errs []error
	for {
		select {
		case sp := <-p.ready:
			if err := p.s.dropSpare(ctx, sp); err != nil {
				errs = append(errs, err)
			}
		default:
			return errors.Join(errs...)
		}
	}
}

func (s *Server) dropSpare(ctx context.Context, sp spare) error {
	sp.db.Close()
	return s.Drop(ctx, sp.name)
}

// dropOldSpares drops spares older than SpareMaxAge that nobody is
// connected to (without FORCE: the spares of a live process are connected,
// and a failed attempt leaves them alone).
func (s *Server) dropOldSpares(ctx context.Context) {
	// Skipping connected databases up front spares the DROP's 5 s wait for
	// other sessions to leave.
	rows, err := s.db.QueryContext(ctx, `SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database d
		WHERE starts_with(datname, $1) AND starts_with(shobj_description(oid, 'pg_database'), $2)
		AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)`, ClonePrefix, spareComment)
	if err != nil {
		s.log.Warn("listing spare test databases", "err", err)
		return
	}
	var old []string
	now := time.Now()
	for rows.Next() {
		var name, comment string
		if rows.Scan(&name, &comment) != nil {
			continue
		}
		sec, err := strconv.ParseInt(strings.TrimPrefix(comment, spareComment), 10, 64)
		if err == nil && now.Sub(time.Unix(sec, 0)) > SpareMaxAge {
			old = append(old, name)
		}
	}
	rows.Close()
	_, kept := scratchdb.DropUnused(ctx, s.db, dialect.Postgres, old, false)
	for _, k := range kept {
		s.log.Debug("keeping a spare test database in use", "database", k)
	}
}
