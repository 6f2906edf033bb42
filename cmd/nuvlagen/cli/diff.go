package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/diff"
	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/outdir"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/revdiff"
)

const diffDoc = `Usage: nuvlagen diff [flags] OLD NEW
       nuvlagen diff --base REV [--site FILE.cue]... [--sites DIR] [flags]

Explain what a change does to generated output, in words a reviewer reads
in a minute: services added or removed, image and tag changes, replicas,
placement, networks, published ports, environment (secret-looking values
masked), Traefik routers, secrets, configs and volumes of compose files;
rules of firewall/PORTS.md; clients of NFS exports; other YAML as data;
anything else as a unified diff. A risk summary comes first: new exposure
to users or anywhere, newly published ports, removed NFS clients, image
downgrades, renamed networks (and whether every reference moved).

With two directories, compares the generated output they hold (out/ of
two checkouts, say). With --base, renders the sites twice: with the model
(cue/) and site files of git revision REV, and with those of the work
tree; the same generator renders both. A repository without cue/ (site
files only) is rendered with the model built into nuvlagen. Without
--site or --sites, the example sites of cue/sites/ on each side.

Nothing differs: no output at all, exit status 0.

Only regular files are read, of at most --max-file-size (4MiB unless
set): a FIFO, device or socket in OLD or NEW, or a site, model or out/
file at REV that is not a regular file or is larger, is an error. Files
nested deeper than 100 levels, and compose files with a mapping of over
1,000 keys or a command of over 16KiB, are shown as text, with a note.

Formats: text (coloured on a terminal; see --color), markdown (a pull
request comment: the risks, a table per site, details in collapsible
sections) and json.

When REV's model does not render with this nuvlagen (a change that
needs new fields of the model together with the generator's support for
them), the example sites are compared with the output committed in out/
at REV instead, and a note says so on standard error.

Exit status: 0 compared (and, with --exit-code, nothing differs); 1 with
--exit-code when something differs, or when a site file of the work tree
is invalid or cannot be read; 2 usage error or internal failure (REV's
model does not load); 130 stopped by SIGINT or SIGTERM.

Examples:
  nuvlagen diff old-out/ out/
  nuvlagen diff --base origin/main --format markdown > comment.md
  nuvlagen diff --base HEAD~1 --site prod.cue --exit-code
  nuvlagen diff --base main --sites sites/ --format markdown
`

type diffFlags struct {
	base     string
	sites    []string
	sitesDir string
	format   string
	exitCode bool
	color    string
	maxSize  inputfile.Size
}

func (f *diffFlags) Bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.base, "base", "", "render at git `revision` REV and at the work tree, and compare")
	fs.StringArrayVar(&f.sites, "site", nil, "with --base: site `file` to render on both sides (repeatable; default: cue/sites/*.cue)")
	fs.StringVar(&f.sitesDir, "sites", "", "with --base: render every *.cue site file in `directory`, at REV and in the work tree")
	fs.StringVar(&f.format, "format", "text", "output `format`: text, markdown or json")
	fs.BoolVar(&f.exitCode, "exit-code", false, "exit with status 1 when anything differs")
	fs.StringVar(&f.color, "color", "auto", "colour text output: auto (on a terminal, unless NO_COLOR is set), always or never")
	f.maxSize = inputfile.DefaultMax
	fs.Var(&f.maxSize, "max-file-size", "largest `size` of a file read (e.g. 8MiB)")
}

func runDiff(e *env, args []string) error {
	var f diffFlags
	flags := pflag.NewFlagSet("diff", pflag.ContinueOnError)
	f.Bind(flags)
	if err, ok := parseFlags(e, flags, diffDoc, args); !ok {
		return err
	}
	switch f.format {
	case "text", "markdown", "json":
	default:
		return e.usageErr("diff", "unknown --format %q (want text, markdown or json)", f.format)
	}
	var color bool
	switch f.color {
	case "auto":
		color = isTerminal(e.stdout) && os.Getenv("NO_COLOR") == ""
	case "always":
		color = true
	case "never":
	default:
		return e.usageErr("diff", "unknown --color %q (want auto, always or never)", f.color)
	}
	max := int64(f.maxSize)
	var old, new pipeline.Files
	var err error
	switch {
	case f.base != "":
		if flags.NArg() > 0 {
			return e.usageErr("diff", "with --base, no directories: got %q", flags.Arg(0))
		}
		if old, new, err = renderBase(e, f, max); err != nil {
			return err
		}
	default:
		if flags.NArg() != 2 {
			return e.usageErr("diff", "want two directories, OLD and NEW (or --base REV), got %d arguments", flags.NArg())
		}
		if len(f.sites) > 0 || f.sitesDir != "" {
			return e.usageErr("diff", "--site and --sites need --base")
		}
		if old, err = outdir.ReadTree(flags.Arg(0), max); err != nil {
			return err
		}
		if new, err = outdir.ReadTree(flags.Arg(1), max); err != nil {
			return err
		}
	}
	r := diff.Compare(old, new)
	if err := diff.Write(e.stdout, r, f.format, color); err != nil {
		return err
	}
	if f.exitCode && !r.Empty() {
		return &printed{errFindings}
	}
	return nil
}

// renderBase renders the sites at revision f.base and in the work tree,
// and prints why when it cannot.
func renderBase(e *env, f diffFlags, max int64) (old, new pipeline.Files, err error) {
	const prefix = "nuvlagen diff --base"
	ctx, stop := interruptible()
	defer stop()
	sides, err := revdiff.Render(ctx, revdiff.Options{Cwd: e.cwd, Rev: f.base, Sites: f.sites, SitesDir: f.sitesDir, Max: max})
	var rev *revdiff.RevError
	var tree *revdiff.WorkTreeError
	var unreadable *inputfile.UnreadableError
	switch {
	case ctx.Err() != nil:
		return nil, nil, e.report(prefix, interrupted(ctx))
	case errors.As(err, &unreadable):
		return nil, nil, e.report(prefix, &badInput{unreadable})
	case errors.As(err, &tree):
		fmt.Fprintln(e.stderr, prefix+": rendering the work tree:")
		return nil, nil, e.report(prefix, tree.Err)
	case errors.As(err, &rev):
		fmt.Fprintf(e.stderr, "%s: rendering %s:\n", prefix, rev.Rev)
		e.report(prefix, rev.Err)
		return nil, nil, &printed{err} // REV's, not the user's input: status 2
	case err != nil:
		return nil, nil, e.report(prefix, err)
	}
	if sides.Note != "" {
		fmt.Fprintf(e.stderr, "%s: %s\n", prefix, sides.Note)
	}
	return sides.Old, sides.New, nil
}
