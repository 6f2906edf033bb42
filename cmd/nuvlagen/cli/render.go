package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/buildinfo"
	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/progress"
	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/gcsetting"
	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/outdir"
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

// flagSet returns command name's flag set, with the site flags bound.
func (f *siteFlags) flagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.StringArrayVar(&f.sites, "site", nil, "site `file` to render (repeatable; default: the embedded examples)")
	fs.StringVar(&f.dir, "sites", "", "render every *.cue site file in `directory` as well")
	fs.StringVar(&f.out, "out", "out", "output `directory`")
	fs.IntVar(&f.jobs, "jobs", runtime.GOMAXPROCS(0), "sites rendered in parallel")
	return fs
}

// inputs reads the chosen site files, or the embedded examples when none
// is chosen. It returns the files it read and, when some could not be,
// an *inputfile.UnreadableError naming each (printed).
func (f *siteFlags) inputs(e *env) ([]pipeline.Input, error) {
	if len(f.sites) == 0 && f.dir == "" {
		return pipeline.Inputs(nuvlacue.Sites()), nil
	}
	files, err := inputfile.SiteFiles(e.cwd, f.sites, f.dir)
	if err != nil {
		err = e.report("", err)
	}
	return pipeline.Inputs(files), err
}

// bar is the progress bar of a run over inputs: drawn when stderr is a
// terminal and quiet is off.
func bar(e *env, inputs []pipeline.Input, quiet bool) *progress.Bar {
	return progress.New(e.stderr, len(inputs), !quiet && progress.IsTerminal(e.stderr))
}

// render runs the pipeline on f.jobs workers, with a progress bar,
// reusing what reuse holds (nil: rendering every site) and giving each
// site to take as it renders (pipeline.Options.Take). Once ctx is done
// it returns ctx's cause when the started inputs are done.
func (f *siteFlags) render(ctx context.Context, e *env, inputs []pipeline.Input, reuse pipeline.Outputs, take func(int, *pipeline.Rendered)) (*pipeline.Result, error) {
	defer gcsetting.Set(pipeline.GCPercent, pipeline.MemoryLimit)()
	b := bar(e, inputs, false)
	defer b.Finish()
	return pipeline.Run(ctx, inputs, pipeline.Options{Jobs: f.jobs, Done: func(int) { b.Inc() }, Companions: pipeline.Beside(e.cwd), Previous: outdir.Previous(f.out), Build: buildinfo.Identity(), Reuse: reuse, Take: take})
}

// cache is the directory of this machine's cache where generate and
// check keep the stat data of intact sites, "" when there is none.
func (e *env) cache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "nuvlagen")
}

// plural is "1 site", "2 sites".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// loadSites loads site files (or the embedded examples when none is
// named) into typed sites, for commands that need the model itself
// rather than rendered files. Errors are printed.
func loadSites(e *env, files []string) ([]*site.Site, error) {
	sites, _, err := loadLinked(e, files)
	return sites, err
}

// loadLinked is loadSites that also returns the sites of the files
// beside them that their deployments link in.
func loadLinked(e *env, files []string) (sites, linked []*site.Site, err error) {
	f := siteFlags{sites: files}
	inputs, err := f.inputs(e)
	if err != nil {
		return nil, nil, err
	}
	sites, linked, err = pipeline.LoadLinked(inputs, pipeline.Beside(e.cwd))
	if err != nil {
		return nil, nil, e.report("nuvlagen", err)
	}
	return sites, linked, nil
}
