package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/outdir"
)

const generateDoc = `Usage: nuvlagen generate [--site FILE.cue]... [--sites DIR] [--out DIR] [--prune]

Render sites into DIR/<site>/: a compose file per stack with its
configuration files, deploy.sh and teardown.sh, prepare/<node>.sh for the
nodes, nfs/ on target sites (exports, NFS daemon ports), the site's
README, and .nuvlagen-manifest, the list of the files generate wrote (with
their sha256, as "sha256sum -c" reads it). Every compose file is loaded
back with compose-go and with the docker CLI's stack loader before anything
is written. With no --site or --sites, renders the example sites embedded
in nuvlagen.

A site file holds one site (its fields at top level) or several
(sites: <name>: {...}), which may share defaults by unification. Sites
render in parallel; every error of every site is reported.

Output is written atomically: each site's directory is replaced as a whole,
and if any site fails nothing is written at all, unless --keep-going, which
writes the sites that rendered and still exits 1. A site directory holding
a file generate did not write (one its manifest does not list or, without
a manifest, one without the generated header) is not replaced: generate
names the files, writes nothing and exits 1, unless --prune, which deletes
them.

SIGINT or SIGTERM stops the run: nothing is written, DIR stays as it was,
and the exit status is 130; a signal once the sites are being swapped in
comes too late, and the run finishes as usual. A run killed outright
leaves its staging directory DIR/.nuvlagen-stage-<pid>-...; the next
generate removes it once that process is gone.

Examples:
  nuvlagen generate                          # the embedded examples into out/
  nuvlagen generate --site prod.cue --out /srv/nuvla
  nuvlagen generate --sites sites/ --keep-going --quiet
`

type generateFlags struct {
	siteFlags
	keepGoing bool
	quiet     bool
	prune     bool
}

func (f *generateFlags) Bind(fs *pflag.FlagSet) {
	f.siteFlags.Bind(fs)
	fs.BoolVar(&f.keepGoing, "keep-going", false, "write the sites that render even if others fail (exit status is still 1)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "print nothing but errors")
	fs.BoolVar(&f.prune, "prune", false, "delete files in site directories that generate did not write")
}

func runGenerate(e *env, args []string) error {
	var f generateFlags
	fs := pflag.NewFlagSet("generate", pflag.ContinueOnError)
	f.Bind(fs)
	if err, ok := parseFlags(e, fs, generateDoc, args); !ok {
		return err
	}
	if fs.NArg() > 0 {
		return e.usagef("nuvlagen generate", "unexpected argument %q (site files go after --site)", fs.Arg(0))
	}
	if f.out == "" {
		return e.usagef("nuvlagen generate", "--out must name a directory")
	}
	inputs, readErr := f.inputs(e)
	if readErr != nil && !f.keepGoing {
		return readErr
	}
	// SIGINT and SIGTERM cancel ctx: the workers stop taking sites and
	// the writers stop writing, and only once they all have returned is
	// the staging directory removed.
	ctx, stop := interruptible()
	defer stop()
	stage, err := outdir.NewStager(ctx, f.out, f.prune)
	if err != nil {
		return err
	}
	if !f.quiet {
		for _, name := range stage.Removed {
			fmt.Fprintf(e.stderr, "nuvlagen generate: removed %s, the staging directory of an interrupted run\n", f.path(name))
		}
	}
	for _, err := range stage.Leftovers {
		fmt.Fprintf(e.stderr, "nuvlagen generate: warning: %v\n", err)
	}
	res, err := f.render(ctx, e, inputs, f.quiet, stage.Take)
	// Every writer has returned: render waits for its workers.
	if err == nil {
		err = stage.Err()
	}
	if err != nil {
		stage.Abort()
		return err
	}
	invalid := res.Err()
	if invalid != nil {
		e.report("nuvlagen generate", invalid)
		if !f.keepGoing {
			stage.Abort()
			return &printed{invalid}
		}
	}
	if !f.quiet {
		// Findings that do not stop generation: the firewall's fixes of
		// the seed's tables and rules that overlap.
		for _, w := range res.Warnings {
			printErr(e, w)
		}
	}
	// From here on a signal no longer stops the run: the swap is quick
	// and atomic per site, and stopping half-way would leave a mix.
	if err := stage.Commit(); err != nil {
		stage.Abort()
		return err
	}
	for _, p := range stage.Pruned {
		fmt.Fprintf(e.stderr, "nuvlagen generate: deleted %s (--prune: generate did not write it)\n", f.path(p))
	}
	if !f.quiet {
		for _, s := range res.Sites {
			fmt.Fprintf(e.stdout, "%s: %d stacks written to %s\n", s.Name, s.Stacks, f.path(s.Name))
		}
	}
	if invalid != nil {
		return &printed{invalid}
	}
	return readErr
}

// path names p, relative to the output directory, as the user named that.
func (f *siteFlags) path(p string) string {
	return filepath.ToSlash(filepath.Join(f.out, p))
}
