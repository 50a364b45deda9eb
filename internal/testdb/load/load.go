// Package load is the traffic of a live application, for tests and
// benchmarks of upgrades under load: N workers each alternate a read and a
// write of one row by primary key, with a short pause, and every query's
// start and duration is recorded. Comparing the queries that overlapped an
// upgrade with the same upgrade done another way, in the same run, gives
// the stall figures of docs/performance.md.
package load

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"entgo.io/ent/dialect"
)

// Config describes the traffic.
type Config struct {
	// DB is the pool the workers use (give it at least Workers+1
	// connections); Dialect is ent's dialect name.
	DB      *sql.DB
	Dialect string
	// Table has an integer primary key Key with the values 1..Rows and an
	// integer column Column the writes set.
	Table, Key, Column string
	Rows               int
	// Workers is the number of clients (default 8); Pause the time each
	// waits between two queries (default 10ms).
	Workers int
	Pause   time.Duration
}

// Query is one query of the traffic.
type Query struct {
	Start time.Time
	Took  time.Duration
	Write bool
	Err   error
}

// End is when the query finished.
func (q Query) End() time.Time { return q.Start.Add(q.Took) }

// Load is traffic running until Stop.
type Load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	qs     []Query
}

// Start starts the workers; they run until Stop or ctx ends.
func Start(ctx context.Context, c Config) *Load {
	if c.Workers == 0 {
		c.Workers = 8
	}
	if c.Pause == 0 {
		c.Pause = 10 * time.Millisecond
	}
	ph := func(n int) string { return "?" }
	if c.Dialect == dialect.Postgres {
		ph = func(n int) string { return fmt.Sprintf("$%d", n) }
	}
	read := fmt.Sprintf("SELECT %s FROM %s WHERE %s = %s", c.Column, c.Table, c.Key, ph(1))
	write := fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = %s", c.Table, c.Column, ph(1), c.Key, ph(2))
	ctx, cancel := context.WithCancel(ctx)
	l := &Load{cancel: cancel}
	for w := 0; w < c.Workers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				id := 1 + rand.IntN(c.Rows)
				q := Query{Start: time.Now(), Write: i%2 == 1}
				var err error
				if q.Write {
					_, err = c.DB.ExecContext(ctx, write, i, id)
				} else {
					var v sql.NullInt64
					err = c.DB.QueryRowContext(ctx, read, id).Scan(&v)
				}
				q.Took = time.Since(q.Start)
				if ctx.Err() != nil {
					return // cut off by Stop: not a measurement
				}
				q.Err = err
				l.mu.Lock()
				l.qs = append(l.qs, q)
				l.mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(c.Pause):
				}
			}
		}()
	}
	return l
}

// Stop ends the traffic and returns every query it made.
func (l *Load) Stop() []Query {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.qs)
}

// Stats sums up the queries that overlapped a window.
type Stats struct {
	// N counts the queries, Errors those that failed.
	N, Errors int
	// P50, P99 and Max are latencies.
	P50, P99, Max time.Duration
}

// Window returns the stats of the queries that were running at some time
// between from and to.
func Window(qs []Query, from, to time.Time) Stats {
	var ds []time.Duration
	var s Stats
	for _, q := range qs {
		if q.End().Before(from) || q.Start.After(to) {
			continue
		}
		s.N++
		if q.Err != nil {
			s.Errors++
		}
		ds = append(ds, q.Took)
	}
	if len(ds) == 0 {
		return s
	}
	slices.Sort(ds)
	s.P50 = ds[len(ds)/2]
	s.P99 = ds[min(len(ds)-1, len(ds)*99/100)]
	s.Max = ds[len(ds)-1]
	return s
}

// String renders the stats for a log or a table.
func (s Stats) String() string {
	return fmt.Sprintf("%d queries, %d errors, p50 %s, p99 %s, worst %s", s.N, s.Errors,
		s.P50.Round(100*time.Microsecond), s.P99.Round(100*time.Microsecond), s.Max.Round(100*time.Microsecond))
}
