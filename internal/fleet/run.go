package fleet

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/weber-framework/weber/internal/errtext"
)

// DefaultParallel is how many targets run at once unless Options say.
const DefaultParallel = 4

// Status is where one target stands after a run.
type Status string

// The statuses of a target.
const (
	// OK: the operation succeeded on the target.
	OK Status = "ok"
	// Failed: the operation returned an error on the target.
	Failed Status = "failed"
	// NotStarted: the run stopped (a failure, the canary, a signal) before
	// the target's turn.
	NotStarted Status = "not started"
	// Skipped: an earlier run's report says the target is done.
	Skipped Status = "skipped"
)

// Result is what the operation says of a target it finished.
type Result struct {
	// Version is the target's version after the operation ("" for none).
	Version string
	// Detail says what happened in a few words ("applied 3 files").
	Detail string
}

// Op is the operation run on each target. Its context is not cancelled
// when the run is stopped: a target that started finishes (or rolls back
// on its own error).
type Op func(ctx context.Context, t Target) (Result, error)

// Outcome is one target's line of the report.
type Outcome struct {
	Target string
	Status Status
	Result
	// Err is the error's text, on one line, for Failed.
	Err      string
	Canary   bool
	Duration time.Duration
}

// Options shape a run. The zero value runs four targets at a time, with no
// canary, stopping on the first failure.
type Options struct {
	// Parallel is how many targets run at once (default DefaultParallel).
	Parallel int
	// Canary is how many targets run first, one at a time, before the
	// rest; a canary that fails stops the run even with KeepGoing.
	Canary int
	// KeepGoing runs every target even after one failed.
	KeepGoing bool
	// Done names targets an earlier run finished: they are reported as
	// Skipped and not run again.
	Done map[string]bool
	// Progress, when set, is called after every target with its outcome
	// and the report as it stands (to rewrite a report file). Calls never
	// overlap.
	Progress func(done Outcome, r Report)
}

// Report is the result of a run: one outcome per target, in the order the
// targets were given.
type Report struct {
	Outcomes []Outcome
	// Stopped says why targets were left not started: "" (none were),
	// "a target failed", "the canary failed" or "interrupted".
	Stopped string
	Elapsed time.Duration
}

// Count returns how many targets have status s.
func (r Report) Count(s Status) int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Status == s {
			n++
		}
	}
	return n
}

// Err returns nil when every target is OK or Skipped, and otherwise an error
// that says how many failed or were not started, naming the first failure.
func (r Report) Err() error {
	failed, notStarted := r.Count(Failed), r.Count(NotStarted)
	if failed == 0 && notStarted == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d targets failed", failed, len(r.Outcomes))
	if notStarted > 0 {
		fmt.Fprintf(&b, " and %d were not started (%s)", notStarted, r.Stopped)
	}
	for _, o := range r.Outcomes {
		if o.Status == Failed {
			fmt.Fprintf(&b, "; first: %s: %s", o.Target, o.Err)
			break
		}
	}
	return fmt.Errorf("%s", b.String())
}

// Run runs op on every target and returns the report. Cancelling ctx (a
// signal) stops starting targets; those already running finish. Run
// itself fails only on an empty target list.
func Run(ctx context.Context, targets []Target, op Op, opts Options) (Report, error) {
	if len(targets) == 0 {
		return Report{}, fmt.Errorf("no targets: give --targets FILE, --target URL or --targets-like PATTERN")
	}
	r := &runner{op: op, opts: opts, work: context.WithoutCancel(ctx), start: time.Now()}
	if r.opts.Parallel <= 0 {
		r.opts.Parallel = DefaultParallel
	}
	r.rep.Outcomes = make([]Outcome, len(targets))
	var todo []int
	for i, t := range targets {
		r.rep.Outcomes[i] = Outcome{Target: t.Name, Status: NotStarted}
		if opts.Done[t.Name] {
			r.rep.Outcomes[i].Status = Skipped
			continue
		}
		todo = append(todo, i)
	}
	canary := min(max(opts.Canary, 0), len(todo))
	for _, i := range todo[:canary] {
		if r.stopping(ctx) {
			break
		}
		r.rep.Outcomes[i].Canary = true
		if !r.runOne(i, targets[i]) {
			r.stop("the canary failed")
		}
	}
	r.runRest(ctx, targets, todo[canary:])
	if r.rep.Stopped == "" && r.rep.Count(NotStarted) > 0 {
		r.rep.Stopped = "interrupted"
	}
	r.rep.Elapsed = time.Since(r.start)
	return r.rep, nil
}

// runner holds a run's shared state.
type runner struct {
	op    Op
	opts  Options
	work  context.Context // the targets' context: not cancelled by a stop
	start time.Time

	mu      sync.Mutex
	rep     Report
	stopped bool
}

// runRest runs the targets at todo, opts.Parallel at a time, until they
// are done or the run stops.
func (r *runner) runRest(ctx context.Context, targets []Target, todo []int) {
	sem := make(chan struct{}, r.opts.Parallel)
	var wg sync.WaitGroup
	for _, i := range todo {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if r.stopping(ctx) {
			break
		}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			if !r.runOne(i, targets[i]) && !r.opts.KeepGoing {
				r.stop("a target failed")
			}
		}(i)
	}
	wg.Wait()
}

// runOne runs the operation on one target and records its outcome; it
// reports whether the target succeeded.
func (r *runner) runOne(i int, t Target) bool {
	began := time.Now()
	res, err := r.op(r.work, t)
	r.mu.Lock()
	defer r.mu.Unlock()
	o := &r.rep.Outcomes[i]
	o.Result, o.Duration, o.Status = res, time.Since(began), OK
	if err != nil {
		o.Status, o.Err = Failed, errtext.OneLine(err)
	}
	if r.opts.Progress != nil {
		snap := r.rep
		snap.Outcomes = append([]Outcome(nil), r.rep.Outcomes...)
		snap.Elapsed = time.Since(r.start)
		r.opts.Progress(*o, snap)
	}
	return err == nil
}

func (r *runner) stop(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped {
		r.stopped, r.rep.Stopped = true, why
	}
}

// stopping reports whether no new target may start.
func (r *runner) stopping(ctx context.Context) bool {
	if ctx.Err() != nil {
		r.stop("interrupted")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}
