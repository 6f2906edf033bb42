package cli

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/pipeline"
)

const generateDoc = `Usage: nuvlagen generate [--site FILE.cue]... [--sites DIR] [--out DIR]

Render sites into DIR/<site>/: a compose file per stack with its
configuration files, deploy.sh and teardown.sh, prepare/<node>.sh for the
nodes, nfs/ on target sites (exports, NFS daemon ports), and the site's
README. Every compose file is loaded
back with compose-go and with the docker CLI's stack loader before anything
is written. With no --site or --sites, renders the example sites embedded
in nuvlagen.

A site file holds one site (its fields at top level) or several
(sites: <name>: {...}), which may share defaults by unification. Sites
render in parallel; every error of every site is reported.

Output is written atomically: each site's directory is replaced as a whole,
and if any site fails nothing is written at all, unless --keep-going, which
writes the sites that rendered and still exits 1.

Examples:
  nuvlagen generate                          # the embedded examples into out/
  nuvlagen generate --site prod.cue --out /srv/nuvla
  nuvlagen generate --sites sites/ --keep-going --quiet
`

type generateFlags struct {
	siteFlags
	keepGoing bool
	quiet     bool
}

func (f *generateFlags) Bind(fs *pflag.FlagSet) {
	f.siteFlags.Bind(fs)
	fs.BoolVar(&f.keepGoing, "keep-going", false, "write the sites that render even if others fail (exit status is still 1)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "print nothing but errors")
}

func runGenerate(e *env, args []string) int {
	var f generateFlags
	fs := pflag.NewFlagSet("generate", pflag.ContinueOnError)
	f.Bind(fs)
	if code, ok := parseFlags(e, fs, generateDoc, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "nuvlagen generate: unexpected argument %q (site files go after --site)\n", fs.Arg(0))
		return ExitUsage
	}
	inputs, readOK := f.inputs(e)
	if !readOK && !f.keepGoing {
		return ExitInvalid
	}
	stage, err := newStager(f.out)
	if err != nil {
		fmt.Fprintf(e.stderr, "nuvlagen generate: %v\n", err)
		return ExitUsage
	}
	// An interrupted run leaves no staging directory behind.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	finished := make(chan struct{})
	defer func() {
		signal.Stop(sigs)
		close(finished)
	}()
	go func() {
		select {
		case <-sigs:
			stage.abort()
			os.Exit(130)
		case <-finished:
		}
	}()
	var stageErr error
	var mu sync.Mutex
	results, ok := f.render(e, inputs, f.quiet, func(i int, r *pipeline.Result) {
		for k := range r.Sites {
			s := &r.Sites[k]
			if err := stage.stage(i, s.Name, s.Files); err != nil {
				mu.Lock()
				stageErr = err
				mu.Unlock()
			}
			s.Files = nil // written: no need to hold it
		}
	})
	if stageErr != nil {
		stage.abort()
		fmt.Fprintf(e.stderr, "nuvlagen generate: %v\n", stageErr)
		return ExitUsage
	}
	ok = ok && readOK
	if !ok && !f.keepGoing {
		stage.abort()
		return ExitInvalid
	}
	_, sites := goodFiles(results)
	if !f.quiet {
		// Findings that do not stop generation: the firewall's fixes of
		// the seed's tables and rules that overlap.
		for _, s := range sites {
			for _, w := range s.Warnings {
				printErr(e, w)
			}
		}
	}
	if err := stage.commit(); err != nil {
		stage.abort()
		fmt.Fprintf(e.stderr, "nuvlagen generate: %v\n", err)
		return ExitUsage
	}
	if !f.quiet {
		for _, s := range sites {
			fmt.Fprintf(e.stdout, "%s: %d stacks written to %s\n", s.Name, s.Stacks, displayName(e.cwd, joinPath(f.out, s.Name)))
		}
	}
	if !ok {
		return ExitInvalid
	}
	return ExitOK
}
