package plan

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// NewFileOptions configure NewFile.
type NewFileOptions struct {
	// Root is the migrations folder (default "migrations"); Dialects the
	// kept dialects, by folder name (default all three).
	Root     string
	Dialects []string
	// Name is the file's name after its version; it is reduced to
	// [a-z0-9_] as SanitizeName does. Required.
	Name string
	// Now gives the version (default time.Now); it is used in UTC.
	Now func() time.Time
	// Content, when set, gives each file's content from its dialect's
	// folder name, the version and the name; by default the file holds
	// only comments that say what to write.
	Content func(folder, version, name string) (string, error)
}

// NewFileResult names what NewFile wrote.
type NewFileResult struct {
	Version, Name string
	// Files are the files written, one per dialect, in Dialects' order.
	Files []string
}

// NewFile writes an empty migration file for a hand-written change (a
// view, a function, a trigger, grants) into every kept dialect's folder,
// under one version after every existing one, and updates each atlas.sum.
// The file holds only comments that say what to do; until statements are
// written into it, it changes nothing. A folder that fails to write leaves
// none written.
func NewFile(opts NewFileOptions) (*NewFileResult, error) {
	if strings.TrimSpace(opts.Name) == "" {
		return nil, errors.New("the new file needs a name: e.g. `weberctl db new add_active_users_view`")
	}
	writeDefaults(&opts.Root, &opts.Dialects, &opts.Now)
	name := SanitizeName(opts.Name)
	var plans []*dirPlan
	for _, d := range opts.Dialects {
		folder, err := folderName(d)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(opts.Root, folder)
		files, err := ReadHistory(dir)
		if err != nil {
			return nil, err
		}
		p := &dirPlan{dir: dir, files: files, plan: &Plan{Dialect: folder}}
		if n := len(files); n > 0 {
			p.last = files[n-1].Version()
		}
		plans = append(plans, p)
	}
	version := nextVersion(opts.Now().UTC(), plans)
	content := opts.Content
	if content == nil {
		content = func(folder, version, name string) (string, error) {
			return newFileTemplate(folder, version, name), nil
		}
	}
	for _, p := range plans {
		c, err := content(p.plan.Dialect, version, name)
		if err != nil {
			return nil, err
		}
		p.plan.Content = []byte(c)
	}
	if err := writeAll(plans, version+"_"+name+".sql"); err != nil {
		return nil, err
	}
	res := &NewFileResult{Version: version, Name: name}
	for _, p := range plans {
		res.Files = append(res.Files, p.result.File)
	}
	return res, nil
}

// newFileTemplate is the content of a new hand-written file.
func newFileTemplate(folder, version, name string) string {
	return fmt.Sprintf(`-- %s_%s: a hand-written change, in %s's own SQL.
--
-- Write its statements below, each ending with a semicolon. The same
-- version waits in every kept dialect's folder: write each one. Then run
-- `+"`weberctl db hash`"+` (the file's checksum is in atlas.sum) and
-- `+"`weberctl db check`"+`. See docs/migrations.md, "Hand-written files".
`, version, name, DialectTitle(folder))
}

// DialectTitle names a dialect folder (sqlite, postgres, mysql) for a reader.
func DialectTitle(folder string) string {
	switch folder {
	case Postgres:
		return "PostgreSQL"
	case MySQL:
		return "MySQL/MariaDB"
	}
	return "SQLite"
}
