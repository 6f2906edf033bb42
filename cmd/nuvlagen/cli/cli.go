// Package cli is nuvlagen's command line: it parses flags, calls the
// generator packages and prints. It holds no generation logic. Each
// command's help is the text file help/<command>.txt.
package cli

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

// Exit statuses, the same for every command: exit.Status maps the error
// a command returns to them.
const (
	ExitOK          = exit.OK
	ExitInvalid     = exit.Invalid
	ExitUsage       = exit.Usage
	ExitInterrupted = exit.Interrupted
)

//go:embed help/*.txt
var helpFiles embed.FS

// help is the help text of a command, or nuvlagen's for "nuvlagen".
func help(name string) string {
	b, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic(err) // help_test.go checks every command has its file
	}
	return string(b)
}

type command struct {
	name string
	run  func(env *env, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"generate", runGenerate}, {"check", runCheck}, {"vet", runVet}, {"diff", runDiff},
		{"firewall", runFirewall}, {"secrets", runSecrets}, {"register", runRegister}, {"configure", runConfigure},
		{"version", runVersion}, {"help", runHelp},
	}
}

// env is what a command may touch: its streams and working directory.
type env struct {
	stdout, stderr io.Writer
	cwd            string
}

// Main runs nuvlagen with args (without the program name) and returns the
// exit status, so tests run the CLI in-process.
func Main(args []string, stdout, stderr io.Writer) int {
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "nuvlagen: %v\n", err)
		return ExitUsage
	}
	e := &env{stdout: stdout, stderr: stderr, cwd: cwd}
	if len(args) == 0 {
		fmt.Fprint(stderr, help("nuvlagen"))
		return ExitUsage
	}
	switch args[0] {
	case "-h", "--help":
		fmt.Fprint(stdout, help("nuvlagen"))
		return ExitOK
	case "--version":
		return exit.Status(runVersion(e, nil))
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(e, args[1:])
			if err != nil && !exit.IsPrinted(err) {
				e.report("nuvlagen "+c.name, err)
			}
			return exit.Status(err)
		}
	}
	fmt.Fprintf(stderr, "nuvlagen: unknown command %q\n%s", args[0], help("nuvlagen"))
	return ExitUsage
}

func runHelp(e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stdout, help("nuvlagen"))
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] && c.name != "help" {
			return c.run(e, []string{"--help"})
		}
	}
	fmt.Fprintf(e.stderr, "nuvlagen help: unknown command %q\n", args[0])
	return exit.UsageErr
}

// parseFlags parses the flags of command fs.Name(); it returns false when
// the command must stop, with the error to return (nil when help was
// asked for: then it printed the command's help and flags).
func parseFlags(e *env, fs *pflag.FlagSet, args []string) (error, bool) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(e.stdout, "%s\nFlags:\n%s", help(fs.Name()), fs.FlagUsages())
			return nil, false
		}
		return e.usageErr(fs.Name(), "%v", err), false
	}
	return nil, true
}

// usageErr prints a usage error of command name and where to look.
func (e *env) usageErr(name, format string, a ...any) error {
	fmt.Fprintf(e.stderr, "nuvlagen %s: %s\nRun \"nuvlagen help %s\" for usage.\n", name, fmt.Sprintf(format, a...), name)
	return exit.UsageErr
}

// usagef prints a usage error without the pointer to help.
func (e *env) usagef(prefix, format string, a ...any) error {
	fmt.Fprintf(e.stderr, "%s: %s\n", prefix, fmt.Sprintf(format, a...))
	return exit.UsageErr
}

// report prints err: positioned errors one per line, others after
// prefix; it returns err, printed.
func (e *env) report(prefix string, err error) error {
	var invalid *pipeline.InvalidError
	var unreadable *inputfile.UnreadableError
	switch {
	case errors.As(err, &invalid):
		for _, err := range invalid.Errs {
			printErr(e, err)
		}
	case errors.As(err, &unreadable):
		fmt.Fprintln(e.stderr, unreadable)
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(e.stderr, "%s: %v: stopped, nothing written\n", prefix, err)
	default:
		fmt.Fprintf(e.stderr, "%s: %v\n", prefix, err)
	}
	return exit.Printed(err)
}

func printErr(e *env, err error) {
	for _, line := range diag.Lines(err, e.cwd) {
		fmt.Fprintln(e.stderr, line)
	}
}

// abs makes a path from the command line absolute ("" stays "").
func (e *env) abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.cwd, p)
}
