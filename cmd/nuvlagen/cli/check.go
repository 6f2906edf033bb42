package cli

import (
	"fmt"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/generator/outdir"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

func runCheck(e *env, args []string) error {
	var f siteFlags
	var full bool
	fs := f.flagSet("check")
	fs.BoolVar(&full, "full", false, "render every site, also those whose records and files say they are unchanged")
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
	// A site whose record says nothing that renders it changed, and whose
	// files are those its manifest lists, is verified so, not rendered.
	index := outdir.NewIndex(f.out, e.cache())
	var reuse pipeline.Outputs
	if !full {
		reuse = index
	}
	// Each rendered site is compared with out/ as it comes, and kept only
	// when it differs.
	checker := outdir.NewChecker(f.out)
	res, err := f.render(ctx, e, inputs, reuse, checker.Take)
	if err != nil {
		return err
	}
	if err := res.Err(); err != nil {
		return err
	}
	_ = index.Save() // stamps only save hashing next time
	// The manifests are output like any other file. With no --site, the
	// whole output directory belongs to these sites (the embedded
	// examples, or every file of --sites).
	var rendered, reused []string
	files := 0
	for _, s := range res.Sites {
		if s.Reused {
			reused = append(reused, s.Name)
			files += index.Files(s.Name)
		} else {
			rendered = append(rendered, s.Name)
		}
	}
	drift, err := checker.Drift(rendered, reused, len(f.sites) == 0)
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
	if len(reused) > 0 {
		fmt.Fprintf(e.stdout, "%s is up to date (%d files; %s unchanged, %d rendered)\n", f.out, drift.Files+files, plural(len(reused), "site"), len(rendered))
		return nil
	}
	fmt.Fprintf(e.stdout, "%s is up to date (%d files)\n", f.out, drift.Files)
	return nil
}
