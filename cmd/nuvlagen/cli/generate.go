package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/pipeline"
)

const generateDoc = `Usage: nuvlagen generate [--site FILE.cue]... [--out DIR]

Render sites into DIR/<site>/: a compose file per stack with its
configuration files, and the site's README. Every compose file is loaded
back with compose-go and with the docker CLI's stack loader before anything
is written. With no --site, renders the example sites embedded in nuvlagen.

Output is written atomically: each site's directory is replaced as a whole,
and on any error nothing is written at all.

Examples:
  nuvlagen generate                          # the embedded examples into out/
  nuvlagen generate --site prod.cue --out /srv/nuvla
  nuvlagen generate --site a.cue --site b.cue
`

type generateFlags struct {
	sites []string
	out   string
}

func (f *generateFlags) Bind(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.sites, "site", nil, "site `file` to render (repeatable; default: the embedded examples)")
	fs.StringVar(&f.out, "out", "out", "output `directory`")
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
	sites, ok := loadSites(e, f.sites)
	if !ok {
		return ExitInvalid
	}
	files, err := pipeline.Render(sites)
	if err != nil {
		printErr(e, err)
		return ExitInvalid
	}
	for _, w := range pipeline.Warnings(sites) {
		printErr(e, w)
	}
	if err := writeSites(f.out, files); err != nil {
		fmt.Fprintf(e.stderr, "nuvlagen generate: %v\n", err)
		return ExitUsage
	}
	for _, s := range sites {
		fmt.Fprintf(e.stdout, "%s: %d stacks written to %s\n", s.Name, len(s.Stacks), displayName(e.cwd, joinPath(f.out, s.Name)))
	}
	return ExitOK
}
