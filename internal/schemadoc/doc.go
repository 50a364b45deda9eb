package schemadoc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	entschema "entgo.io/ent/dialect/sql/schema"
)

// StaleDocError is a committed schema page that differs from the models.
type StaleDocError struct {
	// Path is the page, e.g. docs/schema.md.
	Path string
}

func (e *StaleDocError) Error() string {
	return fmt.Sprintf("%s is stale: the models changed since it was written: run `%s` and commit it", e.Path, writeCommand(e.Path))
}

// writeCommand is DocCommand for the page at path.
func writeCommand(path string) string {
	if path == "docs/schema.md" {
		return DocCommand
	}
	return "weberctl db schema --format mermaid --write " + path
}

// ModelsDoc is the page docs/schema.md for the models: Markdown around
// their Mermaid diagram, with SQLite types (no server needed).
func ModelsDoc(ctx context.Context, tables []*entschema.Table) (string, error) {
	s, err := Load(ctx, Options{Tables: tables})
	if err != nil {
		return "", err
	}
	return Markdown(Mermaid(s.Schema)), nil
}

// CheckDoc compares the page at path with ModelsDoc. It returns false when
// there is no page (a project that does not keep one), a *StaleDocError
// when it differs.
func CheckDoc(ctx context.Context, path string, tables []*entschema.Table) (bool, error) {
	have, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("reading the schema page: %w", err)
	}
	want, err := ModelsDoc(ctx, tables)
	if err != nil {
		return true, err
	}
	if !bytes.Equal(bytes.ReplaceAll(have, []byte("\r\n"), []byte("\n")), []byte(want)) {
		return true, &StaleDocError{Path: path}
	}
	return true, nil
}
