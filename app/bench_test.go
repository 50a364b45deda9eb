package app

// BenchmarkAPI: the example API under load, Weber's handlers against the
// same routes written with plain ent and with database/sql, measured in the
// same run (docs/performance.md, "The example API under load"). Run:
//
//	eval "$(scripts/services.sh env)"   # adds PostgreSQL and MariaDB
//	WEBER_BENCH_ROUNDS=5 go test ./app -run '^$' -bench BenchmarkAPI -benchtime 1s
//
// WEBER_BENCH_CLIENTS (default 16) is the number of concurrent clients.
// WEBER_BENCH_ROUNDS (default 1) runs the targets of each endpoint that
// many times, interleaved (Go names the repeats weber#01, ...); prefer it
// to -count, which repeats each target back to back.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/weber-framework/weber/config"
	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/internal/testdb"
)

// Rows BenchmarkAPI puts in the database before it measures.
const (
	benchUsers        = 100
	benchPostsPerUser = 20
	benchTags         = 20
	benchTagsPerPost  = 3
)

// benchFixture is what the requests pick from: the ids of the rows made
// by populate, and a counter that keeps created emails unique.
type benchFixture struct {
	users, posts []int
	seq          *atomic.Int64
	run          string
}

// benchEndpoint is one kind of request: what it sends, and the status it
// must get back.
type benchEndpoint struct {
	name   string
	method string
	status int
	path   func(rng *rand.Rand, fx benchFixture) string
	body   func(fx benchFixture) []byte
}

var benchEndpoints = []benchEndpoint{
	{name: "create-user", method: "POST", status: http.StatusCreated,
		path: func(*rand.Rand, benchFixture) string { return "/users" },
		body: func(fx benchFixture) []byte {
			return fmt.Appendf(nil, `{"name":"Bench","email":"bench-%s-%d@example.com"}`, fx.run, fx.seq.Add(1))
		}},
	{name: "get-user", method: "GET", status: http.StatusOK,
		path: func(rng *rand.Rand, fx benchFixture) string { return "/users/" + strconv.Itoa(pick(rng, fx.users)) }},
	{name: "get-post", method: "GET", status: http.StatusOK,
		path: func(rng *rand.Rand, fx benchFixture) string { return "/posts/" + strconv.Itoa(pick(rng, fx.posts)) }},
	{name: "list-posts", method: "GET", status: http.StatusOK,
		path: func(rng *rand.Rand, fx benchFixture) string {
			// A full page of 20 after a random post: keyset pagination.
			return "/posts?limit=20&after=" + strconv.Itoa(pick(rng, fx.posts[:len(fx.posts)-20]))
		}},
	{name: "user-posts", method: "GET", status: http.StatusOK,
		path: func(rng *rand.Rand, fx benchFixture) string {
			return "/users/" + strconv.Itoa(pick(rng, fx.users)) + "/posts?limit=20"
		}},
}

func pick(rng *rand.Rand, ids []int) int { return ids[rng.IntN(len(ids))] }

// benchTarget is one implementation of the routes, served over HTTP.
type benchTarget struct {
	name   string
	url    string
	client *http.Client
}

func BenchmarkAPI(b *testing.B) {
	clients := 16
	if v, err := strconv.Atoi(os.Getenv("WEBER_BENCH_CLIENTS")); err == nil && v > 0 {
		clients = v
	}
	rounds := benchRounds()
	for _, backend := range testdb.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			db := testdb.New(b, testdb.OnBackend(backend), testdb.SQLiteFile())
			fx := populate(b, db.Client)
			// Keep a connection per client: database/sql keeps 2 idle by
			// default (and so does serve), and under 16 clients it then
			// opens a new connection for about one request in ten, which on
			// a server costs more than the request (docs/performance.md).
			db.SQL.SetMaxIdleConns(clients)
			targets := startTargets(b, db, clients)
			for _, ep := range benchEndpoints {
				b.Run(ep.name, func(b *testing.B) {
					// Round r starts with target r: each runs right after
					// every other in turn, so that a load spike on the shared
					// machine does not always fall on the same one.
					for r := range rounds {
						for i := range targets {
							tg := targets[(r+i)%len(targets)]
							b.Run(tg.name, func(b *testing.B) { runLoad(b, tg, ep, fx, clients) })
						}
					}
				})
			}
		})
	}
}

// namedHandler is one implementation of the benchmarked routes.
type namedHandler struct {
	name string
	h    http.Handler
}

// benchHandlers builds Weber's handlers (without and with the request log),
// the plain-ent ones and the database/sql ones, all on db's one pool.
func benchHandlers(b *testing.B, db *testdb.DB) []namedHandler {
	b.Helper()
	cfg := config.FromEnv(func(string) string { return "" })
	// Without the request log, as the baselines have none; weber-log
	// formats a line per request as serve does (written to io.Discard).
	weber, err := New(db.Client, db.SQL, cfg, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	logged, err := New(db.Client, db.SQL, cfg, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	return []namedHandler{
		{"weber", weber.Handler()},
		{"weber-log", logged.Handler()},
		{"ent", entBaseline{client: db.Client}.handler()},
		{"sql", newSQLBaseline(db.SQL, db.Dialect.Ent()).handler()},
	}
}

// startTargets serves each of benchHandlers on its own test server.
func startTargets(b *testing.B, db *testdb.DB, clients int) []benchTarget {
	b.Helper()
	var out []benchTarget
	for _, h := range benchHandlers(b, db) {
		srv := httptest.NewServer(h.h)
		b.Cleanup(srv.Close)
		// Keep one connection per client, as a load balancer would.
		tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients}
		b.Cleanup(tr.CloseIdleConnections)
		out = append(out, benchTarget{name: h.name, url: srv.URL, client: &http.Client{Transport: tr}})
	}
	return out
}

// BenchmarkHandlers measures what each implementation costs the process
// per request, without HTTP and without concurrency: one request at a
// time through ServeHTTP. Its cpu-µs/op is the steadiest figure on a
// shared machine: the CPU this process spent (handler, ent or
// database/sql, driver, and on SQLite the database itself), which other
// load hardly changes. Run:
//
//	WEBER_BENCH_ROUNDS=5 go test ./app -run '^$' -bench BenchmarkHandlers -benchtime 2000x
func BenchmarkHandlers(b *testing.B) {
	rounds := benchRounds()
	for _, backend := range testdb.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			db := testdb.New(b, testdb.OnBackend(backend), testdb.SQLiteFile())
			fx := populate(b, db.Client)
			handlers := benchHandlers(b, db)
			for _, ep := range benchEndpoints {
				b.Run(ep.name, func(b *testing.B) {
					for r := range rounds {
						for i := range handlers {
							h := handlers[(r+i)%len(handlers)]
							b.Run(h.name, func(b *testing.B) { runSerial(b, h.h, ep, fx) })
						}
					}
				})
			}
		})
	}
}

// runSerial sends b.N of ep's requests to h one after the other and
// reports the process's CPU time and allocations per request.
func runSerial(b *testing.B, h http.Handler, ep benchEndpoint, fx benchFixture) {
	b.ReportAllocs()
	rng := rand.New(rand.NewPCG(1, 2))
	cpu := cpuTime(b)
	b.ResetTimer()
	for range b.N {
		var body io.Reader
		if ep.body != nil {
			body = bytes.NewReader(ep.body(fx))
		}
		req := httptest.NewRequest(ep.method, ep.path(rng, fx), body)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != ep.status {
			b.Fatalf("%s %s: status %d, want %d: %s", req.Method, req.URL.Path, rec.Code, ep.status, rec.Body)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

// benchRounds is WEBER_BENCH_ROUNDS (default 1).
func benchRounds() int {
	if v, err := strconv.Atoi(os.Getenv("WEBER_BENCH_ROUNDS")); err == nil && v > 0 {
		return v
	}
	return 1
}

// populate makes benchUsers users with benchPostsPerUser posts each, every
// post with benchTagsPerPost of benchTags tags, in bulk inserts.
func populate(b testing.TB, c *ent.Client) benchFixture {
	b.Helper()
	ctx := context.Background()
	fx := benchFixture{seq: new(atomic.Int64), run: strconv.FormatInt(time.Now().UnixNano(), 36)}
	tags := make([]*ent.TagCreate, benchTags)
	for i := range tags {
		tags[i] = c.Tag.Create().SetName(fmt.Sprintf("tag%d", i))
	}
	tagIDs := ids(c.Tag.CreateBulk(tags...).SaveX(ctx), func(t *ent.Tag) int { return t.ID })
	users := make([]*ent.UserCreate, benchUsers)
	for i := range users {
		users[i] = c.User.Create().SetName(fmt.Sprintf("User %d", i)).SetEmail(fmt.Sprintf("user%d@example.com", i)).SetBio("bio")
	}
	fx.users = ids(c.User.CreateBulk(users...).SaveX(ctx), func(u *ent.User) int { return u.ID })
	var posts []*ent.PostCreate
	flush := func() {
		fx.posts = append(fx.posts, ids(c.Post.CreateBulk(posts...).SaveX(ctx), func(p *ent.Post) int { return p.ID })...)
		posts = posts[:0]
	}
	for i, uid := range fx.users {
		for j := range benchPostsPerUser {
			n := i*benchPostsPerUser + j
			pc := c.Post.Create().SetAuthorID(uid).SetTitle(fmt.Sprintf("Post %d", n)).
				SetBody("A body of a few words.").SetStatus("published").SetPublishedAt(time.Now())
			for k := range benchTagsPerPost {
				pc.AddTagIDs(tagIDs[(n+k*7)%len(tagIDs)])
			}
			if posts = append(posts, pc); len(posts) == 200 {
				flush()
			}
		}
	}
	if len(posts) > 0 {
		flush()
	}
	return fx
}

func ids[T any](rows []T, id func(T) int) []int {
	out := make([]int, len(rows))
	for i, r := range rows {
		out[i] = id(r)
	}
	return out
}

// runLoad sends ep's requests to tg from clients goroutines at once for
// b.N requests in all, and reports throughput, the median and 99th
// percentile latency, the process's CPU time per request, and
// allocations per request (server and client, both in this process).
func runLoad(b *testing.B, tg benchTarget, ep benchEndpoint, fx benchFixture, clients int) {
	b.ReportAllocs()
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failed    atomic.Int64
		firstFail atomic.Value
	)
	seed := atomic.Uint64{}
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 42))
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			t0 := time.Now()
			if msg := request(tg, ep, rng, fx); msg != "" {
				if failed.Add(1) == 1 {
					firstFail.Store(msg)
				}
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		latencies = append(latencies, local...)
		mu.Unlock()
	})
	elapsed, cpu := time.Since(start), cpuTime(b)-cpu
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed; the first: %v", n, b.N, firstFail.Load())
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(ms(percentile(latencies, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(latencies, 0.99)), "p99-ms")
	b.ReportMetric(float64(cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

// cpuTime is the CPU time this process has used: the handlers', the
// clients' and, on SQLite, the database's. Other load on the machine
// stretches wall times but hardly this.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// request sends one request and reads the whole answer; it returns "" when
// the status is the one expected, else what came back.
func request(tg benchTarget, ep benchEndpoint, rng *rand.Rand, fx benchFixture) string {
	var body io.Reader
	if ep.body != nil {
		body = bytes.NewReader(ep.body(fx))
	}
	req, err := http.NewRequest(ep.method, tg.url+ep.path(rng, fx), body)
	if err != nil {
		return err.Error()
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := tg.client.Do(req)
	if err != nil {
		return err.Error()
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err.Error()
	}
	if resp.StatusCode != ep.status {
		return fmt.Sprintf("%s %s: status %d, want %d: %s", req.Method, req.URL.Path, resp.StatusCode, ep.status, data)
	}
	return ""
}

// percentile is the q-quantile of sorted durations (0 when there are none).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
