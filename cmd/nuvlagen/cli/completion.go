package cli

import (
	"bufio"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/completion"
)

// words are what commands take before their operands, for completion.
var words = map[string][]string{
	"firewall":   {"query"},
	"secrets":    {"init", "check"},
	"completion": completion.Shells,
}

func runCompletion(e *env, args []string) error {
	fs := pflag.NewFlagSet("completion", pflag.ContinueOnError)
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	if fs.NArg() != 1 {
		return e.usageErr("completion", "want one shell: %s", strings.Join(completion.Shells, ", "))
	}
	top := []completion.Flag{{Long: "help", Short: "h", Usage: "show help"}, {Long: "version", Usage: "print nuvlagen's version"}}
	script, err := completion.Script(fs.Arg(0), "nuvlagen", top, describeCommands())
	if err != nil {
		return e.usageErr("completion", "%v", err)
	}
	_, err = e.stdout.Write(script)
	return err
}

// describeCommands describes every command for completion: its summary
// from nuvlagen's help, its flags from its own flag set (the command is
// run with env.describe set, which stops it at parseFlags).
func describeCommands() []completion.Command {
	summaries := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(help("nuvlagen")))
	for sc.Scan() {
		if name, summary, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "  "), " "); ok && strings.HasPrefix(sc.Text(), "  ") {
			summaries[name] = strings.TrimSpace(summary)
		}
	}
	var out []completion.Command
	for _, c := range commands {
		cmd := completion.Command{Name: c.name, Summary: summaries[c.name], Words: words[c.name]}
		if c.name == "help" {
			for _, o := range commands {
				cmd.Words = append(cmd.Words, o.name)
			}
		}
		e := &env{describe: func(fs *pflag.FlagSet) {
			fs.VisitAll(func(f *pflag.Flag) {
				cmd.Flags = append(cmd.Flags, completion.Flag{Long: f.Name, Short: f.Shorthand, Usage: flagUsage(f), Value: f.Value.Type() != "bool"})
			})
		}}
		_ = c.run(e, nil)
		out = append(out, cmd)
	}
	return out
}

// flagUsage is a flag's usage without pflag's backquotes.
func flagUsage(f *pflag.Flag) string { return strings.ReplaceAll(f.Usage, "`", "") }
