package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/outdir"
)

const checkDoc = `Usage: nuvlagen check [--site FILE.cue]... [--sites DIR] [--out DIR]

Render the sites in memory and compare them with DIR/<site>/ on disk. Any
difference (a stale file, a hand edit, a missing or an extra file) is
printed as a unified diff, then explained as "nuvlagen diff" does, and
the exit status is 1. Nothing is written.
This is the gate behind "make check".

Examples:
  nuvlagen check                     # out/ against the embedded examples
  nuvlagen check --site prod.cue --out /srv/nuvla
`

func runCheck(e *env, args []string) error {
	var f siteFlags
	flags := pflag.NewFlagSet("check", pflag.ContinueOnError)
	f.Bind(flags)
	if err, ok := parseFlags(e, flags, checkDoc, args); !ok {
		return err
	}
	if flags.NArg() > 0 {
		return e.usagef("nuvlagen check", "unexpected argument %q", flags.Arg(0))
	}
	if f.out == "" {
		return e.usagef("nuvlagen check", "--out must name a directory")
	}
	inputs, err := f.inputs(e)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	res, err := f.render(ctx, e, inputs, false, nil)
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
		return &printed{errFindings}
	}
	fmt.Fprintf(e.stdout, "%s is up to date (%d files)\n", f.out, drift.Files)
	return nil
}
