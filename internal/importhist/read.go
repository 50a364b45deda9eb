package importhist

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/weber-framework/weber/internal/migdir"
)

// Source is a foreign history read from disk, in the order its tool
// applies it.
type Source struct {
	// Tool is the tool the history was written for.
	Tool Tool
	// Path is the directory read.
	Path string
	// Migrations are the history's migrations in the tool's order.
	Migrations []*Migration
	// Ignored lists the files in Path that the tool itself ignores
	// (README, notes, files not named as migrations).
	Ignored []string
	// Dir is the validated folder when Tool is Atlas (nil otherwise).
	Dir *migdir.Dir
}

// Migration is one migration of a foreign history.
type Migration struct {
	// Version is the version as the tool reads it from the file name.
	Version string
	// Name is the rest of the file name (without the version and the
	// extension), as the tool names it.
	Name string
	// Files are the source files the migration comes from (up, then down).
	Files []string
	// Up is the up section as written, without the tool's markers.
	Up string
	// Stmts are the up section's statements as the tool splits them
	// (goose); nil when the tool sends the section to the database whole
	// and the server splits it (golang-migrate, dbmate).
	Stmts []string
	// Down is the down section as written ("" when there is none).
	Down string
	// NoTx reports that the tool runs the up section outside a transaction
	// (goose `-- +goose NO TRANSACTION`, dbmate `transaction:false`).
	NoTx bool
}

// Read parses the directory path as tool lays out its history. dia (ent's
// dialect name) is needed only for an Atlas folder, which is validated as
// Weber validates its own.
func Read(tool Tool, path, dia string) (*Source, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, refuse(KindSource, "", "%s history %s does not exist: pass the folder that holds its migration files", tool, path)
	case err != nil:
		return nil, refuse(KindSource, "", "cannot read %s: %v", path, err)
	case !fi.IsDir():
		return nil, refuse(KindSource, "", "%s is not a directory: pass the folder that holds the %s migration files", path, tool)
	}
	src := &Source{Tool: tool, Path: path}
	switch tool {
	case GolangMigrate:
		err = src.readGolangMigrate()
	case Goose:
		err = src.readGoose()
	case Dbmate:
		err = src.readDbmate()
	case Atlas:
		src.Dir, err = migdir.OpenDialect(path, dia)
	default:
		err = fmt.Errorf("unknown tool %q", tool)
	}
	if err != nil {
		return nil, err
	}
	if tool != Atlas && len(src.Migrations) == 0 {
		return nil, refuse(KindSource, "", "no %s migration files in %s: %s; check the folder and --from", tool, path, tool.layout())
	}
	return src, nil
}

// layout describes the tool's file names, for errors.
func (t Tool) layout() string {
	switch t {
	case GolangMigrate:
		return "golang-migrate names them {version}_{title}.up.sql and .down.sql"
	case Goose:
		return "goose names them {version}_{name}.sql with -- +goose Up / Down sections"
	case Dbmate:
		return "dbmate names them {version}_{name}.sql with -- migrate:up / down sections"
	}
	return "Atlas names them {version}_{name}.sql beside atlas.sum"
}

// files lists the regular files of src.Path in name order.
func (s *Source) files() ([]string, error) {
	entries, err := os.ReadDir(s.Path)
	if err != nil {
		return nil, refuse(KindSource, "", "cannot list %s: %v", s.Path, err)
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func (s *Source) read(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(s.Path, name))
	if err != nil {
		return "", refuse(KindSource, name, "cannot read it: %v", err)
	}
	if strings.Contains(string(b), "\r\n") {
		return "", refuse(KindSource, name, "has CRLF (Windows) line endings: convert it to LF (e.g. `dos2unix`) and import again")
	}
	return string(b), nil
}

// golang-migrate: {version}_{title}.{up|down}.{extension}; other names are
// ignored by the tool.
var reGolangMigrate = regexp.MustCompile(`^([0-9]+)_(.*)\.(up|down)\.(.+)$`)

func (s *Source) readGolangMigrate() error {
	names, err := s.files()
	if err != nil {
		return err
	}
	byVersion := map[uint64]*Migration{}
	seen := map[string]string{}
	for _, name := range names {
		m := reGolangMigrate.FindStringSubmatch(name)
		if m == nil {
			s.Ignored = append(s.Ignored, name)
			continue
		}
		v, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			return refuse(KindSource, name, "version %s is not a number golang-migrate reads (at most 20 digits)", m[1])
		}
		key := fmt.Sprintf("%d.%s", v, m[3])
		if prev, ok := seen[key]; ok {
			return refuse(KindSource, name, "duplicate %s migration for version %d (also %s): golang-migrate refuses this history too; give one of them a new version", m[3], v, prev)
		}
		seen[key] = name
		text, err := s.read(name)
		if err != nil {
			return err
		}
		mg := byVersion[v]
		if mg == nil {
			mg = &Migration{Version: m[1], Name: m[2]}
			byVersion[v] = mg
		}
		if m[3] == "up" {
			mg.Up, mg.Name = text, m[2]
			mg.Files = append([]string{name}, mg.Files...)
		} else {
			mg.Down = text
			mg.Files = append(mg.Files, name)
		}
	}
	for _, mg := range byVersion {
		s.Migrations = append(s.Migrations, mg)
	}
	sortNumeric(s.Migrations)
	return nil
}

// sortNumeric orders migrations by numeric version, as golang-migrate and
// goose do.
func sortNumeric(ms []*Migration) {
	sort.Slice(ms, func(i, j int) bool { return migdir.CompareVersions(ms[i].Version, ms[j].Version) < 0 })
}
