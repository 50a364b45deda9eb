package weberctl

import "github.com/urfave/cli/v2"

// helpCommand is `weberctl help [COMMAND...]` (and `weberctl db help
// [COMMAND]`): it shows exactly the page that `COMMAND... --help` shows,
// down to a subcommand (`weberctl help db upgrade`). urfave/cli's own help
// command stops at the first name and would show the `db` group's page.
// group is the path of the command that holds it (nil for the root).
func helpCommand(e *env, group []string) *cli.Command {
	return &cli.Command{
		Name:      "help",
		Aliases:   []string{"h"},
		Usage:     "show the help of a command, e.g. `weberctl help db upgrade`",
		ArgsUsage: "[COMMAND [SUBCOMMAND]]",
		Action: func(c *cli.Context) error {
			names := c.Args().Slice()
			if err := checkHelpTopic(group, names); err != nil {
				return err
			}
			args := append(append([]string{"weberctl"}, group...), names...)
			return newApp(e).RunContext(c.Context, append(args, "--help"))
		},
	}
}

// checkHelpTopic refuses a help topic that names no command, the way a
// mistyped command is refused, before anything is printed.
func checkHelpTopic(group, names []string) error {
	cmds := newApp(&env{getenv: func(string) string { return "" }}).Commands
	path := "weberctl"
	for _, name := range append(append([]string{}, group...), names...) {
		var found *cli.Command
		for _, cmd := range cmds {
			if cmd.HasName(name) && cmd.Name != "help" {
				found = cmd
			}
		}
		if found == nil {
			if len(cmds) == 0 {
				return usagef("`%s` has no subcommands, so there is no help topic %q: run `%s --help`", path, name, path)
			}
			return unknownCommand(path, name, cmds)
		}
		path += " " + found.Name
		cmds = found.Subcommands
	}
	return nil
}
