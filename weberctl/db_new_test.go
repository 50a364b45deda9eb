package weberctl

import (
	"bytes"
	"encoding/json"
	"github.com/weber-framework/weber/internal/testdb/testserver"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/migdir"
)

// `db new` through the binary: one empty file under one version in every
// kept folder, hashed; upgrading it changes nothing; written by hand and
// rehashed, it creates a view that upgrade applies, and `db check` passes.
func TestE2ENewHandWrittenFile(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		p := newProject(t, e2eBackendOf(b))
		p.env = devEnv()
		p.must("db", "ensure")
		r := p.must("db", "new", "--json", "Add active users view")
		var v newFileView
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("db new --json: %v\n%s", err, r.stdout)
		}
		if v.Name != "add_active_users_view" || len(v.Files) != 3 {
			t.Fatalf("db new wrote %+v: want add_active_users_view in the 3 kept folders", v)
		}
		for _, f := range v.Files {
			if filepath.Base(f) != v.Version+"_add_active_users_view.sql" {
				t.Errorf("file %s: want the same version and name in every folder", f)
			}
			if _, err := migdir.Open(filepath.Join(p.dir, filepath.Dir(f))); err != nil {
				t.Errorf("folder of %s does not verify after db new: %v", f, err)
			}
		}
		// Empty, it applies and changes nothing.
		p.must("db", "upgrade")
		// Written by hand in this backend's folder, then rehashed.
		mine := filepath.Join(p.folder(), v.Version+"_add_active_users_view.sql")
		body, err := os.ReadFile(mine)
		if err != nil {
			t.Fatal(err)
		}
		body = append(body, "CREATE VIEW active_users AS SELECT id, name FROM users;\n"...)
		if err := os.WriteFile(mine, body, 0o644); err != nil {
			t.Fatal(err)
		}
		if bad := p.run("db", "upgrade"); bad.code == 0 || !strings.Contains(bad.stderr, "atlas.sum") {
			t.Fatalf("an edited file before `db hash`: exit %d, %s: want a checksum refusal", bad.code, bad.stderr)
		}
		p.must("db", "hash")
		// The file was applied empty: an edited applied file is refused, so
		// a fresh database takes the written one.
		p.must("db", "drop", "--yes")
		p.must("db", "ensure")
		if n := p.count(p.open(), "SELECT count(*) FROM active_users"); n != 0 {
			t.Errorf("active_users has %d rows, want an empty view", n)
		}
		p.must("db", "lint", "--dialect", filepath.Base(p.folder()))
		p.must("db", "check", "--dialect", filepath.Base(p.folder()))
	})
}

// On a terminal, `db new` opens the files in $EDITOR and rehashes their
// folders when it exits.
func TestNewOpensTheEditorAndRehashes(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, filepath.Join("..", "migrations"), filepath.Join(dir, "migrations"))
	editor := filepath.Join(dir, "editor.sh")
	script := "#!/bin/sh\nfor f in \"$@\"; do echo 'CREATE TABLE from_editor (id int);' >> \"$f\"; done\n"
	if err := os.WriteFile(editor, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		return map[string]string{"EDITOR": editor, "WEBER_DIALECTS": "sqlite,postgres"}[k]
	}
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: getenv, isTerminal: true}
	cliMu.Lock()
	code := e.run(t.Context(), []string{"weberctl", "db", "new", "--dir", filepath.Join(dir, "migrations"), "from_editor"})
	cliMu.Unlock()
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "Rehashed 2 folders") {
		t.Errorf("output does not say the folders were rehashed:\n%s", out.String())
	}
	for _, folder := range []string{"sqlite", "postgres"} {
		d, err := migdir.Open(filepath.Join(dir, "migrations", folder))
		if err != nil {
			t.Fatalf("%s after the editor: %v", folder, err)
		}
		last := d.Files[len(d.Files)-1]
		if !strings.HasSuffix(last.Name, "_from_editor.sql") || !strings.Contains(string(last.Bytes), "CREATE TABLE from_editor") {
			t.Errorf("%s: last file %s does not hold what the editor wrote", folder, last.Name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "migrations", "mysql")); err == nil {
		entries, _ := os.ReadDir(filepath.Join(dir, "migrations", "mysql"))
		for _, en := range entries {
			if strings.HasSuffix(en.Name(), "_from_editor.sql") {
				t.Errorf("mysql is not kept (WEBER_DIALECTS) but got %s", en.Name())
			}
		}
	}
}

func TestNewNeedsOneName(t *testing.T) {
	r := runCLI(t, nil, "db", "new")
	if r.code != exitUsage || !strings.Contains(r.stderr, "takes one NAME") {
		t.Errorf("db new without a name: exit %d, %s", r.code, r.stderr)
	}
	r = runCLI(t, nil, "db", "new", "add_view", "--json")
	if r.code != exitUsage || !strings.Contains(r.stderr, "options go before NAME: `weberctl db new --json add_view`") {
		t.Errorf("db new with an option after the name: exit %d, %s", r.code, r.stderr)
	}
}
