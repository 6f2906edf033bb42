// Package generate writes rendered sites into an output directory: it
// runs the pipeline with outdir's stager taking each site as it renders,
// applies --keep-going, and swaps the sites in when they all rendered.
// It prints nothing: Result says what happened, for the CLI to print.
package generate

import (
	"context"
	"path/filepath"

	"cuelang.org/go/cue/errors"

	"github.com/nuvla/nuvlagen/generator/outdir"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

// Options are how Write renders and writes.
type Options struct {
	// Out is the output directory, as the user named it.
	Out string
	// Prune deletes files of site directories that generate did not write.
	Prune bool
	// KeepGoing writes the sites that rendered when others did not.
	KeepGoing bool
	// Jobs is the number of inputs rendered at once (at least 1).
	Jobs int
	// Done, if not nil, is called once per finished input.
	Done func(input int)
	// Companions is pipeline.Options.Companions: where the other sites
	// of an input's deployment may be.
	Companions func(pipeline.Input) []pipeline.Input
	// Build names this nuvlagen, for the sites' records
	// (pipeline.Options.Build).
	Build string
	// Full renders every site, even one whose record says nothing that
	// renders it changed since it was written.
	Full bool
	// Cache, when not "", is a directory of this machine's cache where
	// the stat data of intact sites are kept (outdir.NewIndex).
	Cache string
}

// Result is what Write did; each field is set only once Write got that
// far, so printing them all in order tells the run's story.
type Result struct {
	// Removed are the staging directories of killed runs removed first,
	// and Leftovers why others could not be (they do not stop the run).
	Removed   []string
	Leftovers []error
	// Invalid holds every error of the inputs that did not render (a
	// *pipeline.InvalidError), nil when all did. Without KeepGoing,
	// nothing is written then.
	Invalid error
	// Warnings are the findings that do not stop generation (the
	// firewall's fixes of the seed's tables, rules that overlap), of the
	// sites about to be written.
	Warnings []errors.Error
	// Pruned are the files deleted with Prune; Written, the sites
	// swapped in, in input order.
	Pruned  []string
	Written []Site
	// Unchanged are the sites left as they were: nothing that renders
	// them changed, and their directories hold what their records list.
	Unchanged []string
}

// Site is one site written.
type Site struct {
	Name   string
	Stacks int
	Dir    string // the site's directory, under Out as the user named it
	// Why is why a site written before was rendered again
	// (pipeline.Rendered.Why); "" for a new site, or with Full.
	Why string
}

// Write renders inputs and writes them into opts.Out, all or nothing
// (see outdir.Stager). Its error is a failure, or ctx's cause when ctx
// was done before the sites were being swapped in: then nothing is
// written. Inputs that do not render are no error, but Result.Invalid.
// The Result is nil only when the output directory cannot be prepared.
func Write(ctx context.Context, inputs []pipeline.Input, opts Options) (*Result, error) {
	stage, err := outdir.NewStager(ctx, opts.Out, opts.Prune)
	if err != nil {
		return nil, err
	}
	res := &Result{Leftovers: stage.Leftovers}
	for _, name := range stage.Removed {
		res.Removed = append(res.Removed, display(opts.Out, name))
	}
	// A picture whose graph did not change is taken from out/ as it is
	// rather than drawn again (pipeline.Options.Previous).
	// Once ctx is done the workers stop taking inputs and the stager stops
	// writing; Run returns when they all have, and only then does Abort
	// remove the staging directory.
	// A site whose record and files say it is what this run would write
	// is left as it is (pipeline.Options.Reuse), unless Full.
	index := outdir.NewIndex(opts.Out, opts.Cache)
	popts := pipeline.Options{Jobs: opts.Jobs, Take: stage.Take, Done: opts.Done, Companions: opts.Companions, Previous: outdir.Previous(opts.Out), Build: opts.Build}
	if !opts.Full {
		popts.Reuse = index
	}
	run, err := pipeline.Run(ctx, inputs, popts)
	if err == nil {
		err = stage.Err()
	}
	if err != nil {
		stage.Abort()
		return res, err
	}
	res.Invalid = run.Err()
	if res.Invalid != nil && !opts.KeepGoing {
		stage.Abort()
		return res, nil
	}
	res.Warnings = run.Warnings
	// From here on ctx no longer stops the run: the swap is quick and
	// atomic per site, and stopping half-way would leave a mix.
	if err := stage.Commit(); err != nil {
		stage.Abort()
		return res, err
	}
	for _, p := range stage.Pruned {
		res.Pruned = append(res.Pruned, display(opts.Out, p))
	}
	index.Written(stage.Staged())
	// The stamps only save hashing next time: losing them loses nothing.
	_ = index.Save()
	for _, s := range run.Sites {
		if s.Reused {
			res.Unchanged = append(res.Unchanged, s.Name)
			continue
		}
		res.Written = append(res.Written, Site{Name: s.Name, Stacks: s.Stacks, Dir: display(opts.Out, s.Name), Why: s.Why})
	}
	return res, nil
}

// display names p, relative to out, as the user named out.
func display(out, p string) string { return filepath.ToSlash(filepath.Join(out, p)) }
