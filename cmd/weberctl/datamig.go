package main

import (
	"github.com/weber-framework/weber/internal/upgrade"
	"github.com/weber-framework/weber/migrations/data"
)

// dataMigrations are the project's Go data migrations (migrations/data),
// handed to every command that runs or rehearses the history: the one
// place that wires them.
func dataMigrations() map[string]upgrade.DataMigration { return data.Migrations() }
