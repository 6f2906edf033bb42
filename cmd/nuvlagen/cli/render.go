package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
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
// is chosen. Unreadable files are reported and make it return false.
func (f *siteFlags) inputs(e *env) ([]pipeline.Input, bool) {
	names := append([]string(nil), f.sites...)
	if f.dir != "" {
		matches, err := filepath.Glob(filepath.Join(f.dir, "*.cue"))
		if err != nil || len(matches) == 0 {
			fmt.Fprintf(e.stderr, "%s: no *.cue site files\n", f.dir)
			return nil, false
		}
		sort.Strings(matches)
		names = append(names, matches...)
	}
	if len(names) == 0 {
		var in []pipeline.Input
		for _, s := range nuvlacue.Sites() {
			in = append(in, pipeline.Input{Name: s.Name, Data: s.Data})
		}
		return in, true
	}
	var in []pipeline.Input
	ok := true
	for _, n := range names {
		// A site file is small: a FIFO or a device must not stall generate.
		data, err := readRegular(n, defaultMaxFileSize)
		if err != nil {
			fmt.Fprintln(e.stderr, fileError(n, err))
			ok = false
			continue
		}
		in = append(in, pipeline.Input{Name: displayName(e.cwd, n), Data: data})
	}
	return in, ok
}

// render renders inputs on f.jobs workers, with a progress bar when stderr
// is a terminal and quiet is off, and prints every error. take, if not
// nil, is given each input's result as it finishes (from a worker
// goroutine) and may consume its files. It returns the results and
// whether all of them succeeded.
//
// Once ctx is done no more inputs are started, and render returns, with
// false and without printing the errors, when the started ones have
// finished (and take has returned for them).
func (f *siteFlags) render(ctx context.Context, e *env, inputs []pipeline.Input, quiet bool, take func(int, *pipeline.Result)) ([]pipeline.Result, bool) {
	bar := newProgress(e.stderr, len(inputs), !quiet && isTerminal(e.stderr))
	results := pipeline.RenderInputsContext(ctx, inputs, f.jobs, func(i int, r *pipeline.Result) {
		if take != nil {
			take(i, r)
		}
		bar.inc()
	})
	bar.finish()
	if ctx.Err() != nil {
		return results, false
	}
	ok := true
	for _, r := range results {
		if r.Err != nil {
			printErr(e, r.Err)
			ok = false
		}
	}
	if err := pipeline.Duplicates(results); err != nil {
		printErr(e, err)
		ok = false
	}
	return results, ok
}

// goodFiles merges the files of every input that rendered; with dup
// names, the first input keeps the directory.
func goodFiles(results []pipeline.Result) (pipeline.Files, []pipeline.Rendered) {
	files := pipeline.Files{}
	var sites []pipeline.Rendered
	taken := map[string]bool{}
	for _, r := range results {
		for _, s := range r.Sites {
			if taken[s.Name] {
				continue
			}
			taken[s.Name] = true
			sites = append(sites, s)
			for p, b := range s.Files {
				files[p] = b
			}
		}
	}
	return files, sites
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
// named) into typed sites, in this goroutine, for commands that need the
// model itself rather than rendered files. Errors are printed.
func loadSites(e *env, files []string) ([]*site.Site, bool) {
	f := siteFlags{sites: files}
	inputs, ok := f.inputs(e)
	if !ok {
		return nil, false
	}
	l, err := site.NewLoader()
	if err != nil {
		fmt.Fprintf(e.stderr, "nuvlagen: %v\n", err)
		return nil, false
	}
	var all []*site.Site
	for _, in := range inputs {
		sites, err := l.Load(in.Name, in.Data)
		if err != nil {
			printErr(e, err)
			ok = false
			continue
		}
		all = append(all, sites...)
	}
	return all, ok
}
