package weberctl

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/config"
	"github.com/weber-framework/weber/internal/dialect"
	"github.com/weber-framework/weber/internal/plan"
	"github.com/weber-framework/weber/internal/sqlrecord"
)

// dbRevisionFrozen is `db revision --data NAME --frozen`. Its first run
// scaffolds the migration's Go file, written with the project's typed
// client, and registers it; run again by a weberctl built with it, it
// records the SQL the migration's Frozen function runs, for every kept
// dialect, and writes it as the history's next file.
func dbRevisionFrozen(c *cli.Context, e *env) error {
	cfg, dialects, err := noArgsDialects(c, e)
	if err != nil {
		return err
	}
	name := plan.SanitizeName(c.String("data"))
	data := filepath.Join(cfg.MigrationsDir, "data")
	goFile := filepath.Join(data, name+".go")
	m, ok := e.project.DataMigrations[name]
	switch {
	case ok && m.Frozen != nil:
		return freezeData(c, e, cfg, dialects, name, goFile, m.Frozen)
	case ok:
		return usagef("the data migration %s is registered as a batched one (Batch, not Frozen): pick another --data NAME for a frozen one, or leave out --frozen", name)
	}
	if _, err := os.Stat(goFile); err == nil {
		return usagef("%s exists, but this weberctl has no frozen data migration %s: register it in %s and run the weberctl built from the project (go run ./cmd/weberctl db revision --data %s --frozen)",
			goFile, name, filepath.Join(data, dataRegistryFile), name)
	}
	return scaffoldFrozen(c, e, name, data, goFile)
}

// scaffoldFrozen writes the Go file of a new frozen data migration and
// registers it in the data migrations' package.
func scaffoldFrozen(c *cli.Context, e *env, name, data, goFile string) error {
	if c.String("touches") != "" {
		return usagef("--touches is not needed to scaffold a frozen data migration: the columns it changes are read from its SQL when it is recorded")
	}
	module, err := modulePath()
	if err != nil {
		return err
	}
	client := module + "/" + filepath.ToSlash(filepath.Dir(filepath.Clean(c.String("schema"))))
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	if err := writeGoFile(goFile, frozenTemplate(name, client)); err != nil {
		return err
	}
	registry := filepath.Join(data, dataRegistryFile)
	created, err := registerDataMigration(registry, name, goIdent(name))
	if err != nil {
		return fmt.Errorf("%w; %s is written: register it by hand (%q: %s(),)", err, goFile, name, goIdent(name))
	}
	if c.Bool("json") {
		return writeJSON(e.stdout, dataScaffoldView{Name: name, Kind: "frozen", GoFile: goFile, Registry: registry, RegistryCreated: created, Files: []string{}})
	}
	fmt.Fprintf(e.stdout, "Frozen data migration %s:\n  %s (write the change here, with the typed client)\n  %s (registered as %q)\n", name, goFile, registry, name)
	handToWeberctl(e, created)
	fmt.Fprintf(e.stdout, "Next: write the change, then run `go run ./cmd/weberctl db revision --data %s --frozen` again: it records the SQL the change runs, for every kept dialect, into the history's next file.\n", name)
	return nil
}

// frozenTemplate is the scaffolded Go file of a frozen data migration.
func frozenTemplate(name, client string) string {
	fn := goIdent(name)
	return `package data

import (
	"context"

	"entgo.io/ent/dialect"

	"github.com/weber-framework/weber/engine"
	"` + client + `"
)

// ` + fn + ` is the frozen data migration ` + name + `:
// ` + "`weberctl db revision --data " + name + " --frozen`" + ` records the
// statements it runs through the typed client, once per kept
// dialect, into the history's next file; upgrades run that file's SQL, not
// this code. Change rows in bulk (Create, Update().Where(...),
// Delete().Where(...)): it cannot read rows, there are none when it is
// recorded. Once the files are written it is not needed to upgrade
// anything: when a later change of the models stops it compiling, delete
// it and its line in data.go.
func ` + fn + `() engine.DataMigration {
	return engine.DataMigration{Frozen: func(ctx context.Context, drv dialect.Driver) error {
		c := ent.NewClient(ent.Driver(drv))
		_ = c // e.g. return c.User.Update().Where(user.BioEQ("")).ClearBio().Exec(ctx)
		return nil
	}}
}
`
}

// freezeData records fn for every chosen dialect and writes the
// statements as the history's next file, NAME, in each folder.
func freezeData(c *cli.Context, e *env, cfg config.Config, dialects []string, name, goFile string, fn sqlrecord.Func) error {
	if err := refuseFrozenTwice(cfg.MigrationsDir, dialects, name); err != nil {
		return err
	}
	extra, err := optionalTouches(c.String("touches"))
	if err != nil {
		return err
	}
	recs, err := recordDialects(c.Context, dialects, name, goFile, fn, len(extra) > 0)
	if err != nil {
		return err
	}
	res, err := plan.NewFile(plan.NewFileOptions{Root: cfg.MigrationsDir, Dialects: dialects, Name: name,
		Content: func(folder, version, name string) (string, error) {
			return frozenFile(folder, version, name, goFile, recs[folder], extra), nil
		}})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		var touches []string
		for _, r := range recs {
			touches = append(touches, frozenTouches(r, extra)...)
		}
		slices.Sort(touches)
		return writeJSON(e.stdout, dataScaffoldView{Name: name, Kind: "frozen", Version: res.Version, GoFile: goFile,
			Files: res.Files, Touches: slices.Compact(touches)})
	}
	fmt.Fprintf(e.stdout, "Frozen data migration %s_%s, recorded from %s:\n", res.Version, res.Name, goFile)
	for i, f := range res.Files {
		r := recs[dialects[i]]
		fmt.Fprintf(e.stdout, "  %s (%s; touches %s)\n", f, plural(len(r.Statements), "statement", "statements"), strings.Join(frozenTouches(r, extra), ", "))
	}
	fmt.Fprintln(e.stdout, "Next: review the files (they are what upgrades run), then `weberctl db check` and `weberctl db verify`.")
	return nil
}

// recordDialects records fn once per dialect folder.
func recordDialects(ctx context.Context, dialects []string, name, goFile string, fn sqlrecord.Func, declared bool) (map[string]*sqlrecord.Recording, error) {
	recs := map[string]*sqlrecord.Recording{}
	for _, folder := range dialects {
		d, err := dialect.Parse(folder)
		if err != nil {
			return nil, err
		}
		rec, err := sqlrecord.Record(ctx, d.Ent(), fn)
		if err != nil {
			return nil, fmt.Errorf("recording the frozen data migration %s for %s: %w; nothing was written", name, folder, err)
		}
		if len(rec.Statements) == 0 {
			return nil, usagef("the frozen data migration %s changed no rows: write its change in %s (with the typed client), then run this again; nothing was written", name, goFile)
		}
		if len(rec.Unread) > 0 && !declared {
			return nil, usagef("the frozen data migration %s runs `%s`, whose changed columns Weber cannot read: name them with --touches table.column,...; nothing was written", name, rec.Unread[0])
		}
		recs[folder] = rec
	}
	return recs, nil
}

// refuseFrozenTwice refuses to record NAME when a folder holds a file of
// that name already.
func refuseFrozenTwice(root string, dialects []string, name string) error {
	for _, folder := range dialects {
		found, _ := filepath.Glob(filepath.Join(root, folder, "*_"+name+".sql"))
		for _, f := range found {
			// 20261206125757_publish_dated_drafts.sql is not "drafts".
			if _, rest, _ := strings.Cut(filepath.Base(f), "_"); rest == name+".sql" {
				return usagef("%s holds the data migration %s already: to record it again, delete its files and run `weberctl db hash` first (only while it has been applied nowhere), or write a new one under another NAME", f, name)
			}
		}
	}
	return nil
}

// optionalTouches parses --touches where it may be empty.
func optionalTouches(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	return touchedColumns(s)
}

// frozenTouches is what a recording touches, with the columns --touches
// adds.
func frozenTouches(r *sqlrecord.Recording, extra []string) []string {
	all := append(slices.Clone(r.Touches), extra...)
	slices.Sort(all)
	return slices.Compact(all)
}

// frozenFile is the content of a frozen data migration's file for one
// dialect folder.
func frozenFile(folder, version, name, goFile string, r *sqlrecord.Recording, extra []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- %s_%s: the frozen data migration %s, recorded for %s\n", version, name, name, plan.DialectTitle(folder))
	fmt.Fprintf(&b, "-- by `weberctl db revision --data %s --frozen` from %s.\n", name, filepath.ToSlash(goFile))
	b.WriteString("-- Upgrades run these statements, in one transaction. Review them; once the\n-- file is applied anywhere, never edit it: write a new one.\n")
	fmt.Fprintf(&b, "-- weber:touches %s\n\n", strings.Join(frozenTouches(r, extra), ", "))
	for _, s := range r.Statements {
		b.WriteString(s + ";\n")
	}
	return b.String()
}
