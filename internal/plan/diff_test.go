package plan

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

// lintFinding is what the tests check of a Finding: where it points, what
// it is, and whether it explains itself. Statement and Message are kept
// only when a test names what they must contain (see missing).
type lintFinding struct {
	File                     string
	Line                     int
	Analyzer, Severity       string
	Intended, Error          bool
	Explained, Alternative   bool
	StatementLacks, MsgLacks []string
}

// lintFindingOf summarises f; stmt and msg are what its statement and its
// message must contain.
func lintFindingOf(f Finding, stmt, msg []string) lintFinding {
	return lintFinding{File: f.File, Line: f.Line, Analyzer: f.Analyzer, Severity: f.Severity, Intended: f.Intended, Error: f.IsError(),
		Explained: f.Explanation != "", Alternative: f.Alternative != "",
		StatementLacks: missing(f.Statement, stmt...), MsgLacks: missing(f.Message, msg...)}
}

// problemsLacking returns, for each problem, the parts it lacks (missing):
// [][]string{nil} is one problem that names them all.
func problemsLacking(problems []string, parts ...string) [][]string {
	out := [][]string{}
	for _, p := range problems {
		out = append(out, missing(p, parts...))
	}
	return out
}

// message is what the tests check of an error message: the parts it lacks,
// the secrets it shows, and whether it spans more than one line.
type message struct {
	Lacks, Shows []string
	Lines        bool
}

// messageOf checks msg for the parts it must hold and the secrets it must
// not show; message{} is a one-line message that passes.
func messageOf(msg string, parts []string, secrets ...string) message {
	m := message{Lacks: missing(msg, parts...), Lines: strings.Contains(msg, "\n")}
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			m.Shows = append(m.Shows, s)
		}
	}
	return m
}
