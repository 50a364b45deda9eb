package importhist

import (
	"fmt"
	"strconv"
	"strings"
)

// readGoose reads a goose directory: {version}_{name}.sql files with
// `-- +goose Up` and `-- +goose Down` sections. Go migrations cannot be
// carried over and are refused by name.
func (s *Source) readGoose() error {
	names, err := s.files()
	if err != nil {
		return err
	}
	var goFiles []string
	seen := map[int64]string{}
	for _, name := range names {
		switch {
		case strings.HasSuffix(name, "_test.go"):
			s.Ignored = append(s.Ignored, name)
			continue
		case strings.HasSuffix(name, ".go"):
			goFiles = append(goFiles, name)
			continue
		case !strings.HasSuffix(name, ".sql"):
			s.Ignored = append(s.Ignored, name)
			continue
		}
		version, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.ParseInt(version, 10, 64)
		if !ok || err != nil || v < 1 {
			return refuse(KindSource, name, "goose cannot read a version from this name: it must be {version}_{name}.sql with a version above zero (goose refuses it too); rename it")
		}
		if prev, ok := seen[v]; ok {
			return refuse(KindSource, name, "duplicate version %d (also %s): goose refuses this history too; give one of them a new version", v, prev)
		}
		seen[v] = name
		text, err := s.read(name)
		if err != nil {
			return err
		}
		m, err := parseGoose(text)
		if err != nil {
			return refuse(KindSource, name, "%v", err)
		}
		m.Version, m.Name, m.Files = version, rest, []string{name}
		s.Migrations = append(s.Migrations, m)
	}
	if len(goFiles) > 0 {
		return refuse(KindUnsupported, "", "%s: Go migrations (%s) cannot be imported, only SQL ones: rewrite each as a .sql migration (or run it with goose first and import what follows)",
			s.Path, strings.Join(goFiles, ", "))
	}
	sortNumeric(s.Migrations)
	return nil
}

// gooseParser holds the state of parseGoose.
type gooseParser struct {
	m        *Migration
	section  string // "", "up" or "down"
	inBlock  bool
	buf      []string
	down     []string
	sawUp    bool
	lineNo   int
	blockAt  int
	pendAt   int
	stmtsOut []string
}

// parseGoose splits a goose SQL file as goose does: statements end at a
// line whose last word (before any `--` comment) ends with a semicolon,
// except between `-- +goose StatementBegin` and `-- +goose StatementEnd`,
// where the whole block is one statement.
func parseGoose(text string) (*Migration, error) {
	p := &gooseParser{m: &Migration{}}
	for _, line := range strings.Split(text, "\n") {
		p.lineNo++
		if err := p.line(line); err != nil {
			return nil, fmt.Errorf("line %d: %v", p.lineNo, err)
		}
	}
	if err := p.endSection(); err != nil {
		return nil, err
	}
	if !p.sawUp {
		return nil, fmt.Errorf("no `-- +goose Up` annotation: goose refuses this file too; add one above the up statements")
	}
	p.m.Stmts = p.stmtsOut
	p.m.Up = strings.Join(p.stmtsOut, "\n\n")
	p.m.Down = strings.TrimSpace(strings.Join(p.down, "\n"))
	return p.m, nil
}

func (p *gooseParser) line(line string) error {
	trimmed := strings.TrimSpace(line)
	if cmd, ok := gooseAnnotation(trimmed); ok {
		return p.annotation(cmd)
	}
	switch p.section {
	case "":
		if trimmed != "" && !strings.HasPrefix(trimmed, "--") {
			return fmt.Errorf("SQL before `-- +goose Up` (goose refuses it too): move it into the up section")
		}
		return nil
	case "down":
		p.down = append(p.down, line)
		return nil
	}
	if !p.inBlock && len(p.buf) == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "--")) {
		return nil
	}
	if len(p.buf) == 0 {
		p.pendAt = p.lineNo
	}
	p.buf = append(p.buf, line)
	if !p.inBlock && endsWithSemicolon(line) {
		p.flush()
	}
	return nil
}

// gooseAnnotation returns the command of a `-- +goose ...` line.
func gooseAnnotation(trimmed string) (string, bool) {
	rest, ok := strings.CutPrefix(trimmed, "--")
	if !ok {
		return "", false
	}
	cmd, ok := strings.CutPrefix(strings.TrimSpace(rest), "+goose")
	if !ok {
		return "", false
	}
	return strings.ToLower(strings.Join(strings.Fields(cmd), " ")), true
}

func (p *gooseParser) annotation(cmd string) error {
	switch cmd {
	case "up":
		if err := p.endSection(); err != nil {
			return err
		}
		p.section, p.sawUp = "up", true
	case "down":
		if err := p.endSection(); err != nil {
			return err
		}
		p.section = "down"
	case "statementbegin":
		if p.section == "up" {
			if len(p.buf) > 0 {
				return fmt.Errorf("`-- +goose StatementBegin` after an unfinished statement (line %d has no closing semicolon)", p.pendAt)
			}
			p.inBlock, p.blockAt = true, p.lineNo
		}
	case "statementend":
		if p.section == "up" {
			if !p.inBlock {
				return fmt.Errorf("`-- +goose StatementEnd` without a StatementBegin: goose refuses this file too")
			}
			p.inBlock = false
			p.flush()
		}
	case "no transaction":
		p.m.NoTx = true
	case "envsub on":
		return fmt.Errorf("`-- +goose ENVSUB ON` substitutes environment variables, which Weber does not do: write the values into the file and import again")
	case "envsub off":
	default:
		return fmt.Errorf("unknown goose annotation `-- +goose %s`", cmd)
	}
	return nil
}

// endSection closes the current section, refusing an unfinished statement.
func (p *gooseParser) endSection() error {
	if p.section != "up" {
		return nil
	}
	if p.inBlock {
		return fmt.Errorf("`-- +goose StatementBegin` on line %d has no StatementEnd: goose refuses this file too", p.blockAt)
	}
	if len(p.buf) > 0 {
		return fmt.Errorf("the statement on line %d has no closing semicolon: goose refuses this file too; end it with `;`", p.pendAt)
	}
	return nil
}

func (p *gooseParser) flush() {
	if s := strings.TrimSpace(strings.Join(p.buf, "\n")); s != "" {
		p.stmtsOut = append(p.stmtsOut, s)
	}
	p.buf = nil
}

// endsWithSemicolon reports whether the last word of line before a `--`
// comment ends with a semicolon: goose's end-of-statement rule.
func endsWithSemicolon(line string) bool {
	prev := ""
	for _, w := range strings.Fields(line) {
		if strings.HasPrefix(w, "--") {
			break
		}
		prev = w
	}
	return strings.HasSuffix(prev, ";")
}
