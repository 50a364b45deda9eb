package weberctl

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// The completion of each level of the command tree lists its commands, and
// after a dash its flags.
func TestCompletionCommandTree(t *testing.T) {
	const marker = "--generate-bash-completion"
	cases := []struct {
		args []string
		want []string
		not  []string
	}{
		{[]string{marker}, []string{"db", "serve", "version", "completion"}, []string{"ensure"}},
		{[]string{"db", marker}, []string{"ensure", "upgrade", "downgrade", "console", "import"}, []string{"serve"}},
		{[]string{"db", "upgrade", "--lo", marker}, []string{"--lock-timeout"}, []string{"--to", "ensure"}},
	}
	for _, tc := range cases {
		r := runCLI(t, nil, tc.args...)
		words := strings.Fields(r.stdout)
		if r.code != 0 {
			t.Errorf("weberctl %s: exit %d, stderr %q", strings.Join(tc.args, " "), r.code, r.stderr)
		}
		for _, w := range tc.want {
			if !slices.Contains(words, w) {
				t.Errorf("weberctl %s offers %q; want %q among them", strings.Join(tc.args, " "), words, w)
			}
		}
		for _, w := range tc.not {
			if slices.Contains(words, w) {
				t.Errorf("weberctl %s offers %q; want no %q", strings.Join(tc.args, " "), words, w)
			}
		}
	}
}

// After `db upgrade --to` and `db downgrade --to` the completion offers the
// versions of the migration folder of the database URL's dialect, oldest
// first.
func TestCompletionOffersVersionsForTo(t *testing.T) {
	root := filepath.Join("..", "migrations")
	for _, tc := range []struct{ url, folder string }{
		{"postgres://app@db.internal/app", "postgres"},
		{"mysql://app@db.internal/app", "mysql"},
		{"sqlite://var/app.db", "sqlite"},
	} {
		entries, err := os.ReadDir(filepath.Join(root, tc.folder))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, en := range entries {
			if v, _, ok := strings.Cut(en.Name(), "_"); ok && strings.HasSuffix(en.Name(), ".sql") {
				want = append(want, v)
			}
		}
		if len(want) == 0 {
			t.Fatalf("%s holds no migration file", tc.folder)
		}
		for _, cmd := range []string{"upgrade", "downgrade"} {
			r := runCLI(t, map[string]string{"WEBER_DATABASE_URL": tc.url}, "--dir", root, "db", cmd, "--to", "--generate-bash-completion")
			if got := strings.Fields(r.stdout); !slices.Equal(got, want) {
				t.Errorf("db %s --to on %s offers %q; want %q (stderr %q)", cmd, tc.folder, got, want, r.stderr)
			}
		}
	}
}

// `weberctl completion SHELL` prints a script for each shell that names
// the program and asks it for the words; a wrong shell is a usage error.
func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string][]string{
		"bash": {"complete ", "weberctl", "--generate-bash-completion"},
		"zsh":  {"compdef ", "weberctl", "--generate-bash-completion"},
		"fish": {"complete -c weberctl", "upgrade", "downgrade", "console", "serve", "-l to"},
	} {
		r := runCLI(t, nil, "completion", shell)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("completion %s: exit %d, stderr %q", shell, r.code, r.stderr)
		}
		for _, w := range want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("completion %s: the script lacks %q", shell, w)
			}
		}
	}
	if r := runCLI(t, nil, "completion", "tcsh"); r.code != exitUsage || !strings.Contains(r.stderr, "bash, zsh and fish") {
		t.Errorf("completion tcsh: exit %d, stderr %q; want a usage error naming the shells", r.code, r.stderr)
	}
}

// The bash script, sourced in a real bash, completes through the real
// binary: the commands, and the versions after db downgrade --to.
func TestE2ECompletionBash(t *testing.T) {
	skipShort(t)
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash: not installed")
	}
	p := newProject(t, e2eBackendOf(testserver.Lookup(t, testserver.SQLite)))
	script := `source <("$WEBERCTL" completion bash)
weberctl() { "$WEBERCTL" "$@"; }
COMP_WORDS=(weberctl d); COMP_CWORD=1; _weberctl_complete; echo "${COMPREPLY[*]}"
COMP_WORDS=(weberctl db downgrade --to ""); COMP_CWORD=4; _weberctl_complete; echo "${COMPREPLY[*]}"`
	cmd := exec.Command(bash, "--norc", "-c", script)
	cmd.Dir = p.dir
	cmd.Env = cleanEnv([]string{"WEBERCTL=" + binary, "WEBER_DATABASE_URL=" + p.url})
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	entries, _ := os.ReadDir(filepath.Join(p.dir, "migrations", "sqlite"))
	var versions []string
	for _, en := range entries {
		if v, _, ok := strings.Cut(en.Name(), "_"); ok {
			versions = append(versions, v)
		}
	}
	if len(versions) == 0 {
		t.Fatal("no migration files to complete")
	}
	if diff := cmp.Diff([]string{"db devserver", strings.Join(versions, " ")}, lines); diff != "" {
		t.Errorf("bash completion: want \"db devserver\" then the versions (-want +got):\n%s", diff)
	}
}
