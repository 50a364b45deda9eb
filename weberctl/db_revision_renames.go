package weberctl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/plan"
)

// reviseAsking runs plan.Revise. On a terminal, when the plan holds
// possible renames nobody declared (plan.RenameQuestionError), it asks
// about each, as Django does, and plans again with the answers; a "yes"
// plans exactly what the model's annotation would, and the line to add is
// printed so that CI and scripts reproduce it. Off a terminal the question
// is the error: it names the annotation to add.
func reviseAsking(c *cli.Context, e *env, opts plan.ReviseOptions) (*plan.ReviseResult, error) {
	res, err := plan.Revise(c.Context, opts)
	if !e.isTerminal {
		return res, err
	}
	in := bufio.NewReader(e.stdin)
	for range 3 { // each round answers every question it asked
		var q *plan.RenameQuestionError
		if !errors.As(err, &q) {
			return res, err
		}
		for _, r := range q.Candidates {
			fmt.Fprintf(e.stderr, "Was %s.%s renamed to %s.%s? [y/N] ", r.Table, r.From, r.Table, r.To)
			line, rerr := in.ReadString('\n')
			if rerr != nil && !errors.Is(rerr, io.EOF) {
				return nil, rerr
			}
			if a := strings.ToLower(strings.TrimSpace(line)); a == "y" || a == "yes" {
				opts.Renames = append(opts.Renames, r)
				fmt.Fprintf(e.stderr, "Planned as a rename. Add %s to the field %q of the %s model and run go generate ./ent, so that CI and scripts plan the same.\n",
					plan.AnnotationLine(r), r.To, r.Table)
			} else {
				opts.NotRenamed = append(opts.NotRenamed, r)
			}
		}
		res, err = plan.Revise(c.Context, opts)
	}
	return res, err
}
