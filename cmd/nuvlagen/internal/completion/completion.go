// Package completion writes nuvlagen's shell completion scripts for bash,
// zsh and fish from a description of its commands and their flags (taken
// from the commands' own flag sets, so a new flag completes without an
// edit here). The scripts are static: completing runs no nuvlagen.
package completion

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// Command is one command: its name, a line saying what it does, the
// words it takes first (subcommands, or shells), and its flags.
type Command struct {
	Name, Summary string
	Words         []string
	Flags         []Flag
}

// Flag is one flag. Value flags take an argument, completed as a file
// name (most name a file or directory; a shell offers files by default).
type Flag struct {
	Long, Short, Usage string
	Value              bool
}

// Shells are the shells a script is written for.
var Shells = []string{"bash", "zsh", "fish"}

// Script returns the completion script of prog for shell, one of Shells.
func Script(shell, prog string, top []Flag, cmds []Command) ([]byte, error) {
	switch shell {
	case "bash":
		return bash(prog, top, cmds), nil
	case "zsh":
		return zsh(prog, top, cmds), nil
	case "fish":
		return fish(prog, top, cmds), nil
	}
	return nil, fmt.Errorf("shell %q: want one of %s", shell, strings.Join(Shells, ", "))
}

// names are a flag's spellings on a command line.
func (f Flag) names() []string {
	n := []string{"--" + f.Long}
	if f.Short != "" {
		n = append(n, "-"+f.Short)
	}
	return n
}

// fnName is prog as a shell function name.
func fnName(prog string) string {
	return "_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, prog)
}

func bash(prog string, top []Flag, cmds []Command) []byte {
	var b bytes.Buffer
	fn := fnName(prog)
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	words := func(c []string) string { return strings.Join(c, " ") }
	w("# bash completion for %s: source it, or put it in\n", prog)
	w("# ~/.local/share/bash-completion/completions/%s.\n", prog)
	w("%s() {\n", fn)
	w("\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd='' i\n")
	w("\tfor ((i = 1; i < COMP_CWORD; i++)); do\n")
	w("\t\tcase ${COMP_WORDS[i]} in\n\t\t-*) ;;\n\t\t*) cmd=${COMP_WORDS[i]}; break ;;\n\t\tesac\n\tdone\n")
	w("\tlocal words='' values=''\n\tcase $cmd in\n")
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
	}
	var topFlags []string
	for _, f := range top {
		topFlags = append(topFlags, f.names()...)
	}
	w("\t'') words=%q ;;\n", words(append(slices.Clone(names), topFlags...)))
	for _, c := range cmds {
		var fl, vals []string
		for _, f := range c.Flags {
			fl = append(fl, f.names()...)
			if f.Value {
				vals = append(vals, f.names()...)
			}
		}
		w("\t%s) words=%q values=%q ;;\n", c.Name, words(append(slices.Clone(c.Words), fl...)), words(vals))
	}
	w("\tesac\n")
	w("\t# A flag's value: a file name.\n")
	w("\tif [[ -n $cmd && \" $values \" == *\" $prev \"* ]]; then\n")
	w("\t\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n\t\treturn\n\tfi\n")
	w("\tmapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n")
	w("\tif ((${#COMPREPLY[@]} == 0)) && [[ -n $cmd && $cur != -* ]]; then\n")
	w("\t\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n\tfi\n")
	w("}\n")
	w("complete -o filenames -F %s %s\n", fn, prog)
	return b.Bytes()
}

// zshText makes s safe inside a zsh _arguments description or _describe
// item: no brackets, colons or quotes, one line.
func zshText(s string) string {
	s = strings.NewReplacer("[", "(", "]", ")", ":", " -", "'", "", "`", "", "\\", "", "\n", " ").Replace(s)
	return s
}

func zsh(prog string, top []Flag, cmds []Command) []byte {
	var b bytes.Buffer
	fn := fnName(prog)
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("#compdef %s\n", prog)
	w("# zsh completion for %s: source it after compinit, or put it in a\n", prog)
	w("# directory of $fpath as _%s.\n", prog)
	w("%s() {\n", fn)
	w("\tlocal -a commands\n\tcommands=(\n")
	for _, c := range cmds {
		w("\t\t'%s:%s'\n", c.Name, zshText(c.Summary))
	}
	w("\t)\n")
	w("\tif ((CURRENT == 2)); then\n")
	w("\t\t_describe -t commands '%s command' commands\n", prog)
	for _, f := range top {
		w("\t\tcompadd -- %s\n", strings.Join(f.names(), " "))
	}
	w("\t\treturn\n\tfi\n")
	w("\tlocal cmd=$words[2]\n\tshift words\n\t((CURRENT--))\n")
	w("\tcase $cmd in\n")
	for _, c := range cmds {
		w("\t%s)\n\t\t_arguments -s", c.Name)
		for _, f := range c.Flags {
			desc := zshText(f.Usage)
			arg := ""
			if f.Value {
				arg = ":" + zshText(f.Long) + ":_files"
			}
			// Repeatable flags (StringArray) may come again: "*" lets them.
			if f.Short != "" {
				w(" \\\n\t\t\t'(-%s --%s)'{-%s,--%s}'[%s]%s'", f.Short, f.Long, f.Short, f.Long, desc, arg)
			} else {
				w(" \\\n\t\t\t'*--%s[%s]%s'", f.Long, desc, arg)
			}
		}
		if len(c.Words) > 0 {
			w(" \\\n\t\t\t'1:%s:(%s)'", c.Name, strings.Join(c.Words, " "))
		}
		w(" \\\n\t\t\t'*:file:_files'\n\t\t;;\n")
	}
	w("\tesac\n}\n")
	// Autoloaded from $fpath, the file is the function's body; sourced,
	// it registers the function.
	w("if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n\t%s \"$@\"\nelse\n\tcompdef %s %s\nfi\n", fn, fn, prog)
	return b.Bytes()
}

// fishText quotes s for fish, in single quotes.
func fishText(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", " ").Replace(s) + "'"
}

func fish(prog string, top []Flag, cmds []Command) []byte {
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
	}
	w("# fish completion for %s: source it, or put it in\n", prog)
	w("# ~/.config/fish/completions/%s.fish.\n", prog)
	w("complete -c %s -f\n", prog)
	none := fmt.Sprintf("not __fish_seen_subcommand_from %s", strings.Join(names, " "))
	for _, c := range cmds {
		w("complete -c %s -n %s -a %s -d %s\n", prog, fishText(none), c.Name, fishText(c.Summary))
	}
	for _, f := range top {
		w("complete -c %s -n %s -l %s", prog, fishText(none), f.Long)
		if f.Short != "" {
			w(" -s %s", f.Short)
		}
		w(" -d %s\n", fishText(f.Usage))
	}
	for _, c := range cmds {
		seen := fishText("__fish_seen_subcommand_from " + c.Name)
		if len(c.Words) > 0 {
			w("complete -c %s -n %s -a %s\n", prog, seen, fishText(strings.Join(c.Words, " ")))
		} else {
			// Operands are files (or directories).
			w("complete -c %s -n %s -F\n", prog, seen)
		}
		for _, f := range c.Flags {
			w("complete -c %s -n %s -l %s", prog, seen, f.Long)
			if f.Short != "" {
				w(" -s %s", f.Short)
			}
			if f.Value {
				w(" -r -F")
			}
			w(" -d %s\n", fishText(f.Usage))
		}
	}
	return b.Bytes()
}
