package cli

import (
	"fmt"
	"slices"

	"github.com/spf13/pflag"
)

// runHelp prints nuvlagen's help, or a command's ("help generate" is
// "generate --help"), or its own ("help help").
func runHelp(e *env, args []string) error {
	fs := pflag.NewFlagSet("help", pflag.ContinueOnError)
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	switch {
	case fs.NArg() == 0:
		fmt.Fprint(e.stdout, help("nuvlagen"))
		return nil
	case fs.NArg() > 1:
		return e.usageErr("help", "want at most one command")
	case fs.Arg(0) == "help":
		fmt.Fprint(e.stdout, commandHelp(fs))
		return nil
	}
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == fs.Arg(0) })
	if i < 0 {
		return e.usageErr("help", "unknown command %q", fs.Arg(0))
	}
	return commands[i].run(e, []string{"--help"})
}
