package cli

import (
	"context"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/pflag"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/site"
)

// siteFlags are the flags that choose the sites a command renders.
type siteFlags struct {
	sites []string
	dir   string
	out   string
	jobs  int
}

func (f *siteFlags) Bind(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.sites, "site", nil, "site `file` to render (repeatable; default: the embedded examples)")
	fs.StringVar(&f.dir, "sites", "", "render every *.cue site file in `directory` as well")
	fs.StringVar(&f.out, "out", "out", "output `directory`")
	fs.IntVar(&f.jobs, "jobs", runtime.GOMAXPROCS(0), "sites rendered in parallel")
}

// inputs reads the chosen site files, or the embedded examples when none
// is chosen. It returns the files it read and, when some could not be,
// a *badInput naming each (printed).
func (f *siteFlags) inputs(e *env) ([]pipeline.Input, error) {
	if len(f.sites) == 0 && f.dir == "" {
		return pipeline.Inputs(nuvlacue.Sites()), nil
	}
	files, err := inputfile.SiteFiles(e.cwd, f.sites, f.dir)
	if err != nil {
		err = e.report("", &badInput{err})
	}
	return pipeline.Inputs(files), err
}

// companions gives the files where the host of a target may be: beside
// the target's file, or the other embedded examples.
func (f *siteFlags) companions(e *env) func(pipeline.Input) []pipeline.Input {
	if len(f.sites) == 0 && f.dir == "" {
		return func(pipeline.Input) []pipeline.Input { return pipeline.Inputs(nuvlacue.Sites()) }
	}
	return func(in pipeline.Input) []pipeline.Input { return pipeline.Inputs(inputfile.Beside(e.cwd, in.Name)) }
}

// render runs the pipeline on f.jobs workers, with a progress bar when
// stderr is a terminal and quiet is off. take is Options.Take. Once ctx
// is done it returns interrupted(ctx) when the started inputs are done.
func (f *siteFlags) render(ctx context.Context, e *env, inputs []pipeline.Input, quiet bool, take func(int, *pipeline.Rendered)) (*pipeline.Result, error) {
	bar := newProgress(e.stderr, len(inputs), !quiet && isTerminal(e.stderr))
	res, err := pipeline.Run(ctx, inputs, pipeline.Options{Jobs: f.jobs, Take: take, Done: func(int) { bar.inc() }, Companions: f.companions(e)})
	bar.finish()
	if err != nil {
		return nil, interrupted(ctx)
	}
	return res, nil
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && !strings.Contains(os.Getenv("TERM"), "dumb")
}

// loadSites loads site files (or the embedded examples when none is
// named) into typed sites, for commands that need the model itself
// rather than rendered files. Errors are printed.
func loadSites(e *env, files []string) ([]*site.Site, error) {
	f := siteFlags{sites: files}
	inputs, err := f.inputs(e)
	if err != nil {
		return nil, err
	}
	sites, err := pipeline.Load(inputs, f.companions(e))
	if err != nil {
		return nil, e.report("nuvlagen", err)
	}
	return sites, nil
}
