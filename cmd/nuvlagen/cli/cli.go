// Package cli is nuvlagen's command line: it parses flags, calls the
// generator packages and writes files. It holds no generation logic.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/diag"
)

// Exit statuses, the same for every command.
const (
	ExitOK      = 0 // success
	ExitInvalid = 1 // invalid input, or findings (drift, blocked traffic)
	ExitUsage   = 2 // bad command line, or an internal failure
	// ExitInterrupted: a signal stopped the command (generate), which
	// wrote nothing.
	ExitInterrupted = 130
)

type command struct {
	name    string
	summary string
	run     func(env *env, args []string) int
}

var commands []command

func init() {
	commands = []command{
		{"generate", "render sites into an output directory", runGenerate},
		{"check", "fail when an output directory differs from what generate would write", runCheck},
		{"vet", "check compose files meant for docker stack deploy", runVet},
		{"diff", "explain what a change does to generated output", runDiff},
		{"firewall", "query the firewall model: is a connection allowed, and by which rule", runFirewall},
		{"secrets", "create a site's secrets directory (secrets init DIR)", runSecrets},
		{"version", "print nuvlagen's version", runVersion},
		{"help", "show help for a command", runHelp},
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
		usage(stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "--help":
		usage(stdout)
		return ExitOK
	case "--version":
		return runVersion(e, nil)
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(e, args[1:])
		}
	}
	fmt.Fprintf(stderr, "nuvlagen: unknown command %q\n", args[0])
	usage(stderr)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `nuvlagen turns a description of a Nuvla deployment on Docker Swarm into
the compose files, configuration and scripts that deploy it.

Usage:
  nuvlagen <command> [flags]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "nuvlagen help <command>" for a command's flags and examples.

Exit status: 0 success; 1 invalid input or findings; 2 usage error or
internal failure; 130 stopped by SIGINT or SIGTERM (generate).
`)
}

func runHelp(e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stdout)
		return ExitOK
	}
	for _, c := range commands {
		if c.name == args[0] && c.name != "help" {
			return c.run(e, []string{"--help"})
		}
	}
	fmt.Fprintf(e.stderr, "nuvlagen help: unknown command %q\n", args[0])
	return ExitUsage
}

// parseFlags parses a command's flags; it returns a status and false when
// the command must stop (help was asked for, or the flags were wrong).
func parseFlags(e *env, fs *pflag.FlagSet, doc string, args []string) (int, bool) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(e.stdout, doc)
			fmt.Fprintf(e.stdout, "\nFlags:\n%s", fs.FlagUsages())
			return ExitOK, false
		}
		fmt.Fprintf(e.stderr, "nuvlagen %s: %v\nRun \"nuvlagen help %s\" for usage.\n", fs.Name(), err, fs.Name())
		return ExitUsage, false
	}
	return ExitOK, true
}

func printErr(e *env, err error) {
	for _, line := range diag.Lines(err, e.cwd) {
		fmt.Fprintln(e.stderr, line)
	}
}

// displayName is the name a site file goes by in positions and in the
// headers of generated files: relative to the working directory, so that
// output never depends on where the repository is checked out.
func displayName(cwd, name string) string {
	if !filepath.IsAbs(name) {
		return filepath.ToSlash(filepath.Clean(name))
	}
	if rel, err := filepath.Rel(cwd, name); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.Base(name)
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
