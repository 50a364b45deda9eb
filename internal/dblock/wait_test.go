package dblock

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// A waiter is told once, before it waits, who holds the lock; it then
// gets the lock when the holder releases it. A waiter with timeout 0 does
// not wait and is told nothing.
func TestWaitNoticeNamesTheHolderOnce(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		d := newDB(t, b)
		l1 := mustAcquire(t, context.Background(), openPool(t, d.u), d.u, 0)

		var mu sync.Mutex
		var notices []Wait
		noticed := make(chan struct{}, 1)
		ctx := WithWaitNotice(context.Background(), func(w Wait) {
			mu.Lock()
			notices = append(notices, w)
			mu.Unlock()
			noticed <- struct{}{}
		})

		if _, err := Acquire(ctx, openPool(t, d.u), d.u, 0); err == nil {
			t.Fatal("Acquire with timeout 0 got a held lock")
		}
		if len(notices) != 0 {
			t.Fatalf("timeout 0 does not wait, yet it was noticed: %+v", notices)
		}

		got := make(chan error, 1)
		go func() {
			l2, err := Acquire(ctx, openPool(t, d.u), d.u, time.Minute)
			if err == nil {
				err = l2.Release()
			}
			got <- err
		}()
		select {
		case <-noticed:
		case err := <-got:
			t.Fatalf("Acquire returned (%v) without noticing the wait", err)
		case <-time.After(30 * time.Second):
			t.Fatal("no wait notice")
		}
		if err := l1.Release(); err != nil {
			t.Fatal(err)
		}
		if err := <-got; err != nil {
			t.Fatalf("the waiter did not get the released lock: %v", err)
		}

		if len(notices) != 1 {
			t.Fatalf("%d notices, want exactly 1: %+v", len(notices), notices)
		}
		w := notices[0]
		if w.Database != d.u.Redacted() || w.Timeout != time.Minute {
			t.Errorf("notice = %+v, want database %s and timeout 1m", w, d.u.Redacted())
		}
		// The holder is this test process: named by pid on SQLite and by
		// the lock session's application_name on PostgreSQL; MySQL names
		// the connection (its processlist has no pid).
		want := map[string]string{
			"sqlite":   fmt.Sprintf("pid %d (this process)", os.Getpid()),
			"postgres": fmt.Sprintf("weber lock, pid %d on ", os.Getpid()),
			"mysql":    "MySQL connection id ",
		}[b.Name]
		if !strings.Contains(w.Holder, want) {
			t.Errorf("holder = %q, want it to contain %q", w.Holder, want)
		}
	})
}
