// Command weberctl is Weber's weberctl on the shop's models and migration
// history: the whole of the adoption is this file and a require in go.mod.
package main

import (
	"github.com/weber-framework/weber/weberctl"

	"example.com/shop/backend/internal/data/ent/migrate"
)

func main() {
	weberctl.Main(weberctl.Project{
		Tables:     migrate.Tables,
		Migrations: "backend/db/migrations",
	})
}
