package weberctl

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/plan"
)

// reTouched is one `table.column` of --touches.
var reTouched = regexp.MustCompile(`^[A-Za-z_]\w*\.(?:[A-Za-z_]\w*|\*)$`)

// dbRevisionData scaffolds a Go data migration: a snapshot of the typed
// client as the models are now (DATA/NAME/ent), the migration's Go file
// (DATA/NAME.go) and its `-- weber:go NAME` file in every kept dialect's
// folder. The snapshot comes first: when it cannot be generated nothing
// is written to the history.
func dbRevisionData(c *cli.Context, e *env) error {
	cfg, dialects, err := noArgsDialects(c, e)
	if err != nil {
		return err
	}
	name := plan.SanitizeName(c.String("data"))
	touches, err := touchedColumns(c.String("touches"))
	if err != nil {
		return err
	}
	data := filepath.Join(cfg.MigrationsDir, "data")
	goFile := filepath.Join(data, name+".go")
	if _, err := os.Stat(goFile); err == nil {
		return usagef("%s exists: the data migration %s was scaffolded already; pick another --data NAME", goFile, name)
	}
	module, err := modulePath()
	if err != nil {
		return err
	}
	snap := filepath.Join(data, name, "ent")
	if err := snapshotClient(c.String("schema"), snap); err != nil {
		return err
	}
	header := fmt.Sprintf("-- %s %s\n-- weber:touches %s\n\n-- Runs the Go data migration %s (%s) in batches.\n", migdir.DirectiveGo, name, strings.Join(touches, ", "), name, goFile)
	res, err := plan.NewFile(plan.NewFileOptions{Root: cfg.MigrationsDir, Dialects: dialects, Name: name,
		Content: func(string, string, string) (string, error) { return header, nil }})
	if err != nil {
		return err
	}
	importPath := module + "/" + filepath.ToSlash(filepath.Clean(snap))
	if err := writeGoFile(goFile, dataTemplate(name, importPath)); err != nil {
		return err
	}
	registry := filepath.Join(data, dataRegistryFile)
	created, err := registerDataMigration(registry, name, goIdent(name))
	if err != nil {
		return fmt.Errorf("%w; the files are written: register it by hand (%q: %s(),)", err, name, goIdent(name))
	}
	if c.Bool("json") {
		return writeJSON(e.stdout, dataScaffoldView{Name: name, Kind: "go", Version: res.Version, GoFile: goFile, Snapshot: snap,
			Registry: registry, RegistryCreated: created, Files: res.Files, Touches: touches})
	}
	fmt.Fprintf(e.stdout, "Data migration %s_%s:\n  %s (the client as the models are now: never regenerate it)\n  %s (write the batch here)\n  %s (registered as %q)\n", res.Version, name, snap, goFile, registry, name)
	for _, f := range res.Files {
		fmt.Fprintf(e.stdout, "  %s\n", f)
	}
	handToWeberctl(e, created)
	arch := ""
	if _, err := os.Stat(filepath.Join("docs", "architecture.md")); err == nil {
		arch = fmt.Sprintf(", add the row `%s/...` (base) to docs/architecture.md", filepath.ToSlash(snap))
	}
	fmt.Fprintf(e.stdout, "Next: write the batch in %s%s, then `weberctl db verify`.\n", goFile, arch)
	return nil
}

// touchedColumns parses --touches: the columns the migration may change.
func touchedColumns(s string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if !reTouched.MatchString(t) {
			return nil, usagef("--touches %q: name each column as table.column, e.g. --touches users.first_name,users.last_name", t)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, usagef("--data needs --touches: the columns the migration may change, e.g. --touches users.first_name,users.last_name (db verify proves nothing else changed)")
	}
	return out, nil
}

// snapshotClient copies the models in schema to snap/schema and generates
// ent's client from them in snap, with the project's pinned generator.
func snapshotClient(schema, snap string) error {
	models, err := filepath.Glob(filepath.Join(schema, "*.go"))
	if err != nil || len(models) == 0 {
		return usagef("no models in %s: run from the project's root, or name the models' folder with --schema", schema)
	}
	if err := os.MkdirAll(filepath.Join(snap, "schema"), 0o755); err != nil {
		return err
	}
	for _, m := range models {
		if strings.HasSuffix(m, "_test.go") {
			continue
		}
		b, err := os.ReadFile(m)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(snap, "schema", filepath.Base(m)), b, 0o644); err != nil {
			return err
		}
	}
	cmd := exec.Command("go", "tool", "ent", "generate", "--feature", "sql/execquery", "./schema")
	cmd.Dir = snap
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(filepath.Dir(snap))
		return fmt.Errorf("generating the client snapshot in %s (go tool ent generate): %s: %w; nothing was written to the history", snap, errtext.OneLine(errors.New(string(out))), err)
	}
	return nil
}

// modulePath reads the module path from go.mod in the working directory.
func modulePath() (string, error) {
	f, err := os.Open("go.mod")
	if err != nil {
		return "", usagef("no go.mod here: run `weberctl db revision --data` from the project's root (a Go data migration is Go code of the project)")
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(m), `"`), nil
		}
	}
	return "", errors.New("go.mod names no module")
}

// dataTemplate is the scaffolded Go file of a data migration.
func dataTemplate(name, snapshot string) string {
	fn := goIdent(name)
	return `package data

import (
	"context"

	"github.com/weber-framework/weber/engine"
	"` + snapshot + `"
)

// ` + fn + ` is the data migration ` + name + `: it runs in batches of BatchSize
// rows, each its own transaction, with the client of its own snapshot.
func ` + fn + `() engine.DataMigration {
	return engine.DataMigration{BatchSize: 500, Batch: func(ctx context.Context, b engine.DataBatch) (engine.DataBatchDone, error) {
		c := ent.NewClient(ent.Driver(b.Driver))
		_ = c // Read at most b.Size rows with keys after b.After, change them, and return the last key.
		return engine.DataBatchDone{Through: b.After, Done: true}, nil
	}}
}
`
}

// goIdent turns split_user_names into SplitUserNames.
func goIdent(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	if b.Len() == 0 || (b.String()[0] >= '0' && b.String()[0] <= '9') {
		return "Migration" + b.String()
	}
	return b.String()
}
