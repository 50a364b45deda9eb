package weberctl

import "github.com/weber-framework/weber/engine"

// dataMigrations are the project's Go data migrations (Project.DataMigrations),
// handed to every command that runs or rehearses the history: the one
// place that reads them.
func (e *env) dataMigrations() map[string]engine.DataMigration { return e.project.DataMigrations }
