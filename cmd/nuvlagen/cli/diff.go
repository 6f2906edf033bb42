package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/diff"
	"github.com/nuvla/nuvlagen/generator/gitrev"
	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/outdir"
	"github.com/nuvla/nuvlagen/generator/pipeline"
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
// reading no file larger than max.
func renderBase(e *env, f diffFlags, max int64) (old, new pipeline.Files, err error) {
	const prefix = "nuvlagen diff --base"
	fail := func(err error) (pipeline.Files, pipeline.Files, error) { return nil, nil, e.report(prefix, err) }
	rev := f.base
	repo, err := gitrev.Open(e.cwd)
	if err != nil {
		return fail(err)
	}
	if !repo.IsCommit(rev) {
		return fail(fmt.Errorf("%q is not a commit of this repository", rev))
	}
	names := append([]string(nil), f.sites...)
	if f.sitesDir != "" {
		// The directory's site files on either side: one only at rev is a
		// removed site, one only in the work tree an added one.
		set := map[string]bool{}
		matches, _ := filepath.Glob(filepath.Join(f.sitesDir, "*.cue"))
		for _, m := range matches {
			set[filepath.Clean(m)] = true
		}
		list, err := repo.List(rev, f.sitesDir)
		if err != nil {
			return fail(err)
		}
		for _, n := range list {
			if strings.HasSuffix(n, ".cue") {
				set[filepath.Clean(filepath.FromSlash(n))] = true
			}
		}
		if len(set) == 0 {
			return fail(fmt.Errorf("%s: no *.cue site files, at %s or in the work tree", f.sitesDir, rev))
		}
		for n := range set {
			names = append(names, n)
		}
		sort.Strings(names[len(f.sites):])
	}
	// The model at rev; the embedded one when the repository holds site
	// files only. One git archive reads it and the site files.
	var dirs []string
	if repo.HasDir(rev, nuvlacue.Dir) {
		dirs = []string{nuvlacue.Dir}
	}
	tree, err := repo.Export(rev, max, dirs, names)
	if err != nil {
		return fail(err)
	}
	newModel := filepath.Join(repo.Root, nuvlacue.Dir)
	if st, err := os.Stat(newModel); err != nil || !st.IsDir() {
		newModel = ""
	}
	if len(names) == 0 && dirs == nil && newModel == "" {
		return fail(fmt.Errorf("this repository has no %s/ model and no example sites: name site files with --site or --sites", nuvlacue.Dir))
	}
	ctx, stop := interruptible()
	defer stop()
	var oldModel, newModelFS fs.FS
	if dirs != nil {
		oldModel = tree.FS(nuvlacue.Dir)
	}
	if newModel != "" {
		newModelFS = inputfile.FS(newModel, e.cwd, max)
	}
	var oldInputs []pipeline.Input
	for _, n := range names {
		if b, ok := tree.File(n); ok {
			oldInputs = append(oldInputs, pipeline.Input{Name: inputfile.DisplayName(e.cwd, n), Data: b})
		}
	}
	old, err = renderModel(ctx, oldModel, names, oldInputs)
	if errors.Is(err, errInterrupted) {
		return fail(err)
	}
	if err != nil {
		// REV's model may need what REV's generator had, or lack what this
		// one requires. For the example sites, REV's committed output is
		// what REV's generator wrote (make check gates it): compare with
		// that, and say so.
		committed, cerr := repo.Committed(rev, "out", max)
		if len(names) > 0 || cerr != nil || len(committed) == 0 {
			fmt.Fprintf(e.stderr, "%s: rendering %s:\n", prefix, rev)
			printErr(e, err)
			return nil, nil, &printed{fmt.Errorf("rendering %s: %w", rev, errUsage)} // REV's, not the user's input
		}
		s, _, _ := strings.Cut(err.Error(), "\n")
		fmt.Fprintf(e.stderr, "%s: %s's model does not render with this nuvlagen (%s); comparing with the output committed in out/ at %s instead\n", prefix, rev, s, rev)
		old = committed
	}
	var newInputs []pipeline.Input
	var unreadable []error
	for _, n := range names {
		b, err := inputfile.Read(n, max)
		switch {
		case os.IsNotExist(err): // removed from the work tree
		case err != nil:
			unreadable = append(unreadable, errors.New(inputfile.Describe(n, err)))
		default:
			newInputs = append(newInputs, pipeline.Input{Name: inputfile.DisplayName(e.cwd, n), Data: b})
		}
	}
	if unreadable != nil {
		return fail(&badInput{errors.Join(unreadable...)})
	}
	new, err = renderModel(ctx, newModelFS, names, newInputs)
	var invalid *pipeline.InvalidError
	if errors.As(err, &invalid) {
		fmt.Fprintln(e.stderr, prefix+": rendering the work tree:")
	}
	if err != nil {
		return fail(err)
	}
	return old, new, nil
}

// renderModel renders inputs with the model in fsys (the embedded one
// when nil), or the model's example sites when no site file is named.
func renderModel(ctx context.Context, fsys fs.FS, names []string, inputs []pipeline.Input) (pipeline.Files, error) {
	schema, examples := nuvlacue.Schema(), nuvlacue.Sites()
	if fsys != nil {
		var err error
		if schema, examples, err = nuvlacue.Read(fsys); err != nil {
			return nil, err
		}
	}
	if len(names) == 0 {
		inputs = pipeline.Inputs(examples)
	}
	res, err := pipeline.Run(ctx, inputs, pipeline.Options{Jobs: runtime.GOMAXPROCS(0), Schema: schema})
	if err != nil {
		return nil, interrupted(ctx)
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	return res.Files(), nil
}
