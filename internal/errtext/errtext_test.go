package errtext

import (
	"errors"
	"fmt"
	"testing"
)

func TestOneLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"already one line", errors.New("no such table: users"), "no such table: users"},
		{"driver detail", errors.New("ERROR: syntax error\n  LINE 1: SELEC 1\r\n\t^"), "ERROR: syntax error LINE 1: SELEC 1 ^"},
		{"wrapped join", fmt.Errorf("applying: %w", errors.Join(errors.New("a"), errors.New("b"))), "applying: a b"},
		{"ends trimmed", errors.New("  padded \n"), "padded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := OneLine(tc.err); got != tc.want {
				t.Errorf("OneLine() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFlatten(t *testing.T) {
	const in = "CREATE TABLE t (\n  id int,\r\n  name text\n);"
	if got, want := Flatten(in), "CREATE TABLE t ( id int, name text );"; got != want {
		t.Errorf("Flatten() = %q, want %q", got, want)
	}
}
