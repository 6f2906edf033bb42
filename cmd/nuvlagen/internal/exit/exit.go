// Package exit is how a nuvlagen command ends: its exit statuses, the
// failures a command returns, the signals that stop it, and Status, which
// maps the failures to the statuses: the one place that does.
package exit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/outdir"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

// Exit statuses, the same for every command.
const (
	OK      = 0 // success
	Invalid = 1 // invalid input, or findings (drift, blocked traffic)
	Usage   = 2 // bad command line, or an internal failure
	// Interrupted: a signal stopped the command (generate, check,
	// diff --base), which wrote nothing.
	Interrupted = 130
)

// printed is a failure the command has printed already.
type printed struct{ err error }

func (p *printed) Error() string { return p.err.Error() }
func (p *printed) Unwrap() error { return p.err }

// Printed marks err as printed by the command already, so that it is not
// printed again; its status is err's.
func Printed(err error) error { return &printed{err} }

// IsPrinted reports whether err is marked Printed.
func IsPrinted(err error) bool {
	var p *printed
	return errors.As(err, &p)
}

// The failures a command returns once it has printed what they are.
var (
	Findings = Printed(errors.New("findings"))    // status Invalid
	UsageErr = Printed(errors.New("usage error")) // status Usage
)

// Status maps the error a command returns to its exit status. A signal
// (see Interruptible) is an error that is context.Canceled.
func Status(err error) int {
	var invalid *pipeline.InvalidError
	var unreadable *inputfile.UnreadableError // a site file: the user's input
	var foreign *outdir.ForeignFilesError
	switch {
	case err == nil:
		return OK
	case errors.Is(err, context.Canceled):
		return Interrupted
	case errors.Is(err, UsageErr):
		return Usage
	case errors.Is(err, Findings), errors.As(err, &invalid), errors.As(err, &unreadable),
		errors.As(err, &foreign): // what is in the way is input, not a failure
		return Invalid
	}
	return Usage // an internal failure, or a file refused
}

// Interruptible is the context of a command that SIGINT and SIGTERM
// stop: its cause says which signal, and is context.Canceled. A second
// signal kills at once.
func Interruptible() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}

// Report prints err to w: positioned errors one per line (paths relative
// to cwd), others after prefix; it returns err, printed.
func Report(w io.Writer, cwd, prefix string, err error) error {
	var invalid *pipeline.InvalidError
	var unreadable *inputfile.UnreadableError
	switch {
	case errors.As(err, &invalid):
		for _, err := range invalid.Errs {
			Lines(w, cwd, err)
		}
	case errors.As(err, &unreadable):
		fmt.Fprintln(w, unreadable)
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(w, "%s: %v: stopped, nothing written\n", prefix, err)
	default:
		fmt.Fprintf(w, "%s: %v\n", prefix, err)
	}
	return Printed(err)
}

// Lines prints err's positioned lines, paths relative to cwd.
func Lines(w io.Writer, cwd string, err error) {
	for _, line := range diag.Lines(err, cwd) {
		fmt.Fprintln(w, line)
	}
}

// UsageError prints a usage error of command name (with where to look
// for help, when help is set; name is then a command's, else a prefix)
// and returns the usage status's error.
func UsageError(w io.Writer, name string, help bool, format string, a ...any) error {
	if help {
		fmt.Fprintf(w, "nuvlagen %s: %s\nRun \"nuvlagen help %s\" for usage.\n", name, fmt.Sprintf(format, a...), name)
	} else {
		fmt.Fprintf(w, "%s: %s\n", name, fmt.Sprintf(format, a...))
	}
	return UsageErr
}
