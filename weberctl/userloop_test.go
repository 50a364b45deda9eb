package weberctl

// The user's loop, for real: the weberctl binary embeds the compiled
// models, so "the user edits a model" is tested on a copy of the project.
// The copy's models gain a field (users.nickname) and an entity (comments,
// with an edge from posts), the copy runs `go generate ./ent`, its users
// handler learns the field (POST /users takes it, the user JSON shows it),
// and the copy is built. On each backend, with rows in the databases that
// the weberctl of before the edit made:
//
//   - the development loop: `db ensure` adds the column and the table, keeps
//     every row, and `serve` creates and shows a user's nickname;
//   - the deployment loop: `db revision` writes the change for every
//     configured dialect under one version, `db upgrade` applies it to a
//     database that holds rows, and `db status` and `db history` tell the
//     truth before and after.
//
// Before the edit the suite's own binary (TestMain builds it from the same
// sources) plays the project's weberctl. One copy, one generate and one build
// are shared by the backends' subtests, and they run while the databases
// are being filled. The build is a plain `go build`, without -trimpath: on a
// cold CI cache it shares every dependency with the suite's own build, and
// only the project's packages compile again.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// loopRevisionName is the name the test gives the user's revision.
const loopRevisionName = "add_comments_and_nickname"

func TestUserLoop(t *testing.T) {
	if testing.Short() || binary == "" {
		t.Skip("-short: the user loop copies the project, regenerates it and builds weberctl")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the user loop needs the go command on PATH")
	}
	t.Parallel()
	start := time.Now()
	lc := newLoopCopy(t)
	t.Cleanup(func() {
		if !t.Failed() { // then the build is done: edited does not block
			t.Logf("the user loop took %s (go generate %s, go build %s)", time.Since(start).Round(time.Millisecond),
				lc.generated.Round(time.Millisecond), lc.built.Round(time.Millisecond))
		}
	})
	var dialects []string
	for _, b := range testserver.Backends() {
		dialects = append(dialects, b.Name)
	}
	revise := sync.OnceValues(func() (*loopRevision, error) {
		bin, err := lc.edited()
		if err != nil {
			return nil, err
		}
		return lc.revise(t.Context(), bin, dialects)
	})

	testserver.Each(t, func(t *testing.T, be testserver.Backend) {
		b := e2eBackendOf(be)
		// Before the edit: a development database made by `db ensure`
		// and a production-like one made by `db upgrade`, both holding
		// rows.
		dev := lc.runner(t, lc.bin0, b.newURL(t, t.TempDir()), lc.original)
		dev.must("db", "ensure")
		devDB := dev.open()
		loopSeed(t, devDB, dev.u.Dialect)
		devRows := loopSnapshot(t, devDB)

		prod := lc.runner(t, lc.bin0, b.newURL(t, t.TempDir()), lc.original)
		if _, err := dbconn.EnsureDatabase(t.Context(), prod.u); err != nil {
			t.Fatal(err)
		}
		prod.must("db", "upgrade")
		prodDB := prod.open()
		loopSeed(t, prodDB, prod.u.Dialect)
		prodRows := loopSnapshot(t, prodDB)
		if st := prod.status(); !st.Clean || st.Models.Ahead {
			t.Fatalf("status before the edit is not clean: %+v", st)
		}

		bin1, err := lc.edited()
		if err != nil {
			t.Fatal(err)
		}
		dev.bin, prod.bin = bin1, bin1

		// The models are now ahead of the history, and status says so.
		st := prod.status()
		got := loopStateOf(st)
		want := got
		want.Clean, want.ModelsChecked, want.ModelsAhead, want.UpToDate = false, true, true, true
		if diff := cmp.Diff(want, got); diff != "" || !loopContainsAll(strings.Join(st.Models.Statements, "\n"), "nickname", "comments") {
			t.Errorf("status after the edit does not say that the models are ahead of nickname and comments %q (-want +got):\n%s",
				st.Models.Statements, diff)
		}

		t.Run("dev", func(t *testing.T) {
			r := *dev
			r.t = t
			loopDevelop(t, &r, devDB, devRows)
		})

		rev, err := revise()
		if err != nil {
			t.Fatal(err)
		}
		t.Run("deploy", func(t *testing.T) {
			r := *prod
			r.t = t
			loopDeploy(t, lc, &r, prodDB, prodRows, rev)
		})
	})
}

// loopDevelop is the development loop after the edit: ensure adds the
// column and the table and keeps every row; a handler uses the field.
func loopDevelop(t *testing.T, r *loopRunner, db *sql.DB, before map[string][]string) {
	out := r.must("db", "ensure").stdout
	if !loopContainsAll(out, "Added column users.nickname", "Created table comments") {
		t.Errorf("ensure after the edit did not add the column and the table:\n%s", out)
	}
	if after := loopSnapshot(t, db); !reflect.DeepEqual(after, before) {
		t.Fatalf("ensure changed the rows:\nbefore %v\nafter  %v", before, after)
	}
	if n := r.count(db, "SELECT COUNT(*) FROM users WHERE nickname IS NULL"); n != len(before["users"]) {
		t.Errorf("%d users without a nickname after ensure, want %d", n, len(before["users"]))
	}
	if again := r.must("db", "ensure").stdout; !strings.HasPrefix(again, "Nothing to do") {
		t.Errorf("a second ensure:\n%s", again)
	}
	loopComment(t, db)

	s := r.serve()
	code, body := httpDo(t, "POST", s.base+"/users", `{"name":"Nick","email":"nick@example.com","nickname":"nicky"}`)
	if code != 201 {
		t.Fatalf("POST /users with a nickname: %d %s", code, body)
	}
	var created struct {
		ID       int    `json:"id"`
		Nickname string `json:"nickname"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil || created.Nickname != "nicky" {
		t.Fatalf("POST /users answered %s (%v)", body, err)
	}
	code, body = httpDo(t, "GET", s.base+"/users/"+strconv.Itoa(created.ID), "")
	if code != 200 || !strings.Contains(body, `"nickname":"nicky"`) {
		t.Errorf("GET the new user: %d %s", code, body)
	}
	code, body = httpDo(t, "GET", s.base+"/users/1", "")
	if code != 200 || !loopContainsAll(body, `"nickname":""`, "ada@example.com") {
		t.Errorf("GET a user from before the edit: %d %s", code, body)
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("serve exited %d after SIGTERM\nstdout: %s\nstderr: %s", code, s.stdout, s.stderr)
	}
	var nick string
	if err := db.QueryRowContext(t.Context(), "SELECT nickname FROM users WHERE email = 'nick@example.com'").Scan(&nick); err != nil || nick != "nicky" {
		t.Errorf("users.nickname in the database: %q (%v)", nick, err)
	}
	if n := r.count(db, "SELECT COUNT(*) FROM users"); n != len(before["users"])+1 {
		t.Errorf("%d users after the POST, want %d", n, len(before["users"])+1)
	}
}

// loopDeploy is the deployment loop after the revision: status shows the
// file pending, upgrade applies it and keeps every row, a second upgrade
// has nothing to do, and status and history agree with the folder.
func loopDeploy(t *testing.T, lc *loopCopy, r *loopRunner, db *sql.DB, before map[string][]string, rev *loopRevision) {
	folder := filepath.Base(r.folder())
	file, ok := rev.files[folder]
	if !ok {
		t.Fatalf("the revision wrote nothing for %s", folder)
	}
	r.dir = lc.migrations

	st := r.status()
	pending := loopStateOf(st)
	want := pending
	want.Clean, want.UpToDate, want.Pending, want.ModelsChecked, want.ModelsAhead = false, false, []string{rev.version + " " + file}, true, false
	if diff := cmp.Diff(want, pending); diff != "" {
		t.Errorf("status with the revision pending (-want +got):\n%s", diff)
	}

	up := r.must("db", "upgrade").stdout
	if !regexp.MustCompile(regexp.QuoteMeta(file) + ` \(\d+ statements?\) \.\.\. done in`).MatchString(up) {
		t.Errorf("upgrade did not apply %s:\n%s", file, up)
	}
	if after := loopSnapshot(t, db); !reflect.DeepEqual(after, before) {
		t.Fatalf("the upgrade changed the rows:\nbefore %v\nafter  %v", before, after)
	}
	if n := r.count(db, "SELECT COUNT(*) FROM users WHERE nickname IS NULL"); n != len(before["users"]) {
		t.Errorf("%d users without a nickname after the upgrade, want %d", n, len(before["users"]))
	}
	loopComment(t, db)

	again := r.must("db", "upgrade").stdout
	if want := "Nothing to do: the database is at version " + rev.version + "."; strings.TrimSpace(again) != want {
		t.Errorf("a second upgrade: %q, want %q", again, want)
	}

	files := loopFiles(t, filepath.Join(lc.migrations, folder))
	st = r.status()
	want = loopState{Clean: true, ModelsChecked: true, UpToDate: true, Current: rev.version, CurrentName: file, Applied: len(files),
		Files: len(files), LiveChecked: true, LiveClean: true, LiveVersion: rev.version}
	if diff := cmp.Diff(want, loopStateOf(st)); diff != "" {
		t.Errorf("status after the upgrade is not in sync (-want +got):\n%s", diff)
	}

	var revs []revisionView
	out := r.must("db", "history", "--json").stdout
	if err := json.Unmarshal([]byte(out), &revs); err != nil {
		t.Fatalf("history --json: %v\n%s", err, out)
	}
	var got []string
	for _, v := range revs {
		got = append(got, v.Version+"_"+v.Description+".sql")
		type revision struct {
			State      string
			Done, Hash bool
		}
		if diff := cmp.Diff(revision{"applied", true, true}, revision{v.State, v.Applied == v.Total && v.Total > 0, v.Hash != ""}); diff != "" {
			t.Errorf("history: revision %s is not fully applied (-want +got):\n%s", v.Version, diff)
		}
	}
	if !slices.Equal(got, files) {
		t.Errorf("history lists %v, the folder holds %v", got, files)
	}
	if n := len(revs); n == 0 || revs[n-1].Version != rev.version || revs[n-1].Description != loopRevisionName {
		t.Errorf("the new revision is not the last in the history: %s", out)
	}
}

// loopCopy is the copy of the project the test edits.
type loopCopy struct {
	root string
	// migrations is the copy's history, which the revision extends;
	// original is a snapshot of it from before, which nothing changes.
	migrations, original string
	// bin0 is weberctl as the copy was: the suite's binary, built by
	// TestMain from the same sources.
	bin0 string
	// edited waits for the models' edit, the generate and the build, and
	// returns that binary.
	edited func() (string, error)
	// generated and built are how long the generate and the build took.
	generated, built time.Duration
}

// loopCopyModule copies the module at src to dst: every top-level entry
// but version control, local state and the docs, so that a package added
// to the module is copied without this list knowing it.
func loopCopyModule(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case ".git", ".ci", "var", "docs", "tools":
			continue
		}
		loopCopyTree(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
	}
}

// newLoopCopy copies the project and starts editing, regenerating and
// building it in the background.
func newLoopCopy(t *testing.T) *loopCopy {
	t.Helper()
	src := loopModuleRoot(t)
	tmp := t.TempDir()
	lc := &loopCopy{root: filepath.Join(tmp, "project"), original: filepath.Join(tmp, "original-migrations"), bin0: binary}
	lc.migrations = filepath.Join(lc.root, "migrations")
	loopCopyModule(t, src, lc.root)
	loopCopyTree(t, lc.migrations, lc.original)

	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{})
	var bin1 string
	var err error
	go func() {
		defer close(done)
		bin1, err = lc.edit(ctx, filepath.Join(tmp, "weberctl-after"))
	}()
	// Stop the background work before t.TempDir removes the copy.
	t.Cleanup(func() { cancel(); <-done })
	lc.edited = func() (string, error) {
		<-done
		return bin1, err
	}
	return lc
}

// edit makes the user's change in the copy: a field and an entity in the
// models, the generate, a handler that uses the field; then builds.
func (lc *loopCopy) edit(ctx context.Context, bin string) (string, error) {
	schema := filepath.Join(lc.root, "ent", "schema")
	edits := []struct{ file, anchor, with string }{
		{filepath.Join(schema, "user.go"), "\t\tfield.String(\"bio\").Optional().MaxRuneLen(1000),\n",
			"\t\tfield.String(\"nickname\").Optional(),\n"},
		{filepath.Join(schema, "post.go"), "\t\tedge.To(\"tags\", Tag.Type),\n",
			"\t\tedge.To(\"comments\", Comment.Type),\n"},
	}
	for _, e := range edits {
		if err := loopInsertAfter(e.file, "", e.anchor, e.with); err != nil {
			return "", err
		}
	}
	comment := `package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Comment is a reader's comment on a post.
type Comment struct {
	ent.Schema
}

// Fields of the Comment.
func (Comment) Fields() []ent.Field {
	return []ent.Field{
		field.Text("body"),
	}
}

// Edges of the Comment.
func (Comment) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("post", Post.Type).Ref("comments").Unique(),
	}
}
`
	if err := os.WriteFile(filepath.Join(schema, "comment.go"), []byte(comment), 0o644); err != nil {
		return "", err
	}
	start := time.Now()
	if err := loopGo(ctx, lc.root, "generate", "./ent"); err != nil {
		return "", err
	}
	lc.generated = time.Since(start)
	if _, err := os.Stat(filepath.Join(lc.root, "ent", "comment.go")); err != nil {
		return "", fmt.Errorf("go generate ./ent wrote no client for Comment: %w", err)
	}

	// The handler: the user JSON shows the nickname, and POST /users takes it.
	users := filepath.Join(lc.root, "app", "users.go")
	handler := []struct{ after, anchor, with string }{
		{"", "\tBio       string `json:\"bio\"`\n", "\tNickname  string `json:\"nickname\"`\n"},
		{"func userJSON(", "Bio: u.Bio,", " Nickname: u.Nickname,"},
		{"func (a *App) createUser(", `"role", "bio"`, `, "nickname"`},
		{"func (a *App) createUser(", ".SetNillableBio(bio)", `
	nickname, _, err := field[string](obj, "nickname")
	if err != nil {
		return err
	}
	c.SetNillableNickname(nickname)`},
	}
	for _, h := range handler {
		if err := loopInsertAfter(users, h.after, h.anchor, h.with); err != nil {
			return "", err
		}
	}
	start = time.Now()
	if err := loopGo(ctx, lc.root, "build", "-o", bin, "./cmd/weberctl"); err != nil {
		return "", err
	}
	lc.built = time.Since(start)
	return bin, nil
}

// loopRevision is what the shared `db revision` wrote.
type loopRevision struct {
	version string
	// files maps each revised dialect folder to the new file's name.
	files map[string]string
}

// revise runs `db revision` once for every configured dialect, checks that
// each folder got one new file with the same version, and that a second
// revision writes nothing.
func (lc *loopCopy) revise(ctx context.Context, bin string, dialects []string) (*loopRevision, error) {
	before := map[string][]string{}
	for _, d := range []string{"sqlite", "postgres", "mysql"} {
		before[d] = loopGlob(filepath.Join(lc.migrations, d), "*.sql")
	}
	args := []string{"db", "revision", "--name", loopRevisionName, "--json", "--dir", lc.migrations}
	for _, d := range dialects {
		args = append(args, "--dialect", d)
	}
	out, err := loopWeberctl(ctx, bin, lc.root, devEnv(), args...)
	if err != nil {
		return nil, err
	}
	var v reviseView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, fmt.Errorf("db revision --json: %v\n%s", err, out)
	}
	if !v.Written || v.Name != loopRevisionName || len(v.Dialects) != len(dialects) {
		return nil, fmt.Errorf("db revision did not write %s for %v:\n%s", loopRevisionName, dialects, out)
	}
	rev := &loopRevision{version: v.Version, files: map[string]string{}}
	want := v.Version + "_" + loopRevisionName + ".sql"
	for d, old := range before {
		now := loopGlob(filepath.Join(lc.migrations, d), "*.sql")
		var added []string
		for _, f := range now {
			if !slices.Contains(old, f) {
				added = append(added, f)
			}
		}
		if !slices.Contains(dialects, d) {
			if len(added) != 0 {
				return nil, fmt.Errorf("db revision wrote %v into %s, a dialect it was not asked for", added, d)
			}
			continue
		}
		if len(added) != 1 || added[0] != want || now[len(now)-1] != want {
			return nil, fmt.Errorf("%s: the revision added %v, want exactly %s, newest", d, added, want)
		}
		sql, err := os.ReadFile(filepath.Join(lc.migrations, d, want))
		if err != nil {
			return nil, err
		}
		if !loopContainsAll(string(sql), "nickname", "comments") || strings.Contains(strings.ToUpper(string(sql)), "DROP ") {
			return nil, fmt.Errorf("%s/%s does not add exactly the column and the table:\n%s", d, want, sql)
		}
		sum, err := os.ReadFile(filepath.Join(lc.migrations, d, "atlas.sum"))
		if err != nil || !strings.Contains(string(sum), "\n"+want+" h1:") {
			return nil, fmt.Errorf("%s/atlas.sum does not list %s (%v)", d, want, err)
		}
		rev.files[d] = want
	}
	out, err = loopWeberctl(ctx, bin, lc.root, devEnv(), append(args[:2:2], args[4:]...)...)
	if err != nil {
		return nil, err
	}
	var again reviseView
	if err := json.Unmarshal([]byte(out), &again); err != nil || again.Written {
		return nil, fmt.Errorf("a second revision wrote something (%v):\n%s", err, out)
	}
	for _, d := range dialects {
		if n := len(loopGlob(filepath.Join(lc.migrations, d), "*.sql")); n != len(before[d])+1 {
			return nil, fmt.Errorf("%s holds %d files after a second revision, want %d", d, n, len(before[d])+1)
		}
	}
	return rev, nil
}

// loopRunner runs one weberctl binary of the copy against one database.
type loopRunner struct {
	t   *testing.T
	bin string
	cwd string
	url string
	u   *dbconn.URL
	// dir is the migrations directory (--dir).
	dir string
}

func (lc *loopCopy) runner(t *testing.T, bin, url, dir string) *loopRunner {
	t.Helper()
	u, err := dbconn.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	return &loopRunner{t: t, bin: bin, cwd: lc.root, url: url, u: u, dir: dir}
}

func (r *loopRunner) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.bin, append(args, "--dir", r.dir)...)
	cmd.Dir = r.cwd
	cmd.Env = cleanEnv(append([]string{"WEBER_DATABASE_URL=" + r.url}, devEnv()...))
	return cmd
}

// must runs weberctl to completion and fails the test unless it exits 0.
func (r *loopRunner) must(args ...string) result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.t.Context(), 2*time.Minute)
	defer cancel()
	cmd := r.command(ctx, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("weberctl %s (%s): %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.bin, err, out.String(), errb.String())
	}
	return result{stdout: out.String(), stderr: errb.String()}
}

// status returns `db status --json`.
func (r *loopRunner) status() statusView {
	r.t.Helper()
	out := r.must("db", "status", "--json").stdout
	var v statusView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		r.t.Fatalf("status --json: %v\n%s", err, out)
	}
	return v
}

func (r *loopRunner) open() *sql.DB {
	r.t.Helper()
	db, err := dbconn.Open(r.t.Context(), r.u)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { db.Close() })
	return db
}

func (r *loopRunner) count(db *sql.DB, query string) int {
	r.t.Helper()
	var n int
	if err := db.QueryRowContext(r.t.Context(), query).Scan(&n); err != nil {
		r.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (r *loopRunner) folder() string {
	switch r.u.Dialect {
	case dialect.SQLite:
		return "sqlite"
	case dialect.Postgres:
		return "postgres"
	}
	return "mysql"
}

// serve starts `weberctl serve` on a free port and waits until it listens.
func (r *loopRunner) serve() *serving {
	r.t.Helper()
	cmd := r.command(context.Background(), "serve", "--addr", "127.0.0.1:0")
	s := &serving{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	go func() { s.err = cmd.Wait(); close(s.exited) }()
	r.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
		}
	})
	re := regexp.MustCompile(`Serving on (http://\S+) `)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(s.stdout.String()); m != nil {
			s.base = m[1]
			return s
		}
		select {
		case <-s.exited:
			r.t.Fatalf("serve exited early\nstdout: %s\nstderr: %s", s.stdout, s.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	r.t.Fatalf("serve did not start in time\nstdout: %s\nstderr: %s", s.stdout, s.stderr)
	return nil
}

// loopSeed fills a database of the original models: users, posts, tags
// and the posts' tags.
func loopSeed(t *testing.T, db *sql.DB, dia string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	exec := func(q string, args ...any) {
		t.Helper()
		if dia == dialect.Postgres {
			n := 0
			q = regexp.MustCompile(`\?`).ReplaceAllStringFunc(q, func(string) string { n++; return "$" + strconv.Itoa(n) })
		}
		if _, err := db.ExecContext(t.Context(), q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, u := range []struct {
		name, email, role string
		bio               any
	}{
		{"Ada Lovelace", "ada@example.com", "admin", "wrote the first program"},
		{"Zoë Brontë", "zoe@example.com", "member", nil},
		{"Grace Hopper", "grace@example.com", "member", "COBOL"},
	} {
		exec("INSERT INTO users (created_at, updated_at, name, email, role, bio) VALUES (?, ?, ?, ?, ?, ?)",
			now, now, u.name, u.email, u.role, u.bio)
	}
	exec("INSERT INTO posts (created_at, updated_at, title, body, status, view_count, user_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
		now, now, "Notes on the engine", "It weaves algebraic patterns.", "published", 42, 1)
	exec("INSERT INTO posts (created_at, updated_at, title, body, status, view_count, user_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
		now, now, "A draft", "", "draft", 0, 3)
	exec("INSERT INTO tags (name, description) VALUES (?, ?)", "history", "Old things")
	exec("INSERT INTO tags (name) VALUES (?)", "computing")
	for _, pt := range [][2]int{{1, 1}, {1, 2}, {2, 2}} {
		exec("INSERT INTO post_tags (post_id, tag_id) VALUES (?, ?)", pt[0], pt[1])
	}
}

// loopSnapshot reads every seeded row, every column, as text.
func loopSnapshot(t *testing.T, db *sql.DB) map[string][]string {
	t.Helper()
	queries := map[string]string{
		"users":     "SELECT id, created_at, updated_at, name, email, role, bio FROM users ORDER BY id",
		"posts":     "SELECT id, created_at, updated_at, title, body, status, published_at, view_count, user_id FROM posts ORDER BY id",
		"tags":      "SELECT id, name, description FROM tags ORDER BY id",
		"post_tags": "SELECT post_id, tag_id FROM post_tags ORDER BY post_id, tag_id",
	}
	want := map[string]int{"users": 3, "posts": 2, "tags": 2, "post_tags": 3}
	snap := map[string][]string{}
	for table, q := range queries {
		rows, err := db.QueryContext(t.Context(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			var fields []string
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fields = append(fields, fmt.Sprint(v))
			}
			snap[table] = append(snap[table], strings.Join(fields, "|"))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		rows.Close()
		if len(snap[table]) != want[table] {
			t.Fatalf("%s holds %d rows, want %d: %v", table, len(snap[table]), want[table], snap[table])
		}
	}
	return snap
}

// loopComment writes a comment on post 1 through the new edge's column
// and reads it back through a join: the new table and its foreign key work.
func loopComment(t *testing.T, db *sql.DB) {
	t.Helper()
	q := "INSERT INTO comments (body, post_comments) VALUES ('first!', 1)"
	if _, err := db.ExecContext(t.Context(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var title string
	q = "SELECT p.title FROM comments c JOIN posts p ON p.id = c.post_comments WHERE c.body = 'first!'"
	if err := db.QueryRowContext(t.Context(), q).Scan(&title); err != nil || title != "Notes on the engine" {
		t.Errorf("%s: %q, %v", q, title, err)
	}
	if _, err := db.ExecContext(t.Context(), "INSERT INTO comments (body, post_comments) VALUES ('orphan', 999)"); err == nil {
		t.Errorf("a comment on a post that does not exist was accepted: the foreign key is missing")
	}
}

// loopModuleRoot walks up from the test's directory to go.mod.
func loopModuleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// loopCopyTree copies a file or a folder of the project, leaving out
// what a build does not need: testdata, var/, bin/, hidden files and
// executables (a weberctl built in place).
func loopCopyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if path != from && (strings.HasPrefix(name, ".") || d.IsDir() && (name == "testdata" || name == "var" || name == "bin")) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(from, path)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() || info.Mode()&0o111 != 0 {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying the project: %v", err)
	}
}

// loopGo runs the go command in dir.
func loopGo(ctx context.Context, dir string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s in the copy: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// loopWeberctl runs a binary to completion outside any test's helpers and
// returns its stdout, or an error with both outputs.
func loopWeberctl(ctx context.Context, bin, dir string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(env)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("weberctl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), nil
}

// loopInsertAfter inserts with after the first anchor that follows the first
// occurrence of after (the start of the file when after is empty), and
// fails when either is missing: the file changed and the test must follow.
func loopInsertAfter(file, after, anchor, with string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	s := string(b)
	from := strings.Index(s, after)
	if from < 0 {
		return fmt.Errorf("editing %s: %q is not there any more; update the user loop test", file, after)
	}
	i := strings.Index(s[from:], anchor)
	if i < 0 {
		return fmt.Errorf("editing %s: %q is not there any more after %q; update the user loop test", file, anchor, after)
	}
	i += from + len(anchor)
	return os.WriteFile(file, []byte(s[:i]+with+s[i:]), 0o644)
}

func loopGlob(dir, pattern string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	names := make([]string, 0, len(m))
	for _, p := range m {
		names = append(names, filepath.Base(p))
	}
	slices.Sort(names)
	return names
}

// loopFiles lists a folder's migration files, oldest first.
func loopFiles(t *testing.T, dir string) []string {
	t.Helper()
	names := loopGlob(dir, "*.sql")
	if len(names) == 0 {
		t.Fatalf("no migration file in %s", dir)
	}
	return names
}

func loopContainsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// loopState is what the user loop checks of `db status --json`: the three
// ways, the pending files as "version name", how many problems.
type loopState struct {
	Clean                      bool
	ModelsChecked, ModelsAhead bool
	UpToDate                   bool
	Current, CurrentName       string
	Applied, Files             int
	Pending                    []string
	Partial                    bool
	Problems                   int
	LiveChecked, LiveClean     bool
	LiveVersion                string
}

func loopStateOf(st statusView) loopState {
	h := st.History
	s := loopState{Clean: st.Clean, ModelsChecked: st.Models.Checked, ModelsAhead: st.Models.Ahead, UpToDate: h.UpToDate,
		Current: h.Current, CurrentName: h.CurrentName, Applied: h.Applied, Files: h.Files, Partial: h.Partial != nil,
		Problems: len(h.Problems), LiveChecked: st.Live.Checked, LiveClean: st.Live.Clean, LiveVersion: st.Live.Version}
	for _, p := range h.Pending {
		s.Pending = append(s.Pending, p.Version+" "+p.Name)
	}
	return s
}
