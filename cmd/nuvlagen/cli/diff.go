package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/progress"
	"github.com/nuvla/nuvlagen/generator/diff"
	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/outdir"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/revdiff"
	"github.com/nuvla/nuvlagen/generator/shell"
)

func runDiff(e *env, args []string) error {
	var o revdiff.Options
	fs := pflag.NewFlagSet("diff", pflag.ContinueOnError)
	fs.StringVar(&o.Rev, "base", "", "render at git `revision` REV and at the work tree, and compare")
	fs.StringArrayVar(&o.Sites, "site", nil, "with --base: site `file` to render on both sides (repeatable; default: cue/sites/*.cue)")
	fs.StringVar(&o.SitesDir, "sites", "", "with --base: render every *.cue site file in `directory`, at REV and in the work tree")
	format := fs.String("format", "text", "output `format`: text, markdown or json")
	exitCode := fs.Bool("exit-code", false, "exit with status 1 when anything differs")
	colorFlag := fs.String("color", "auto", "colour text output: auto (on a terminal, unless NO_COLOR is set), always or never")
	maxChars := fs.Int("max-chars", diff.CommentChars, "with --format markdown: write at most `n` characters, leaving details out (0: no limit)")
	maxSize := inputfile.Size(inputfile.DefaultMax)
	fs.Var(&maxSize, "max-file-size", "largest `size` of a file read (e.g. 8MiB)")
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	if *maxChars < 0 {
		return e.usageErr("diff", "--max-chars %d: want 0 (no limit) or more", *maxChars)
	}
	if !slices.Contains(diff.Formats, *format) {
		return e.usageErr("diff", "unknown --format %q (want text, markdown or json)", *format)
	}
	color, err := progress.Colour(*colorFlag, e.stdout)
	if err != nil {
		return e.usageErr("diff", "%v", err)
	}
	o.Cwd, o.Max = e.cwd, int64(maxSize)
	var old, new pipeline.Files
	switch {
	case o.Rev != "":
		if fs.NArg() > 0 {
			return e.usageErr("diff", "with --base, no directories: got %q", fs.Arg(0))
		}
		if old, new, err = renderBase(e, o); err != nil {
			return err
		}
	case fs.NArg() != 2:
		return e.usageErr("diff", "want two directories, OLD and NEW (or --base REV), got %d arguments", fs.NArg())
	case len(o.Sites) > 0 || o.SitesDir != "":
		return e.usageErr("diff", "--site and --sites need --base")
	default:
		if old, err = outdir.ReadTree(fs.Arg(0), o.Max); err != nil {
			return err
		}
		if new, err = outdir.ReadTree(fs.Arg(1), o.Max); err != nil {
			return err
		}
	}
	r := diff.Compare(old, new)
	if *format == "markdown" {
		err = diff.WriteMarkdown(e.stdout, r, diff.Budget{Chars: *maxChars, Command: wholeDiff(o, fs.Args())})
	} else {
		err = diff.Write(e.stdout, r, *format, color)
	}
	if err != nil {
		return err
	}
	if *exitCode && !r.Empty() {
		return exit.Findings
	}
	return nil
}

// wholeDiff is the command that shows the whole report a Markdown one
// left details out of: the same comparison, as text.
func wholeDiff(o revdiff.Options, dirs []string) string {
	args := []string{"nuvlagen", "diff"}
	if o.Rev != "" {
		args = append(args, "--base", o.Rev)
		for _, s := range o.Sites {
			args = append(args, "--site", s)
		}
		if o.SitesDir != "" {
			args = append(args, "--sites", o.SitesDir)
		}
	}
	args = append(args, dirs...)
	for i, a := range args {
		if q, err := shell.Quote(a); err == nil {
			args[i] = q
		}
	}
	return strings.Join(args, " ")
}

// renderBase renders the sites at revision o.Rev and in the work tree,
// and prints why when it cannot.
func renderBase(e *env, o revdiff.Options) (old, new pipeline.Files, err error) {
	const prefix = "nuvlagen diff --base"
	ctx, stop := exit.Interruptible()
	defer stop()
	sides, err := revdiff.Render(ctx, o)
	var rev *revdiff.RevError
	var tree *revdiff.WorkTreeError
	var unreadable *inputfile.UnreadableError
	switch {
	case ctx.Err() != nil:
		return nil, nil, e.report(prefix, context.Cause(ctx))
	case errors.As(err, &unreadable):
		return nil, nil, e.report(prefix, unreadable)
	case errors.As(err, &tree):
		fmt.Fprintln(e.stderr, prefix+": rendering the work tree:")
		return nil, nil, e.report(prefix, tree.Err)
	case errors.As(err, &rev):
		fmt.Fprintf(e.stderr, "%s: rendering %s:\n", prefix, rev.Rev)
		e.report(prefix, rev.Err)
		return nil, nil, exit.Printed(err) // REV's, not the user's input: status 2
	case err != nil:
		return nil, nil, e.report(prefix, err)
	}
	if sides.Note != "" {
		fmt.Fprintf(e.stderr, "%s: %s\n", prefix, sides.Note)
	}
	return sides.Old, sides.New, nil
}
