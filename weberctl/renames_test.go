package weberctl

// Renames at the command line. A history in which users.bio was renamed
// to about (a hand-written file) makes the compiled models, which call it
// bio, look like "about dropped, bio added": a possible rename nobody
// declared.

import (
	"bytes"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// aboutFile renames users.bio to about in a history, after every file.
const aboutFile = "29990101000000_about.sql"

// Off a terminal, `db revision` refuses a possible rename with the line to
// add to the model, and writes nothing.
func TestE2ERevisionRefusesAnUndeclaredRename(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.env = append(p.env, devEnv()...)
		p.addMigration(aboutFile, "ALTER TABLE users RENAME COLUMN bio TO about;\n")
		before := p.historyFiles()
		r := p.run("db", "revision", "--name", "x", "--dialect", filepath.Base(p.folder()))
		want := `users.about was dropped and users.bio added: if it was renamed, add .Annotations(weberschema.RenamedFrom("about")) to the field "bio" in the model`
		if r.code != exitFailure || !strings.Contains(r.stderr, want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("exit %d, stderr %q: want exit %d and one line with %q", r.code, r.stderr, exitFailure, want)
		}
		if strings.Contains(r.stderr, "[y/N]") {
			t.Errorf("it asked off a terminal: %q", r.stderr)
		}
		if after := p.historyFiles(); after != before {
			t.Errorf("the refusal wrote files: %d -> %d", before, after)
		}
	})
}

// On a terminal it asks; "y" writes the rename (and says which annotation
// makes CI plan the same), anything else plans the add and leaves the drop
// out.
func TestRevisionOnATerminalAsksAboutARename(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		answer string
		code   int
		want   string
		not    string
	}{
		{"y\n", 0, "RENAME COLUMN `about` TO `bio`", "ADD COLUMN"},
		{"\n", exitFailure, "ADD COLUMN `bio`", "RENAME"},
	} {
		dir := t.TempDir()
		migrations := filepath.Join(dir, "migrations")
		copyDir(t, filepath.Join("..", "migrations"), migrations)
		if err := os.WriteFile(filepath.Join(migrations, "sqlite", aboutFile), []byte("ALTER TABLE users RENAME COLUMN bio TO about;\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := runCLI(t, nil, "db", "hash", "--dir", migrations, "--dialect", "sqlite"); r.code != 0 {
			t.Fatalf("db hash: %s", r.stderr)
		}
		var out, errb bytes.Buffer
		getenv := func(k string) string { return map[string]string{"WEBER_DIALECTS": "sqlite"}[k] }
		e := &env{project: weberProject(), stdin: strings.NewReader(tc.answer), stdout: &out, stderr: &errb, getenv: getenv, isTerminal: true}
		cliMu.Lock()
		code := e.run(t.Context(), []string{"weberctl", "db", "revision", "--name", "bio", "--dir", migrations})
		cliMu.Unlock()
		if code != tc.code {
			t.Errorf("answer %q: exit %d, want %d\n%s%s", tc.answer, code, tc.code, out.String(), errb.String())
		}
		if !strings.Contains(errb.String(), "Was users.about renamed to users.bio? [y/N] ") {
			t.Errorf("answer %q: no question on stderr: %q", tc.answer, errb.String())
		}
		if hint := `Add .Annotations(weberschema.RenamedFrom("about")) to the field "bio"`; strings.Contains(errb.String(), hint) != (tc.code == 0) {
			t.Errorf("answer %q: the annotation hint is missing or out of place: %q", tc.answer, errb.String())
		}
		written, _ := filepath.Glob(filepath.Join(migrations, "sqlite", "*_bio.sql"))
		if len(written) != 1 {
			t.Fatalf("answer %q: %d files written, want 1", tc.answer, len(written))
		}
		body, _ := os.ReadFile(written[0])
		if !strings.Contains(string(body), tc.want) || strings.Contains(string(body), tc.not) {
			t.Errorf("answer %q: the file holds\n%s\nwant %q and no %q", tc.answer, body, tc.want, tc.not)
		}
	}
}
