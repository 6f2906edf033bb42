// Package cli is nuvlagen's command line: it parses flags, calls the
// generator packages and prints. It holds no generation logic.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/outdir"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

// Exit statuses, the same for every command.
const (
	ExitOK      = 0 // success
	ExitInvalid = 1 // invalid input, or findings (drift, blocked traffic)
	ExitUsage   = 2 // bad command line, or an internal failure
	// ExitInterrupted: a signal stopped the command (generate, check,
	// diff --base), which wrote nothing.
	ExitInterrupted = 130
)

// The kinds of failure a command returns; exitStatus maps them.
var (
	errUsage       = errors.New("usage error")
	errFindings    = errors.New("findings")
	errInterrupted = errors.New("interrupted")
)

// badInput is a site file that cannot be read: the user's input, as an
// invalid site is.
type badInput struct{ err error }

func (b *badInput) Error() string { return b.err.Error() }
func (b *badInput) Unwrap() error { return b.err }

// printed is a failure the command has printed already.
type printed struct{ err error }

func (p *printed) Error() string { return p.err.Error() }
func (p *printed) Unwrap() error { return p.err }

// exitStatus maps the error a command returns to its exit status: the
// one place that does.
func exitStatus(err error) int {
	var invalid *pipeline.InvalidError
	var bad *badInput
	var foreign *outdir.ForeignFilesError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errInterrupted):
		return ExitInterrupted
	case errors.Is(err, errUsage):
		return ExitUsage
	case errors.Is(err, errFindings), errors.As(err, &invalid), errors.As(err, &bad),
		errors.As(err, &foreign): // what is in the way is input, not a failure
		return ExitInvalid
	}
	return ExitUsage // an internal failure, or a file refused
}

type command struct {
	name    string
	summary string
	run     func(env *env, args []string) error
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
		{"register", "register a target site in Nuvla from its out/SITE/nuvla documents", runRegister},
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
		return exitStatus(runVersion(e, nil))
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(e, args[1:])
			var p *printed
			if err != nil && !errors.As(err, &p) {
				e.report("nuvlagen "+c.name, err)
			}
			return exitStatus(err)
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
internal failure; 130 stopped by SIGINT or SIGTERM (generate, check,
diff --base).
`)
}

func runHelp(e *env, args []string) error {
	if len(args) == 0 {
		usage(e.stdout)
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] && c.name != "help" {
			return c.run(e, []string{"--help"})
		}
	}
	fmt.Fprintf(e.stderr, "nuvlagen help: unknown command %q\n", args[0])
	return &printed{errUsage}
}

// parseFlags parses a command's flags; it returns false when the command
// must stop, with the error to return (nil when help was asked for).
func parseFlags(e *env, fs *pflag.FlagSet, doc string, args []string) (error, bool) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(e.stdout, doc)
			fmt.Fprintf(e.stdout, "\nFlags:\n%s", fs.FlagUsages())
			return nil, false
		}
		return e.usageErr(fs.Name(), "%v", err), false
	}
	return nil, true
}

// usageErr prints a usage error of command name and where to look.
func (e *env) usageErr(name, format string, a ...any) error {
	fmt.Fprintf(e.stderr, "nuvlagen %s: %s\nRun \"nuvlagen help %s\" for usage.\n", name, fmt.Sprintf(format, a...), name)
	return &printed{errUsage}
}

// usagef prints a usage error without the pointer to help.
func (e *env) usagef(prefix, format string, a ...any) error {
	fmt.Fprintf(e.stderr, "%s: %s\n", prefix, fmt.Sprintf(format, a...))
	return &printed{errUsage}
}

// report prints err: positioned errors one per line, others after
// prefix; it returns err, printed.
func (e *env) report(prefix string, err error) error {
	var invalid *pipeline.InvalidError
	var bad *badInput
	switch {
	case errors.As(err, &invalid):
		for _, err := range invalid.Errs {
			printErr(e, err)
		}
	case errors.As(err, &bad):
		fmt.Fprintln(e.stderr, bad.err)
	case errors.Is(err, errInterrupted):
		fmt.Fprintf(e.stderr, "%s: %v: stopped, nothing written\n", prefix, err)
	default:
		fmt.Fprintf(e.stderr, "%s: %v\n", prefix, err)
	}
	return &printed{err}
}

func printErr(e *env, err error) {
	for _, line := range diag.Lines(err, e.cwd) {
		fmt.Fprintln(e.stderr, line)
	}
}

// interruptible is the context of a command that SIGINT and SIGTERM
// stop: its cause says which signal. A second signal kills at once.
func interruptible() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}

// interrupted is the failure of a command ctx stopped.
func interrupted(ctx context.Context) error { return &interruptError{context.Cause(ctx)} }

// interruptError is errInterrupted that says which signal.
type interruptError struct{ cause error }

func (i *interruptError) Error() string        { return i.cause.Error() }
func (i *interruptError) Is(target error) bool { return target == errInterrupted }
