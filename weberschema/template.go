package weberschema

import _ "embed" // the template below

//go:embed renames.tmpl
var renamesTemplate string

// RenamesTemplate returns the ent template that writes the renames a
// project's models declare into ent/migrate/renames.go as migrate.Renames,
// the list weberctl.Project.Renames takes. A project keeps it as
// ent/template/renames.tmpl and passes `--template ./template` to
// `go tool ent generate` (`weberctl new` sets this up); Weber's own models
// use this file directly.
func RenamesTemplate() string { return renamesTemplate }
