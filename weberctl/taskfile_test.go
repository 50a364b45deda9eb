package weberctl

// ISSUE 13 item 8: every task in Taskfile.yml runs as documented. The
// Taskfile is read as text (no YAML library in the module for it): each
// task that runs weberctl names a real command, and every documented
// `task NAME -- ARGS` example (Taskfile, README, docs/) names a task and,
// for a weberctl task, flags that command has. When go-task's modules are
// in the module cache, the real task binary lists the tasks and dry-runs
// each one.

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// taskfileTasks returns each task of Taskfile.yml with its command lines.
func taskfileTasks(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "Taskfile.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tasks := map[string][]string{}
	name, inTasks := "", false
	taskLine := regexp.MustCompile(`^  ([a-z][a-z:]*):\s*$`)
	cmdLine := regexp.MustCompile(`^\s+- (?:cmd: )?'?(.*?)'?\s*$`)
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case line == "tasks:":
			inTasks = true
		case !inTasks:
		case taskLine.MatchString(line):
			name = taskLine.FindStringSubmatch(line)[1]
			tasks[name] = nil
		case name != "" && cmdLine.MatchString(line):
			tasks[name] = append(tasks[name], cmdLine.FindStringSubmatch(line)[1])
		}
	}
	if len(tasks) < 10 {
		t.Fatalf("read %d tasks from Taskfile.yml; the reader no longer understands the file", len(tasks))
	}
	return tasks
}

// weberctlArgs returns the weberctl command a task runs ({{.WEBERCTL}} db
// ensure {{.CLI_ARGS}} -> [db ensure]), or nil.
func weberctlArgs(cmds []string) []string {
	for _, c := range cmds {
		if rest, ok := strings.CutPrefix(c, "{{.WEBERCTL}} "); ok {
			return strings.Fields(strings.ReplaceAll(rest, "{{.CLI_ARGS}}", ""))
		}
	}
	return nil
}

// documentedTaskRuns finds `task NAME [-- ARGS]` in the Taskfile, the
// README and docs/, with where each was found.
func documentedTaskRuns(t *testing.T) map[string]string {
	t.Helper()
	files := []string{filepath.Join("..", "Taskfile.yml"), filepath.Join("..", "README.md")}
	docs, _ := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	files = append(files, docs...)
	// `task NAME`, go.mod task NAME [-- ARGS], and task NAME -- ARGS in prose.
	run := regexp.MustCompile("(?:`task ([a-z][a-z:]*(?: -- [^`\\n()]*)?)`|go\\.mod task ([a-z][a-z:]*(?: -- [^`\\n()]*)?)|\\btask ([a-z][a-z:]* -- [^`\\n()]*))")
	found := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range run.FindAllStringSubmatch(string(b), -1) {
			found[strings.TrimSpace(m[1]+m[2]+m[3])] = filepath.Base(f)
		}
	}
	return found
}

func TestTaskfileTasksRunRealCommands(t *testing.T) {
	t.Parallel()
	tasks := taskfileTasks(t)
	for name, cmds := range tasks {
		if len(cmds) == 0 {
			t.Errorf("task %s: no command read", name)
		}
		if args := weberctlArgs(cmds); args != nil {
			commandAt(t, args...)
		}
		for _, c := range cmds {
			for _, script := range regexp.MustCompile(`(?:bash )?((?:scripts|\.ci)/[a-z.]+)`).FindAllStringSubmatch(c, -1) {
				if _, err := os.Stat(filepath.Join("..", script[1])); err != nil {
					t.Errorf("task %s runs %s: %v", name, script[1], err)
				}
			}
		}
	}
	for run, where := range documentedTaskRuns(t) {
		name, extra, _ := strings.Cut(run, " -- ")
		cmds, ok := tasks[name]
		if !ok {
			t.Errorf("%s documents `task %s`, but Taskfile.yml has no task %s", where, run, name)
			continue
		}
		args := weberctlArgs(cmds)
		if extra == "" || args == nil {
			continue
		}
		t.Logf("%s: task %s", where, run)
		full := append(append(args, strings.Fields(extra)...), "--help")
		if r := runCLI(t, nil, full...); r.code != 0 {
			t.Errorf("%s documents `task %s`: weberctl %s fails: %s", where, run, strings.Join(full[:len(full)-1], " "), r.stderr)
		}
	}
}

// The real go-task, when its modules are in the module cache (it is never
// downloaded by the test): --list shows every task, and each one dry-runs.
func TestTaskfileDryRunsWithGoTask(t *testing.T) {
	skipShort(t)
	root, _ := filepath.Abs(filepath.Join(".."))
	bin := filepath.Join(t.TempDir(), "task")
	build := exec.Command("go", "build", "-modfile=tools/task/go.mod", "-o", bin, "github.com/go-task/task/v3/cmd/task")
	build.Dir = root
	build.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("go-task is not in the module cache (run `go tool -modfile=tools/task/go.mod task --list` once): %s", lastLine(out))
	}
	tasks := taskfileTasks(t)
	list := exec.Command(bin, "--list-all")
	list.Dir = root
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("task --list-all: %v\n%s", err, out)
	}
	for name := range tasks {
		if !bytes.Contains(out, []byte("* "+name+":")) {
			t.Errorf("task --list-all does not list %s:\n%s", name, out)
		}
	}
	runs := documentedTaskRuns(t)
	for name := range tasks {
		runs[name] = "Taskfile.yml"
	}
	for _, run := range slices.Sorted(maps.Keys(runs)) {
		args := append([]string{"--dry"}, strings.Fields(run)...)
		dry := exec.Command(bin, args...)
		dry.Dir = root
		if out, err := dry.CombinedOutput(); err != nil {
			t.Errorf("task %s (documented in %s): %v\n%s", strings.Join(args, " "), runs[run], err, out)
		}
	}
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
