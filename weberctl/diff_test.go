package weberctl

import "strings"

// missing returns the parts that s does not contain, so that a cmp.Diff
// against nil names each one that is missing.
func missing(s string, parts ...string) []string {
	var out []string
	for _, p := range parts {
		if !strings.Contains(s, p) {
			out = append(out, p)
		}
	}
	return out
}

// outcome is what a test checks of a run of weberctl: its exit code, the
// parts its stdout and stderr lack (missing), and how many lines stderr
// has.
type outcome struct {
	Code                     int
	StdoutLacks, StderrLacks []string
	StderrLines              int
}

// outcomeOf checks r for the parts its stdout and stderr must hold.
func outcomeOf(r result, stdout, stderr []string) outcome {
	return outcome{Code: r.code, StdoutLacks: missing(r.stdout, stdout...), StderrLacks: missing(r.stderr, stderr...),
		StderrLines: strings.Count(r.stderr, "\n")}
}
