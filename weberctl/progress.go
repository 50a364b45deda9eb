package weberctl

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progressLine shows a long command's progress on a terminal: one line on
// stderr, rewritten in place at most every interval, and a summary line
// with the time taken at the end. A nil *progressLine shows nothing: it is
// what commands get off a terminal and under --json, so that scripts see
// no progress at all. Its methods may be called from several goroutines
// (db check checks the dialects at once).
type progressLine struct {
	mu       sync.Mutex
	w        io.Writer
	now      func() time.Time
	interval time.Duration
	start    time.Time
	last     time.Time
	shown    bool
}

// newProgressLine returns the progress line of a command, or nil when
// stderr is not a terminal or the command prints JSON.
func (e *env) newProgressLine(asJSON bool) *progressLine {
	if !e.progress || asJSON {
		return nil
	}
	return startProgressLine(e.stderr, time.Now)
}

func startProgressLine(w io.Writer, now func() time.Time) *progressLine {
	return &progressLine{w: w, now: now, interval: 100 * time.Millisecond, start: now()}
}

// show replaces the line with line, unless the last one is younger than
// the interval.
func (p *progressLine) show(line string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.now(); !p.shown || t.Sub(p.last) >= p.interval {
		p.last, p.shown = t, true
		fmt.Fprint(p.w, "\r\033[K"+line)
	}
}

// clear erases the line, before other output goes to the terminal.
func (p *progressLine) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.erase()
}

// erase erases the line; p.mu is held.
func (p *progressLine) erase() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// done erases the line and prints the summary with the time taken since
// the start, e.g. "db lint: 3 dialects, 431 files replayed in 12.3s".
func (p *progressLine) done(summary string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.erase()
	fmt.Fprintf(p.w, "%s in %s\n", summary, human(p.now().Sub(p.start)))
}
