package weberctl

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/migdir"
)

// completionMarker is the last argument with which the shell scripts ask
// weberctl for the words that may come next.
const completionMarker = "--generate-bash-completion"

// bashCompletion is urfave/cli's bash script, for weberctl.
const bashCompletion = `# bash completion for weberctl: source it, e.g. from ~/.bashrc:
#   source <(weberctl completion bash)
_weberctl_complete() {
  local cur words
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
  local opts
  if [[ "$cur" == "-"* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -F _weberctl_complete weberctl
`

// zshCompletion is urfave/cli's zsh script, for weberctl.
const zshCompletion = `#compdef weberctl
# zsh completion for weberctl: source it, e.g. from ~/.zshrc (after compinit):
#   source <(weberctl completion zsh)
_weberctl_complete() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _weberctl_complete weberctl
`

func completionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		UsageText: "weberctl completion bash|zsh|fish",
		Description: `Prints a script that makes the shell complete weberctl's commands, their
flags, and the migration versions after ` + "`db upgrade --to`" + ` and
` + "`db downgrade --to`" + ` (read from the migration folder of the configured
database's dialect). The script asks weberctl itself for the words.

Example:
   source <(weberctl completion bash)          # in ~/.bashrc
   source <(weberctl completion zsh)           # in ~/.zshrc, after compinit
   weberctl completion fish > ~/.config/fish/completions/weberctl.fish`,
		Flags: withGlobal(),
		Action: func(c *cli.Context) error {
			shell := c.Args().First()
			if c.NArg() != 1 {
				return usagef("`weberctl completion` takes one shell: bash, zsh or fish, e.g. `weberctl completion bash`")
			}
			switch shell {
			case "bash":
				_, err := io.WriteString(e.stdout, bashCompletion)
				return err
			case "zsh":
				_, err := io.WriteString(e.stdout, zshCompletion)
				return err
			case "fish":
				script, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				_, err = io.WriteString(e.stdout, script+fishVersions)
				return err
			}
			return usagef("`weberctl completion` knows bash, zsh and fish, not %q", shell)
		},
	}
}

// fishVersions completes --to with the migration versions in fish, which
// urfave/cli's generated script does not.
const fishVersions = `complete -c weberctl -n '__fish_seen_subcommand_from upgrade downgrade' -l to -x -a '(weberctl db upgrade --to --generate-bash-completion 2>/dev/null)'
`

// wireCompletion turns on shell completion: every command answers
// --generate-bash-completion with the words that may follow.
func (e *env) wireCompletion(a *cli.App) {
	a.EnableBashCompletion = true
	a.BashComplete = func(c *cli.Context) { e.complete(c, a.Commands, a.Flags, false) }
	var walk func(cmds []*cli.Command, path string)
	walk = func(cmds []*cli.Command, path string) {
		for _, cmd := range cmds {
			cmd := cmd
			versions := path == "db" && (cmd.Name == "upgrade" || cmd.Name == "downgrade")
			cmd.BashComplete = func(c *cli.Context) { e.complete(c, cmd.Subcommands, cmd.Flags, versions) }
			walk(cmd.Subcommands, strings.TrimSpace(path+" "+cmd.Name))
		}
	}
	walk(a.Commands, "")
}

// complete prints the words that may follow the command line: flags after
// a dash, versions after --to, else the subcommands.
func (e *env) complete(c *cli.Context, cmds []*cli.Command, flags []cli.Flag, versions bool) {
	words := e.args
	if n := len(words); n > 0 && words[n-1] == completionMarker {
		words = words[:n-1]
	}
	last := ""
	if len(words) > 1 {
		last = words[len(words)-1]
	}
	switch {
	case versions && last == "--to":
		for _, v := range e.versions(c) {
			fmt.Fprintln(e.stdout, v)
		}
	case strings.HasPrefix(last, "-"):
		for _, f := range flags {
			for _, name := range f.Names() {
				if d := dashes(name); strings.HasPrefix(d, last) && len(name) > 1 {
					fmt.Fprintln(e.stdout, d)
				}
			}
		}
	default:
		for _, cmd := range cmds {
			if !cmd.Hidden {
				fmt.Fprintln(e.stdout, cmd.Name)
			}
		}
	}
}

// versions lists the versions of the migration files of the configured
// database's dialect, oldest first; none when anything is amiss, as a
// completion must stay silent.
func (e *env) versions(c *cli.Context) []string {
	cfg, u, err := e.target(c)
	if err != nil {
		return nil
	}
	dir, err := migdir.DialectDir(cfg.MigrationsDir, u.Dialect)
	if err != nil {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var vs []string
	for _, en := range entries {
		name := en.Name()
		if en.IsDir() || filepath.Ext(name) != ".sql" {
			continue
		}
		v, _, _ := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		if v != "" && strings.Trim(v, "0123456789") == "" {
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool { return migdir.CompareVersions(vs[i], vs[j]) < 0 })
	return vs
}
