package weberctl

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"strconv"

	"github.com/weber-framework/weber/internal/scaffold"
)

// dataRegistryFile is the file of the data migrations' package that lists
// them: Migrations returns a map literal by name.
const dataRegistryFile = "data.go"

// registerDataMigration adds `"name": fn(),` to the map literal that
// Migrations returns in path (creating the file when the project has none
// yet). created reports a new file, which cmd/weberctl must still hand to
// weberctl.Project.
func registerDataMigration(path, name, fn string) (created bool, err error) {
	src, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		src, created = []byte(scaffold.DataRegistry()), true
	} else if err != nil {
		return false, err
	}
	lit, err := migrationsLiteral(path, src)
	if err != nil {
		return false, err
	}
	at := lit.rbrace
	entry := strconv.Quote(name) + ": " + fn + "(),\n"
	if lit.needsComma || lit.empty {
		entry = "\n" + entry // one entry a line, as gofmt keeps them
	}
	if lit.needsComma {
		entry = "," + entry
	}
	out := append(append(append([]byte{}, src[:at]...), entry...), src[at:]...)
	formatted, err := format.Source(out)
	if err != nil {
		return false, fmt.Errorf("registering %s in %s: %w", name, path, err)
	}
	return created, os.WriteFile(path, formatted, 0o644)
}

// registryLiteral is where Migrations' map literal ends.
type registryLiteral struct {
	rbrace     int  // the offset of its closing brace
	needsComma bool // its last entry has no trailing comma
	empty      bool // it has no entry yet
}

// migrationsLiteral finds the map literal that func Migrations returns in
// src.
func migrationsLiteral(path string, src []byte) (*registryLiteral, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, 0)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var lit *ast.CompositeLit
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "Migrations" || fd.Body == nil {
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
				if c, ok := r.Results[0].(*ast.CompositeLit); ok {
					if _, isMap := c.Type.(*ast.MapType); isMap {
						lit = c
					}
				}
			}
			return lit == nil
		})
	}
	if lit == nil {
		return nil, fmt.Errorf("%s has no `func Migrations()` returning a map literal: register the data migration there by hand", path)
	}
	rb := fset.Position(lit.Rbrace).Offset
	needs := len(lit.Elts) > 0 && !bytes.HasSuffix(bytes.TrimRight(src[:rb], " \t\r\n"), []byte(","))
	return &registryLiteral{rbrace: rb, needsComma: needs, empty: len(lit.Elts) == 0}, nil
}

// writeGoFile writes a scaffolded Go file, gofmt'ed (its imports sorted:
// the project's module path may sort before Weber's).
func writeGoFile(path, src string) error {
	out, err := format.Source([]byte(src))
	if err != nil {
		return fmt.Errorf("formatting %s: %w", path, err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// handToWeberctl tells a project whose data.go was just created to hand its
// data migrations to weberctl.
func handToWeberctl(e *env, created bool) {
	if created {
		fmt.Fprintf(e.stdout, "Hand the data migrations to weberctl: DataMigrations: data.Migrations(), in the weberctl.Project of cmd/weberctl/main.go.\n")
	}
}

// dataScaffoldView is `db revision --data NAME [--frozen] --json`: what was
// written.
type dataScaffoldView struct {
	Name string `json:"name"`
	// Kind is "go" (batched) or "frozen" (recorded SQL).
	Kind    string `json:"kind"`
	Version string `json:"version,omitempty"`
	// GoFile is the migration's Go file; Snapshot the client snapshot of a
	// Go one.
	GoFile   string `json:"go_file"`
	Snapshot string `json:"snapshot,omitempty"`
	// Registry is data.go when this run registered the migration there;
	// RegistryCreated reports a new file.
	Registry        string `json:"registry,omitempty"`
	RegistryCreated bool   `json:"registry_created,omitempty"`
	// Files are the history's files written, one per kept dialect; Touches
	// the columns they declare.
	Files   []string `json:"files"`
	Touches []string `json:"touches,omitempty"`
}
