package cli

import (
	"fmt"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/buildinfo"
	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/generator/gcsetting"
	"github.com/nuvla/nuvlagen/generator/generate"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

func runGenerate(e *env, args []string) error {
	var f siteFlags
	var keepGoing, quiet, prune, full bool
	fs := f.flagSet("generate")
	fs.BoolVar(&full, "full", false, "render every site, also those unchanged since they were written")
	fs.BoolVar(&keepGoing, "keep-going", false, "write the sites that render even if others fail (exit status is still 1)")
	fs.BoolVarP(&quiet, "quiet", "q", false, "print nothing but errors")
	fs.BoolVar(&prune, "prune", false, "delete files in site directories that generate did not write")
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	const prefix = "nuvlagen generate"
	if fs.NArg() > 0 {
		return e.usagef(prefix, "unexpected argument %q (site files go after --site)", fs.Arg(0))
	}
	if f.out == "" {
		return e.usagef(prefix, "--out must name a directory")
	}
	inputs, readErr := f.inputs(e)
	if readErr != nil && !keepGoing {
		return readErr
	}
	// SIGINT and SIGTERM stop the run until the sites are being swapped in.
	ctx, stop := exit.Interruptible()
	defer stop()
	defer gcsetting.Set(pipeline.GCPercent, pipeline.MemoryLimit)()
	b := bar(e, inputs, quiet)
	res, err := generate.Write(ctx, inputs, generate.Options{Out: f.out, Prune: prune, KeepGoing: keepGoing, Jobs: f.jobs, Done: func(int) { b.Inc() }, Companions: pipeline.Beside(e.cwd), Build: buildinfo.Identity(), Full: full, Cache: e.cache()})
	b.Finish()
	if res == nil {
		return err
	}
	// Each field of res is set only once Write got that far.
	for _, dir := range res.Removed {
		if !quiet {
			fmt.Fprintf(e.stderr, "%s: removed %s, the staging directory of an interrupted run\n", prefix, dir)
		}
	}
	for _, err := range res.Leftovers {
		fmt.Fprintf(e.stderr, "%s: warning: %v\n", prefix, err)
	}
	if res.Invalid != nil {
		e.report(prefix, res.Invalid)
	}
	for _, w := range res.Warnings {
		if !quiet {
			exit.Lines(e.stderr, e.cwd, w)
		}
	}
	if err != nil {
		return err
	}
	for _, p := range res.Pruned {
		fmt.Fprintf(e.stderr, "%s: deleted %s (--prune: generate did not write it)\n", prefix, p)
	}
	for _, s := range res.Written {
		if quiet {
			break
		}
		why := ""
		if s.Why != "" {
			why = " (" + s.Why + ")"
		}
		fmt.Fprintf(e.stdout, "%s: %d stacks written to %s%s\n", s.Name, s.Stacks, s.Dir, why)
	}
	if n := len(res.Unchanged); n > 0 && !quiet {
		fmt.Fprintf(e.stdout, "%s: %s unchanged, %d rendered\n", prefix, plural(n, "site"), len(res.Written))
	}
	if res.Invalid != nil {
		return exit.Printed(res.Invalid)
	}
	return readErr
}
