package weberctl

// Two branches of a team's project each add a model field and a revision;
// the branch with the older revision merges the other. Through git and the
// real binaries of each branch (the binary embeds the compiled models):
// the merge conflicts in every atlas.sum, `db rebase` moves the branch's
// revision after the other's and repairs the sums, and then a database
// that had the other branch applied and a fresh one both upgrade to the
// merged models, with the same schema, and `db check` passes.

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
)

// gitRun runs git in dir and fails the test on error, returning stdout.
func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitTry(dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func gitTry(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// teamRepo is a git repository of a copy of the project, with the
// generated client ignored (it is regenerated on every branch).
func teamRepo(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "project")
	loopCopyModule(t, loopModuleRoot(t), root)
	ignore := "/ent/*\n!/ent/schema/\n!/ent/generate.go\n!/ent/template/\n/var/\n"
	if err := os.WriteFile(filepath.Join(root, ".gitignore"), []byte(ignore), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, root, "init", "-q", "-b", "main")
	gitRun(t, root, "add", "-A")
	gitRun(t, root, "commit", "-q", "-m", "the project")
	return root
}

// teamBranch adds a field to a model in dir, regenerates and builds.
func teamBranch(ctx context.Context, dir, bin, file, anchor, field string) error {
	if err := loopInsertAfter(filepath.Join(dir, "ent", "schema", file), "", anchor, field); err != nil {
		return err
	}
	return teamBuild(ctx, dir, bin)
}

func teamBuild(ctx context.Context, dir, bin string) error {
	if err := loopGo(ctx, dir, "generate", "./ent"); err != nil {
		return err
	}
	return loopGo(ctx, dir, "build", "-o", bin, "./cmd/weberctl")
}

func TestE2ERebaseTwoBranches(t *testing.T) {
	if testing.Short() || binary == "" {
		t.Skip("-short: the rebase test copies the project, regenerates it and builds weberctl three times")
	}
	for _, tool := range []string{"go", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the rebase test needs %s on PATH", tool)
		}
	}
	t.Parallel()
	tb := newTeamBranches(t)
	shared := tb.sharedDatabases(t)
	binM := tb.mergeAndRebase(t, shared["sqlite"])
	for _, b := range tb.backends {
		t.Run(b.name, func(t *testing.T) {
			fresh := b.newURL(t, t.TempDir())
			teamEnsure(t, fresh)
			var schemas []string
			for _, url := range []string{shared[b.name], fresh} {
				schemas = append(schemas, tb.upgradeClean(t, binM, url))
			}
			if schemas[0] != schemas[1] {
				t.Errorf("the database that had main applied and the fresh one differ:\n%s\n---\n%s", schemas[0], schemas[1])
			}
			if !loopContainsAll(schemas[1], "nickname", "subtitle") {
				t.Errorf("the live schema lacks a branch's column:\n%s", schemas[1])
			}
		})
	}
}

// teamBranches is a project in git with two branches, main and feature,
// each with its own model change, revision and binary.
type teamBranches struct {
	backends      []e2eBackend
	names         []string
	env           []string
	main, feature string // the branches' working trees
	binA, bins    string // main's binary; the folder of binaries
}

// newTeamBranches builds both branches in parallel and revises them,
// feature first: its revision is the older one, so the merge interleaves.
func newTeamBranches(t *testing.T) *teamBranches {
	t.Helper()
	ctx := t.Context()
	tb := &teamBranches{backends: configuredE2EBackends(), main: teamRepo(t), bins: t.TempDir()}
	for _, b := range tb.backends {
		tb.names = append(tb.names, b.name)
	}
	tb.env = append(devEnv(), "WEBER_DIALECTS="+strings.Join(tb.names, ","))
	tb.feature = filepath.Join(filepath.Dir(tb.main), "feature")
	gitRun(t, tb.main, "worktree", "add", "-q", "-b", "feature", tb.feature)
	tb.binA = filepath.Join(tb.bins, "main")
	binB := filepath.Join(tb.bins, "feature")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		errs[0] = teamBranch(ctx, tb.main, tb.binA, "user.go", "\t\tfield.String(\"bio\").Optional().MaxRuneLen(1000),\n", "\t\tfield.String(\"nickname\").Optional(),\n")
	}()
	go func() {
		defer wg.Done()
		errs[1] = teamBranch(ctx, tb.feature, binB, "post.go", "\t\tfield.Int(\"view_count\").NonNegative().Default(0),\n", "\t\tfield.String(\"subtitle\").Optional(),\n")
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	tb.revise(t, binB, tb.feature, "add_subtitle")
	time.Sleep(1100 * time.Millisecond)
	tb.revise(t, tb.binA, tb.main, "add_nickname")
	return tb
}

// revise runs `db revision` in a branch's tree and commits it.
func (tb *teamBranches) revise(t *testing.T, bin, dir, name string) {
	t.Helper()
	if _, err := loopWeberctl(t.Context(), bin, dir, tb.env, "db", "revision", "--name", name); err != nil {
		t.Fatal(err)
	}
	gitRun(t, dir, "add", "-A")
	gitRun(t, dir, "commit", "-q", "-m", name)
}

// sharedDatabases upgrades a database per backend with main's history:
// production, say.
func (tb *teamBranches) sharedDatabases(t *testing.T) map[string]string {
	t.Helper()
	shared := map[string]string{}
	for _, b := range tb.backends {
		url := b.newURL(t, t.TempDir())
		teamEnsure(t, url)
		if _, err := loopWeberctl(t.Context(), tb.binA, tb.main, append(tb.env, "WEBER_DATABASE_URL="+url), "db", "upgrade"); err != nil {
			t.Fatal(err)
		}
		shared[b.name] = url
	}
	return shared
}

// mergeAndRebase merges main into feature (atlas.sum conflicts), builds
// the merged models, runs `db rebase` checked against the database url,
// commits, and returns the merged binary.
func (tb *teamBranches) mergeAndRebase(t *testing.T, url string) string {
	t.Helper()
	ctx := t.Context()
	if out, err := gitTry(tb.feature, "merge", "-q", "--no-edit", "main"); err == nil {
		t.Fatalf("the merge did not conflict:\n%s", out)
	}
	for _, d := range tb.names {
		sum := filepath.Join(tb.feature, "migrations", d, "atlas.sum")
		if b, _ := os.ReadFile(sum); !strings.Contains(string(b), "<<<<<<<") {
			t.Fatalf("%s has no conflict markers after the merge:\n%s", sum, b)
		}
	}
	binM := filepath.Join(tb.bins, "merged")
	if err := teamBuild(ctx, tb.feature, binM); err != nil {
		t.Fatal(err)
	}
	// Before the rebase every other command refuses the conflicted sum,
	// naming the repair.
	if _, err := loopWeberctl(ctx, binM, tb.feature, tb.env, "db", "check"); err == nil || !strings.Contains(err.Error(), "conflict markers") ||
		!strings.Contains(err.Error(), "weberctl db hash") {
		t.Errorf("db check with a conflicted atlas.sum: want a refusal naming the conflict and `weberctl db hash`, got %v", err)
	}
	out, err := loopWeberctl(ctx, binM, tb.feature, append(tb.env, "WEBER_DATABASE_URL="+url), "db", "rebase", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var v rebaseView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("db rebase --json: %v\n%s", err, out)
	}
	if len(v.Moved) != 1 || !strings.HasSuffix(v.Moved[0].From, "_add_subtitle.sql") || v.Moved[0].Action != "renamed" ||
		len(v.Repaired) != len(tb.names) || v.LintErrors != 0 {
		t.Fatalf("db rebase did not move add_subtitle and repair every sum:\n%s", out)
	}
	for _, d := range tb.names {
		files := loopFiles(t, filepath.Join(tb.feature, "migrations", d))
		if last := files[len(files)-1]; last != v.Moved[0].To || !strings.HasSuffix(files[len(files)-2], "_add_nickname.sql") {
			t.Fatalf("%s: after the rebase the files are %v: want add_nickname then %s", d, files, v.Moved[0].To)
		}
	}
	gitRun(t, tb.feature, "add", "-A")
	gitRun(t, tb.feature, "commit", "-q", "--no-edit")
	if _, err := loopWeberctl(ctx, binM, tb.feature, tb.env, "db", "check"); err != nil {
		t.Fatalf("db check after the rebase: %v", err)
	}
	return binM
}

// upgradeClean upgrades the database url with the merged binary, checks
// that status is clean (models, history and live database agree) and
// returns its live schema.
func (tb *teamBranches) upgradeClean(t *testing.T, bin, url string) string {
	t.Helper()
	e := append(tb.env, "WEBER_DATABASE_URL="+url)
	if _, err := loopWeberctl(t.Context(), bin, tb.feature, e, "db", "upgrade"); err != nil {
		t.Fatal(err)
	}
	out, err := loopWeberctl(t.Context(), bin, tb.feature, e, "db", "status", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var st statusView
	if err := json.Unmarshal([]byte(out), &st); err != nil || !st.Clean {
		t.Fatalf("status after the upgrade is not clean (%v):\n%s", err, out)
	}
	s, err := loopWeberctl(t.Context(), bin, tb.feature, e, "db", "schema", "--live")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// teamEnsure creates the database a URL names (the server's ones; SQLite
// files are made by the upgrade).
func teamEnsure(t *testing.T, url string) {
	t.Helper()
	u, err := dbconn.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dbconn.EnsureDatabase(t.Context(), u); err != nil {
		t.Fatal(err)
	}
}

// With the documented merge driver, git merges two branches that each
// added a hand-written file without a conflict, keeping this branch's
// atlas.sum; every command then refuses the stale sum, `db rebase --onto`
// refuses to move a revision a database applied, restoring the folder,
// and moves it when none did; a conflicted sum is repaired by `db hash`.
func TestE2ERebaseMergeDriver(t *testing.T) {
	skipShort(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("the merge driver test needs git on PATH")
	}
	t.Parallel()
	root := filepath.Join(t.TempDir(), "project")
	loopCopyTree(t, filepath.Join(loopModuleRoot(t), "migrations"), filepath.Join(root, "migrations"))
	if err := os.MkdirAll(filepath.Join(root, "var"), 0o755); err != nil {
		t.Fatal(err)
	}
	attrs := "migrations/**/atlas.sum merge=weber-sum\n"
	if err := os.WriteFile(filepath.Join(root, ".gitattributes"), []byte(attrs+"/var/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ".gitignore"), []byte("/var/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, root, "init", "-q", "-b", "main")
	gitRun(t, root, "config", "merge.weber-sum.driver", "true")
	gitRun(t, root, "add", "-A")
	gitRun(t, root, "commit", "-q", "-m", "the project")
	sqlite := func(name string) string { return "sqlite://" + filepath.Join(root, "var", name) }
	run := func(url string, args ...string) (string, error) {
		return loopWeberctl(t.Context(), binary, root, []string{"WEBER_DIALECTS=sqlite", "WEBER_DATABASE_URL=" + url}, args...)
	}
	must := func(url string, args ...string) string {
		t.Helper()
		out, err := run(url, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	gitRun(t, root, "checkout", "-q", "-b", "feature")
	must(sqlite("x.db"), "db", "new", "feature_view")
	gitRun(t, root, "add", "-A")
	gitRun(t, root, "commit", "-q", "-m", "feature_view")
	must(sqlite("feature.db"), "db", "upgrade") // a database that applied the feature branch
	gitRun(t, root, "checkout", "-q", "main")
	time.Sleep(1100 * time.Millisecond)
	must(sqlite("x.db"), "db", "new", "main_grants")
	gitRun(t, root, "add", "-A")
	gitRun(t, root, "commit", "-q", "-m", "main_grants")
	must(sqlite("main.db"), "db", "upgrade")
	gitRun(t, root, "checkout", "-q", "feature")
	gitRun(t, root, "merge", "-q", "--no-edit", "main") // no conflict: the driver keeps our atlas.sum

	folder := filepath.Join(root, "migrations", "sqlite")
	if _, err := run(sqlite("main.db"), "db", "upgrade"); err == nil || !strings.Contains(err.Error(), "weberctl db hash") {
		t.Fatalf("db upgrade with the stale atlas.sum the driver kept: want a refusal naming db hash, got %v", err)
	}
	before := loopGlob(folder, "*")
	if _, err := run(sqlite("feature.db"), "db", "rebase", "--onto", "main"); err == nil || !strings.Contains(err.Error(), "is applied on the database") {
		t.Fatalf("rebase of a revision a database applied: want a refusal, got %v", err)
	}
	if after := loopGlob(folder, "*"); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Fatalf("a refused rebase changed the folder: %v -> %v", before, after)
	}
	out := must(sqlite("main.db"), "db", "rebase", "--onto", "main", "--json")
	var v rebaseView
	if err := json.Unmarshal([]byte(out), &v); err != nil || len(v.Moved) != 1 || !strings.HasSuffix(v.Moved[0].From, "_feature_view.sql") {
		t.Fatalf("db rebase --onto main did not move feature_view (%v):\n%s", err, out)
	}
	files := loopFiles(t, folder)
	if files[len(files)-1] != v.Moved[0].To || !strings.HasSuffix(files[len(files)-2], "_main_grants.sql") {
		t.Fatalf("after the rebase the files are %v", files)
	}
	must(sqlite("main.db"), "db", "upgrade")
	if out := must(sqlite("main.db"), "db", "status", "--json"); !strings.Contains(out, `"up_to_date": true`) {
		t.Errorf("after the rebase and the upgrade the database is not up to date:\n%s", out)
	}

	// A sum with conflict markers: refused, naming the repair; db hash repairs it.
	sum := filepath.Join(folder, "atlas.sum")
	good, _ := os.ReadFile(sum)
	conflicted := "<<<<<<< HEAD\n" + string(good) + "=======\n" + string(good) + ">>>>>>> main\n"
	if err := os.WriteFile(sum, []byte(conflicted), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(sqlite("main.db"), "db", "upgrade"); err == nil || !strings.Contains(err.Error(), "conflict markers") {
		t.Fatalf("db upgrade with a conflicted atlas.sum: want a refusal naming the conflict markers, got %v", err)
	}
	if out := must(sqlite("main.db"), "db", "hash"); !strings.Contains(out, "conflict markers") {
		t.Errorf("db hash did not say it repaired a conflicted sum:\n%s", out)
	}
	if b, _ := os.ReadFile(sum); string(b) != string(good) {
		t.Errorf("db hash wrote\n%s\nwant\n%s", b, good)
	}
}
