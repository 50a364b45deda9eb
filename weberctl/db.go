package weberctl

import "github.com/urfave/cli/v2"

// dbCommand groups the database commands.
func dbCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "db",
		Usage:     "create, migrate, inspect and drop the database",
		UsageText: "weberctl db COMMAND [options]",
		Description: `Development: ensure (create the database and the models' tables), drop,
seed (add the app's demo rows), reset (drop, upgrade, seed).
Either: mark (show or change the environment recorded in the database), set
(record the history as applied up to a version, running nothing).
Deployment: revision (write a migration file), new (an empty one to write by
hand), upgrade, downgrade, status,
history, check, lint, hash, rebase (order a merged branch's files after the
other branch's), squash (collapse old files into one), verify (rehearse an
upgrade on a populated copy), schema (the schema as SQL or an ER diagram).
Adoption: import (take over a golang-migrate, goose, dbmate or Atlas history).
Querying: console (open the database's own client: sqlite3, psql, mariadb).

Examples:
   weberctl db ensure
   weberctl db revision --name add_bio
   weberctl db upgrade --database-url postgres://app@db.internal/app`,
		Flags: withGlobal(),
		Subcommands: []*cli.Command{
			dbEnsureCommand(e),
			dbDropCommand(e),
			dbSeedCommand(e),
			dbResetCommand(e),
			dbMarkCommand(e),
			dbSetCommand(e),
			dbRevisionCommand(e),
			dbNewCommand(e),
			dbUpgradeCommand(e),
			dbDowngradeCommand(e),
			dbStatusCommand(e),
			dbHistoryCommand(e),
			dbCheckCommand(e),
			dbLintCommand(e),
			dbHashCommand(e),
			dbRebaseCommand(e),
			dbSquashCommand(e),
			dbVerifyCommand(e),
			dbImportCommand(e),
			dbSchemaCommand(e),
			dbConsoleCommand(e),
			helpCommand(e, []string{"db"}),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowSubcommandHelp(c)
			}
			return unknownCommand("weberctl db", c.Args().First(), c.Command.Subcommands)
		},
	}
}
