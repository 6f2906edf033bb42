// Package cli is nuvlagen's command line: it parses flags, calls the
// generator packages and prints. It holds no generation logic. Each
// command's help is the text file help/<command>.txt.
package cli

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/generator/graphviz"
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
		{"firewall", runFirewall}, {"secrets", runSecrets}, {"register", runRegister},
		{"configure", runConfigure}, {"import", runImport}, {"draw", runDraw},
		{"completion", runCompletion}, {"version", runVersion}, {"help", runHelp},
	}
}

// env is what a command may touch: its streams and working directory.
type env struct {
	stdout, stderr io.Writer
	cwd            string
	// describe, when set, receives the command's flag set instead of the
	// command running: how completion learns every command's flags.
	describe func(*pflag.FlagSet)
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
	// The pictures' layout engine keeps its compiled code beside the
	// stamps (a second of CPU saved in every later process that draws);
	// nothing is created unless a picture is drawn.
	if dir := e.cache(); dir != "" {
		graphviz.UseCache(filepath.Join(dir, "wasm"))
	}
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

// parseFlags parses the flags of command fs.Name(); it returns false when
// the command must stop, with the error to return (nil when help was
// asked for: then it printed the command's help and flags).
func parseFlags(e *env, fs *pflag.FlagSet, args []string) (error, bool) {
	if e.describe != nil {
		e.describe(fs)
		return nil, false
	}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(e.stdout, commandHelp(fs))
			return nil, false
		}
		return e.usageErr(fs.Name(), "%v", err), false
	}
	return nil, true
}

// commandHelp is the help of command fs.Name() in the layout every
// command's help has: its help file's usage and description, then
// "Flags:" (the flag set's, and -h), then the file's "Examples:".
func commandHelp(fs *pflag.FlagSet) string {
	text := help(fs.Name())
	before, examples, ok := strings.Cut(text, "\nExamples:\n")
	if !ok {
		panic("help/" + fs.Name() + ".txt has no Examples: section") // TestHelpLayout checks each
	}
	all := pflag.NewFlagSet(fs.Name(), pflag.ContinueOnError)
	all.AddFlagSet(fs)
	all.BoolP("help", "h", false, "show this help")
	return before + "\nFlags:\n" + all.FlagUsages() + "\nExamples:\n" + examples
}

// usageErr and usagef print a usage error (exit.UsageError) and return it.
func (e *env) usageErr(name, format string, a ...any) error {
	return exit.UsageError(e.stderr, name, true, format, a...)
}
func (e *env) usagef(prefix, format string, a ...any) error {
	return exit.UsageError(e.stderr, prefix, false, format, a...)
}

// report prints err (exit.Report) and returns it, printed.
func (e *env) report(prefix string, err error) error {
	return exit.Report(e.stderr, e.cwd, prefix, err)
}

// abs makes a path from the command line absolute ("" stays "").
func (e *env) abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.cwd, p)
}
