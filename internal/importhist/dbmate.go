package importhist

import (
	"regexp"
	"strings"

	"github.com/weber-framework/weber/internal/migdir"
)

var (
	// dbmate's file name rule: the leading digits are the version.
	reDbmateFile = regexp.MustCompile(`^(\d+)(.*)\.sql$`)
	// dbmate's section markers.
	reDbmateUp   = regexp.MustCompile(`(?m)^--\s*migrate:up(\s*$|\s+\S+)`)
	reDbmateDown = regexp.MustCompile(`(?m)^--\s*migrate:down(\s*$|\s+\S+)$`)
)

// readDbmate reads a dbmate directory: files whose names start with digits
// and end in .sql, applied in name order, each with `-- migrate:up` and
// `-- migrate:down` sections.
func (s *Source) readDbmate() error {
	names, err := s.files()
	if err != nil {
		return err
	}
	seen := map[string]string{}
	var prev *Migration
	for _, name := range names {
		m := reDbmateFile.FindStringSubmatch(name)
		if m == nil {
			s.Ignored = append(s.Ignored, name)
			continue
		}
		mg := &Migration{Version: m[1], Name: strings.TrimLeft(m[2], "_-. "), Files: []string{name}}
		key := canon(mg.Version)
		if other, ok := seen[key]; ok {
			return refuse(KindSource, name, "version %s is the same number as the version of %s, and Weber compares versions as numbers: give one of them a new version", mg.Version, other)
		}
		seen[key] = name
		if prev != nil && migdir.CompareVersions(prev.Version, mg.Version) > 0 {
			return refuse(KindOrder, name, "dbmate applies files in name order, which puts %s before it although its version %s is smaller; Weber orders by version: pad the versions to one width (e.g. 0002) on both sides first, or import with the files renamed",
				prev.Files[0], mg.Version)
		}
		text, err := s.read(name)
		if err != nil {
			return err
		}
		if err := parseDbmate(text, mg); err != nil {
			return err
		}
		s.Migrations = append(s.Migrations, mg)
		prev = mg
	}
	return nil
}

// parseDbmate splits a dbmate file into its sections and reads the up
// section's options.
func parseDbmate(text string, mg *Migration) error {
	name := mg.Files[0]
	up := reDbmateUp.FindStringIndex(text)
	down := reDbmateDown.FindStringIndex(text)
	switch {
	case up == nil:
		return refuse(KindSource, name, "no `-- migrate:up` line: dbmate refuses this file too; add one above the up statements")
	case down == nil:
		return refuse(KindSource, name, "no `-- migrate:down` line: dbmate refuses this file too; add one (it may be followed by nothing)")
	case up[0] > down[0]:
		return refuse(KindSource, name, "`-- migrate:up` must come before `-- migrate:down` (dbmate refuses this file too)")
	}
	for _, line := range strings.Split(text[:up[0]], "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
			return refuse(KindSource, name, "statements before `-- migrate:up` (dbmate refuses this file too): move them into the up section")
		}
	}
	upBlock := text[up[0]:down[0]]
	header, body, _ := strings.Cut(upBlock, "\n")
	for _, opt := range strings.Fields(header) {
		if opt == "transaction:false" {
			mg.NoTx = true
		}
	}
	mg.Up = body
	if _, rest, ok := strings.Cut(text[down[0]:], "\n"); ok {
		mg.Down = strings.TrimSpace(rest)
	}
	return nil
}

// canon strips leading zeros from a version.
func canon(v string) string {
	if t := strings.TrimLeft(v, "0"); t != "" {
		return t
	}
	return "0"
}
