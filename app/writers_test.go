package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/weber-framework/weber/config"
	"github.com/weber-framework/weber/internal/testdb"
)

// writers is how many clients write at once in TestConcurrentWritersNeverLocked:
// the target is no "database is locked" with 32 writers on SQLite.
const writers = 32

// TestConcurrentWritersNeverLocked sends writes from 32 clients at once
// through the app's handlers over real HTTP. On SQLite the database is a
// file opened the way `weberctl serve` opens it (dbconn.Open: WAL,
// busy_timeout, BEGIN IMMEDIATE for transactions), so this is the
// configuration that must not answer "database is locked" (SQLITE_BUSY)
// when writers queue for its one write lock. Every request must succeed,
// and every row must be there afterwards.
func TestConcurrentWritersNeverLocked(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		logs := &syncBuffer{}
		cfg := config.FromEnv(func(string) string { return "" })
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		a, err := New(db.Client, db.SQL, cfg)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a.Handler())
		t.Cleanup(srv.Close)
		client := srv.Client()
		client.Transport.(*http.Transport).MaxIdleConnsPerHost = writers

		const postsEach = 3
		var wg sync.WaitGroup
		failures := make(chan string, writers*(postsEach*2+2))
		for w := range writers {
			wg.Go(func() {
				fail := func(format string, args ...any) {
					failures <- fmt.Sprintf("writer %d: ", w) + fmt.Sprintf(format, args...)
				}
				var u UserJSON
				if msg := send(client, "POST", srv.URL+"/users", map[string]any{"name": "W", "email": fmt.Sprintf("w%d@example.com", w)}, http.StatusCreated, &u); msg != "" {
					fail("create user: %s", msg)
					return
				}
				for i := range postsEach {
					// Shared tag names make the writers' transactions touch the same rows.
					body := map[string]any{"title": fmt.Sprintf("p%d", i), "status": "published", "tags": []string{"shared", fmt.Sprintf("t%d", i), fmt.Sprintf("w%d", w)}}
					var p PostJSON
					if msg := send(client, "POST", fmt.Sprintf("%s/users/%d/posts", srv.URL, u.ID), body, http.StatusCreated, &p); msg != "" {
						fail("create post: %s", msg)
						continue
					}
					if msg := send(client, "POST", fmt.Sprintf("%s/posts/%d/views", srv.URL, p.ID), nil, http.StatusOK, nil); msg != "" {
						fail("view post: %s", msg)
					}
				}
				if msg := send(client, "PATCH", fmt.Sprintf("%s/users/%d", srv.URL, u.ID), map[string]any{"bio": "written"}, http.StatusOK, nil); msg != "" {
					fail("update user: %s", msg)
				}
			})
		}
		wg.Wait()
		close(failures)
		for f := range failures {
			t.Error(f)
		}
		for _, bad := range []string{"database is locked", "SQLITE_BUSY"} {
			if strings.Contains(logs.String(), bad) {
				t.Errorf("the log reports %q:\n%s", bad, logs.String())
			}
		}
		ctx := t.Context()
		if n := db.Client.User.Query().CountX(ctx); n != writers {
			t.Errorf("users = %d, want %d", n, writers)
		}
		if n := db.Client.Post.Query().CountX(ctx); n != writers*postsEach {
			t.Errorf("posts = %d, want %d", n, writers*postsEach)
		}
		if n := db.Client.Tag.Query().CountX(ctx); n != 1+postsEach+writers {
			t.Errorf("tags = %d, want %d", n, 1+postsEach+writers)
		}
	}, testdb.SQLiteFile())
}

// send makes one JSON request and decodes the answer into out (when not
// nil). It returns "" when the status is want, else what came back.
func send(c *http.Client, method, url string, body any, want int, out any) string {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err.Error()
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return err.Error()
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	if resp.StatusCode != want {
		return fmt.Sprintf("status %d, want %d: %s", resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Sprintf("decoding %s: %v", data, err)
		}
	}
	return ""
}
