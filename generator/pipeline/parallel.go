package pipeline

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/stackcheck"
)

// Input is one site file to render.
type Input struct {
	// Name is the file's name as shown in positions and headers.
	Name string
	Data []byte
	// Path is the file's path on disk, when it was read from one.
	Path string
}

// Inputs returns model files (the embedded examples, say) as inputs.
func Inputs(files []nuvlacue.File) []Input {
	in := make([]Input, len(files))
	for i, f := range files {
		in[i] = Input{Name: f.Name, Data: f.Data, Path: f.Path}
	}
	return in
}

// Load loads inputs into typed sites, with the embedded model, for
// commands that need the model itself rather than rendered files, and
// links the sites of deployments (looking a target's host up among its
// input's companions, when companions is not nil; those are not
// returned). Any error is an *InvalidError holding every one.
func Load(inputs []Input, companions func(Input) []Input) ([]*site.Site, error) {
	sites, _, err := LoadLinked(inputs, companions)
	return sites, err
}

// LoadLinked is Load that also returns the companions' sites the inputs'
// sites linked with: a target's host found beside it, and that host's
// other targets, or a host's targets. Those are the rest of the inputs'
// deployments, for commands that act on a whole deployment (secrets
// init: one CA signs every site of it).
func LoadLinked(inputs []Input, companions func(Input) []Input) (sites, linked []*site.Site, err error) {
	l, err := site.NewLoader()
	if err != nil {
		return nil, nil, err
	}
	loaded := map[int][]*site.Site{}
	var errs []error
	for i, in := range inputs {
		sites, err := l.Load(in.Name, in.Data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		loaded[i] = sites
	}
	if errs != nil {
		return nil, nil, &InvalidError{Errs: errs}
	}
	linkErrs, extra := link(l, site.NewLoader, runtime.GOMAXPROCS(0), inputs, loaded, nil, companions)
	var all []*site.Site
	for i := range inputs {
		if err := linkErrs[i]; err != nil {
			errs = append(errs, err)
		}
		all = append(all, loaded[i]...)
	}
	if errs != nil {
		return nil, nil, &InvalidError{Errs: errs}
	}
	return all, extra, nil
}

// Rendered is one rendered site.
type Rendered struct {
	Name   string
	Stacks int
	// Files are relative to the output directory (prefixed with the site's name).
	Files Files
	// Warnings are findings that do not stop generation, positioned.
	Warnings []errors.Error
	// Record is what rendered it, for its manifest.
	Record Record
	// Reused says the site was not rendered: the output directory holds
	// it as its record says (Options.Reuse), and Files is nil.
	Reused bool
	// Why is why a site written before was rendered again (the Why
	// constants, or how its directory changed); "" for a site reused,
	// not written before, or rendered in a run without Options.Reuse.
	Why string
}

// Options are how Run renders.
type Options struct {
	// Jobs is the number of inputs rendered at once (at least 1).
	Jobs int
	// Schema is the model the inputs are loaded against: the files of
	// nuvlacue.Read. Nil: the model embedded in nuvlagen.
	Schema []nuvlacue.File
	// Take, if not nil, is given each site as soon as its input has
	// rendered, with the input's index, from the goroutine that rendered
	// it. It may take the files and clear them (Rendered.Files), so that
	// a run over many sites need not hold all of their files at once. It
	// is called for every site of every input that rendered, duplicates
	// too.
	Take func(input int, s *Rendered)
	// Done, if not nil, is called once per finished input, after Take:
	// from the worker's goroutine, or, for the sites of deployments
	// (rendered once every input is loaded), from one of the goroutines
	// that render them, or Run's. Take and Done may be called
	// concurrently, in any order of inputs.
	Done func(input int)
	// Previous, if not nil, gives what a previous run wrote (the output
	// directory's files generate wrote): a site's picture is reused from
	// it when its graph is the same, instead of drawn again.
	Previous Previous
	// Companions, if not nil, gives the files beside an input, where the
	// host site of a target it holds may be when no input defines it:
	// loaded to link the target, not rendered.
	Companions func(Input) []Input
	// Build names the nuvlagen that renders, for the sites' records: a
	// release's version, or a revision's from a clean work tree; empty
	// for a development build, which records DevelBuild and reuses
	// nothing.
	Build string
	// Reuse, if not nil, is what a previous run wrote: an input whose
	// sites it holds, recorded with this input, model and Build, and
	// unchanged since, is not loaded and its sites are Reused (Take still
	// gets them). The files holding deployments' sites are reused all
	// together or not at all (Record.Deployment).
	Reuse Outputs
}

// build is what the sites' records name as their nuvlagen.
func (o Options) build() string {
	if o.Build == "" {
		return DevelBuild
	}
	return o.Build
}

// Result is what a run produced.
type Result struct {
	// Sites are the sites that rendered, in input order. Of sites of
	// different inputs sharing a name, which would overwrite each other's
	// directory, the first input's is kept and the later ones are errors.
	Sites []Rendered
	// Warnings are the findings of those sites that do not stop
	// generation, positioned.
	Warnings []errors.Error
	// Errors are every error of every input, in input order (an input
	// with an error contributes no site), then the duplicate names.
	Errors []error
}

// Files merges the files of every site.
func (r *Result) Files() Files {
	files := Files{}
	for _, s := range r.Sites {
		for p, b := range s.Files {
			files[p] = b
		}
	}
	return files
}

// Names returns the names of the sites, in order.
func (r *Result) Names() []string {
	names := make([]string, len(r.Sites))
	for i, s := range r.Sites {
		names[i] = s.Name
	}
	return names
}

// Err is nil when every input rendered, and otherwise an *InvalidError
// holding every error.
func (r *Result) Err() error {
	if len(r.Errors) == 0 {
		return nil
	}
	return &InvalidError{Errs: r.Errors}
}

// InvalidError is the error of a run whose inputs did not all render:
// invalid input, not a failure of nuvlagen.
type InvalidError struct{ Errs []error }

func (e *InvalidError) Error() string {
	var list errors.Error
	for _, err := range e.Errs {
		list = errors.Append(list, errors.Promote(err, ""))
	}
	return list.Error()
}

// Unwrap returns the errors, each of one input.
func (e *InvalidError) Unwrap() []error { return e.Errs }

// Run loads and renders inputs on up to opts.Jobs goroutines, reporting
// every error of every input. CUE values are not safe for concurrent use,
// so each worker compiles the model for itself, when it first loads a
// file (a run that reuses every site compiles nothing), and reuses it for
// the files it takes, compiling it afresh every loaderReuse files: a CUE
// context keeps every value it evaluated, so a long run would otherwise
// grow with the number of sites.
//
// Once ctx is done no more inputs are started, and Run returns, with
// ctx's cause, when the started ones have finished (and Take and Done
// have returned for them): no callback runs after Run returns.
func Run(ctx context.Context, inputs []Input, opts Options) (*Result, error) {
	newLoader := site.NewLoader
	model := embeddedModelSum
	if opts.Schema != nil {
		newLoader = func() (*site.Loader, error) { return site.NewLoaderFromFiles(opts.Schema) }
		model = sync.OnceValue(func() string { return modelSum(opts.Schema) })
	}
	// A model that does not compile is one error, not one per input.
	var modelErr error
	var modelOnce, prepareOnce, spareOnce sync.Once
	// spare is a loader compiled beside the first model when a core would
	// otherwise idle (fewer inputs than Jobs) and linking may load the
	// files beside the inputs: a target's host and the host's other
	// targets then load at once, one on the workers' loader and one on
	// this, which need not be compiled in front of it.
	var spareMu sync.Mutex
	var spare chan *site.Loader
	wantSpare := opts.Companions != nil && len(inputs) < max(opts.Jobs, 1)
	compile := func() (*site.Loader, error) {
		// The compose schemas compile in the background beside the first
		// model, which a run that reuses every site never compiles.
		prepareOnce.Do(stackcheck.Prepare)
		if wantSpare {
			spareOnce.Do(func() {
				ch := make(chan *site.Loader, 1)
				go func() {
					l, err := newLoader()
					if err != nil {
						l = nil // the first model's error is the one reported
					}
					ch <- l
				}()
				spareMu.Lock()
				spare = ch
				spareMu.Unlock()
			})
		}
		l, err := newLoader()
		if err != nil {
			modelOnce.Do(func() { modelErr = err })
		}
		return l, err
	}
	results := make([]inputResult, len(inputs))
	var mu sync.Mutex
	heldSites := map[int][]*site.Site{}
	heldBy := map[int]*site.Loader{} // the loader, so the CUE context, of each held input
	reused := map[int]bool{}         // inputs whose sites are reused, delivered last
	heldReuse := map[int]bool{}      // of those, the deployments' files
	why := make([]string, len(inputs))
	deliver := func(i int) {
		if opts.Take != nil {
			for k := range results[i].sites {
				opts.Take(i, &results[i].sites[k])
			}
		}
		if opts.Done != nil {
			opts.Done(i)
		}
	}
	// load loads input i and, unless it must wait for the others (held),
	// renders it.
	load := func(l *site.Loader, i int) (ok bool) {
		sites, err := l.Load(inputs[i].Name, inputs[i].Data)
		switch {
		case err != nil:
			results[i] = inputResult{err: err}
		case held(sites):
			mu.Lock()
			heldSites[i], heldBy[i] = sites, l
			mu.Unlock()
			return false
		default:
			results[i] = renderSites(sites, opts.Previous, recordOf(opts, model, inputs[i], sites, why[i]))
		}
		return true
	}
	workers := min(max(opts.Jobs, 1), len(inputs))
	next := make(chan int)
	var wg sync.WaitGroup
	// idle is a worker's loader once the workers are done, for what is
	// loaded after them (linking's files beside the inputs, duplicates,
	// deployments touched): compiling the model again for it was a
	// tenth of a one-site run, in front of the linking.
	var idle *site.Loader
	for range workers {
		wg.Go(func() {
			var l *site.Loader
			var err error
			used := 0
			defer func() {
				if l != nil && err == nil {
					mu.Lock()
					idle = l
					mu.Unlock()
				}
			}()
			for i := range next {
				if opts.Reuse != nil {
					want := Record{Nuvlagen: opts.build(), Model: model(), Input: inputs[i].Name, Sum: sum(inputs[i].Data)}
					sites, w := reuse(opts.Reuse, inputs[i], want)
					if sites != nil {
						results[i] = inputResult{sites: sites}
						mu.Lock()
						reused[i] = true
						if sites[0].Record.Deployment != "" {
							heldReuse[i] = true
						}
						mu.Unlock()
						continue
					}
					// A deployment's file that changed takes its deployment
					// with it: the others' recorded deployment then lacks
					// it (deploymentsTouched).
					why[i] = w
				}
				if l == nil || used == loaderReuse {
					l, err = compile()
					used = 0
				}
				used++
				if err != nil {
					results[i] = inputResult{err: err}
				} else if !load(l, i) {
					continue
				}
				deliver(i)
			}
		})
	}
feed:
	for i := range inputs {
		if ctx.Err() == nil {
			select {
			case next <- i:
				continue
			case <-ctx.Done():
			}
		}
		break feed
	}
	close(next)
	wg.Wait()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if modelErr != nil {
		return &Result{Errors: []error{modelErr}}, nil
	}
	l := idle
	loader := func() (*site.Loader, error) {
		var err error
		if l == nil {
			l, err = compile()
		}
		return l, err
	}
	// A reused input sharing a site's name with another input is loaded
	// after all, so that the duplicate is reported where it is defined.
	if dups := reusedDuplicates(results, heldSites, reused); len(dups) > 0 {
		l, err := loader()
		if err != nil {
			return &Result{Errors: []error{err}}, nil
		}
		for _, i := range dups {
			delete(reused, i)
			why[i] = WhyDuplicate
			if load(l, i) {
				deliver(i)
			}
		}
	}
	// A deployment's files are reused all together, when none of them
	// changed, no loaded site joins or leaves it, and the files beside
	// them that linking reads are those it read; the others' are loaded
	// and rendered with the deployments' sites that were (below).
	for {
		touched := deploymentsTouched(inputs, results, heldSites, reused, heldReuse, opts.Companions)
		if len(touched) == 0 {
			break
		}
		l, err := loader()
		if err != nil {
			return &Result{Errors: []error{err}}, nil
		}
		for _, i := range touched {
			delete(reused, i)
			delete(heldReuse, i)
			why[i] = WhyDeployment
			if load(l, i) {
				deliver(i)
			}
		}
	}
	for _, i := range slices.Sorted(maps.Keys(reused)) {
		deliver(i)
	}
	if len(heldSites) > 0 {
		// The sites of deployments, linked now that every input is
		// loaded, then rendered (below).
		l, err := loader()
		if err != nil {
			return nil, err
		}
		taken := map[string]bool{}
		for i := range heldReuse {
			for _, s := range results[i].sites {
				taken[s.Name] = true
			}
		}
		more := func() (*site.Loader, error) {
			spareMu.Lock()
			ch := spare
			spare = nil
			spareMu.Unlock()
			if ch != nil {
				if l := <-ch; l != nil {
					return l, nil
				}
			}
			return newLoader()
		}
		linkErrs, extra := link(l, more, opts.Jobs, inputs, heldSites, taken, opts.Companions)
		// What each deployment's sites were rendered from, for their
		// records: its held inputs, and the files beside those that
		// linking looked through (link's own rule).
		names := map[string]bool{}
		for _, sites := range heldSites {
			for _, s := range sites {
				names[s.Name] = true
			}
		}
		beside := map[int]bool{}
		for i, sites := range heldSites {
			beside[i] = opts.Companions != nil && wantsCompanions(sites, names)
		}
		group, hosts := deploymentSums(inputs, heldSites, extra, beside, opts.Companions)
		render := func(i int) {
			if err := linkErrs[i]; err != nil {
				results[i] = inputResult{err: err}
			} else {
				rec := recordOf(opts, model, inputs[i], heldSites[i], why[i])
				results[i] = renderSites(heldSites[i], opts.Previous, func(r *Rendered) {
					rec(r)
					r.Record.Deployment, r.Record.Hosts, r.Record.Beside = group[i], hosts[i], beside[i]
				})
			}
			deliver(i)
		}
		// Rendering looks positions up in the sites' CUE values, and a
		// context is not safe for concurrent use: the inputs one loader
		// loaded render one after the other, the loaders' groups in
		// parallel (before, every deployment's site rendered on one
		// goroutine: a fleet of deployments used one core).
		byLoader := map[*site.Loader][]int{}
		var loaders []*site.Loader
		for _, i := range slices.Sorted(maps.Keys(heldSites)) {
			if _, ok := byLoader[heldBy[i]]; !ok {
				loaders = append(loaders, heldBy[i])
			}
			byLoader[heldBy[i]] = append(byLoader[heldBy[i]], i)
		}
		groups := make(chan []int)
		var rendering sync.WaitGroup
		for range min(max(opts.Jobs, 1), len(loaders)) {
			rendering.Go(func() {
				for g := range groups {
					for _, i := range g {
						if ctx.Err() != nil {
							break
						}
						render(i)
					}
				}
			})
		}
		for _, by := range loaders {
			if ctx.Err() != nil {
				break
			}
			groups <- byLoader[by]
		}
		close(groups)
		rendering.Wait()
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
	}
	// Where an input defines a site is looked up only for a duplicate's
	// error: by loading the input again, since by now its values are
	// gone, and a position costs a good part of a render to look up.
	namePos := func(i int, name string) token.Pos {
		l, err := newLoader()
		if err != nil {
			return token.NoPos
		}
		sites, err := l.Load(inputs[i].Name, inputs[i].Data)
		if err != nil {
			return token.NoPos
		}
		for _, s := range sites {
			if s.Name == name {
				return s.Pos("name")
			}
		}
		return token.NoPos
	}
	return collect(inputs, results, namePos), nil
}

// recordOf is the record of the sites of input in, and why they were
// rendered again.
func recordOf(opts Options, model func() string, in Input, sites []*site.Site, why string) func(*Rendered) {
	r := Record{Nuvlagen: opts.build(), Model: model(), Input: in.Name, Sum: sum(in.Data)}
	for _, s := range sites {
		r.Sites = append(r.Sites, s.Name)
	}
	slices.Sort(r.Sites)
	return func(s *Rendered) {
		s.Record = r
		s.Record.Sites = slices.Clone(r.Sites)
		s.Why = why
	}
}

// reusedDuplicates returns the reused inputs, in order, one of whose
// sites another input defines too.
func reusedDuplicates(results []inputResult, heldSites map[int][]*site.Site, reused map[int]bool) []int {
	if len(reused) == 0 {
		return nil
	}
	owners := map[string]int{}
	for _, r := range results {
		for _, s := range r.sites {
			owners[s.Name]++
		}
	}
	for _, sites := range heldSites {
		for _, s := range sites {
			owners[s.Name]++
		}
	}
	var dups []int
	for _, i := range slices.Sorted(maps.Keys(reused)) {
		for _, s := range results[i].sites {
			if owners[s.Name] > 1 {
				dups = append(dups, i)
				break
			}
		}
	}
	return dups
}

// inputResult is what one input produced: its sites, or an error, in which
// case nothing of the input is usable.
type inputResult struct {
	sites []Rendered
	err   error
}

// collect applies the duplicate-site policy: the first input that defines
// a name keeps it, every later one is an error, at namePos(input, name).
func collect(inputs []Input, results []inputResult, namePos func(input int, name string) token.Pos) *Result {
	res := &Result{}
	var dups []error
	seen := map[string]string{}
	for i, r := range results {
		if r.err != nil {
			res.Errors = append(res.Errors, r.err)
			continue
		}
		for _, s := range r.sites {
			if prev, dup := seen[s.Name]; dup {
				dups = append(dups, errors.Newf(namePos(i, s.Name), "site %s is also defined in %s", s.Name, prev))
				continue
			}
			seen[s.Name] = inputs[i].Name
			res.Sites = append(res.Sites, s)
			res.Warnings = append(res.Warnings, s.Warnings...)
		}
	}
	if len(dups) > 0 {
		var list errors.Error
		for _, d := range dups {
			list = errors.Append(list, errors.Promote(d, ""))
		}
		res.Errors = append(res.Errors, list)
	}
	return res
}

// loaderReuse bounds the files one compiled model evaluates: compiling
// costs about as much as loading one site.
const loaderReuse = 32

func renderSites(sites []*site.Site, prev Previous, record func(*Rendered)) inputResult {
	var res inputResult
	var errs errors.Error
	for _, s := range sites {
		r, err := renderRooted(s, prev)
		if err != nil {
			errs = errors.Append(errs, errors.Promote(err, ""))
			continue
		}
		record(&r)
		res.sites = append(res.sites, r)
	}
	if errs != nil {
		return inputResult{err: errs}
	}
	return res
}

// Pick returns the site called name of sites, or the only one when name
// is empty; its error says which there are to choose from.
func Pick(sites []*site.Site, name string) (*site.Site, error) {
	var names []string
	for _, s := range sites {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	switch {
	case name != "":
		return nil, fmt.Errorf("no site named %q (there is %s)", name, strings.Join(names, ", "))
	case len(sites) == 1:
		return sites[0], nil
	}
	return nil, fmt.Errorf("%d sites to choose from (%s): pick one with --site-name", len(sites), strings.Join(names, ", "))
}
