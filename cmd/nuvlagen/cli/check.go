package cli

import (
	"fmt"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/generator/outdir"
)

func runCheck(e *env, args []string) error {
	var f siteFlags
	fs := f.flagSet("check")
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	if fs.NArg() > 0 {
		return e.usagef("nuvlagen check", "unexpected argument %q", fs.Arg(0))
	}
	if f.out == "" {
		return e.usagef("nuvlagen check", "--out must name a directory")
	}
	inputs, err := f.inputs(e)
	if err != nil {
		return err
	}
	ctx, stop := exit.Interruptible()
	defer stop()
	res, err := f.render(ctx, e, inputs)
	if err != nil {
		return err
	}
	if err := res.Err(); err != nil {
		return err
	}
	// The manifests are output like any other file. With no --site, the
	// whole output directory belongs to these sites (the embedded
	// examples, or every file of --sites).
	want := outdir.WithManifests(res.Files(), res.Names())
	drift, err := outdir.Compare(f.out, want, res.Names(), len(f.sites) == 0)
	if err != nil {
		return err
	}
	if err := drift.Write(e.stdout); err != nil {
		return err
	}
	if drift.Count > 0 {
		fmt.Fprintf(e.stderr, "nuvlagen check: %d difference(s) in %s from what generate writes; run \"nuvlagen generate\" (make generate) and commit the result\n", drift.Count, f.out)
		return exit.Findings
	}
	fmt.Fprintf(e.stdout, "%s is up to date (%d files)\n", f.out, drift.Files)
	return nil
}
