package pipeline

import (
	"maps"
	"slices"
	"sync"

	"cuelang.org/go/cue/errors"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/deployment"
	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/site"
)

// Sites of a deployment render only once all are loaded: a target's
// Nuvla sources come from its host, and the host lists its targets. An
// input holding a host or a target that names one is held until the
// others are loaded; the rest stream as before.

// held reports whether an input's sites must wait for the others.
func held(sites []*site.Site) bool {
	for _, s := range sites {
		if deploymentHost(s) != "" {
			return true
		}
	}
	return false
}

// deploymentHost names the host of the deployment s belongs to: its own
// name for a host, the host it names for a target that names one, ""
// for a site on its own.
func deploymentHost(s *site.Site) string {
	switch {
	case s.Kind == site.KindHost:
		return s.Name
	case site.Linked(s):
		return s.Host
	}
	return ""
}

// link links the held sites, looking a missing host up among the
// companions of the input that names it (the files beside it), and
// returns the error of each input whose sites do not link, and the
// companions' sites that linked with them. taken names the sites of
// deployments that are reused rather than loaded: they are not linked,
// but a companion of theirs is no more a site than if they were.
// The companions load in parallel (most often a target's host and the
// host's other targets, for a run of one target: the larger part of its
// time), l and up to jobs-1 loaders from more; a companion that does not
// load is left out, as when they loaded one after the other.
func link(l *site.Loader, more func() (*site.Loader, error), jobs int, inputs []Input, heldSites map[int][]*site.Site, taken map[string]bool, companions func(Input) []Input) (map[int]error, []*site.Site) {
	var all []*site.Site
	// taken are the sites of the deployments reused, not loaded: a
	// companion named like one is left out, as when they are loaded.
	names := maps.Clone(taken)
	if names == nil {
		names = map[string]bool{}
	}
	for i := range inputs {
		for _, s := range heldSites[i] {
			all = append(all, s)
			names[s.Name] = true
		}
	}
	// A host that is not among the inputs is looked for beside the
	// target, and the targets of a host beside the host: loaded for
	// linking only, never rendered.
	looked := map[string]bool{}
	companion := map[*site.Site]bool{}
	readers := map[string][]int{} // companion file -> the inputs it was looked up for
	byFile := map[string]int{}    // input file -> its index
	for i := range inputs {
		looked[inputs[i].Name] = true
		byFile[inputs[i].Name] = i
	}
	// The loaders beside l, made by more when first needed and kept for
	// the next input's companions.
	extras := make([]*site.Loader, max(jobs, 1)-1)
	for i := range inputs {
		// names grows with each input's companions: a target whose host
		// an earlier input's files brought does not look for it again.
		if companions == nil || !wantsCompanions(heldSites[i], names) {
			continue
		}
		var toLoad []Input
		for _, c := range companions(inputs[i]) {
			if _, in := byFile[c.Name]; !in {
				readers[c.Name] = append(readers[c.Name], i)
			}
			if looked[c.Name] {
				continue
			}
			looked[c.Name] = true
			toLoad = append(toLoad, c)
		}
		// In the order they were looked up, whatever order they loaded
		// in: the first of two sites of one name is the one kept.
		for _, extra := range loadAll(l, extras, more, toLoad) {
			for _, e := range extra {
				if !names[e.Name] && (e.Kind == site.KindHost || site.Linked(e)) {
					all = append(all, e)
					names[e.Name] = true
					companion[e] = true
				}
			}
		}
	}
	// A target beside a host is another deployment's when its host is
	// not here: none of this run's business.
	all = slices.DeleteFunc(all, func(s *site.Site) bool { return companion[s] && site.Linked(s) && !names[s.Host] })
	var extra []*site.Site
	for _, s := range all {
		if companion[s] {
			extra = append(extra, s)
		}
	}
	// The firewalls of the deployments that linked are checked even when
	// another did not: a run with --keep-going writes them, and a later
	// run reuses them as checked.
	deps, err := site.LinkDeployments(all)
	var linked []*site.Site
	for _, d := range deps {
		linked = append(append(linked, d.Host), d.Targets...)
	}
	if cerr := deployment.Check(linked); cerr != nil {
		err = errors.Append(asList(err), errors.Promote(cerr, ""))
	}
	if err == nil {
		return nil, extra
	}
	// Each error goes to the input whose file it points into; one in a
	// companion to the inputs it was loaded for (beside them), so that
	// the deployments that did not read it render as they would alone.
	out := map[int]error{}
	for _, e := range errors.Errors(err) {
		i, ok := byFile[e.Position().Filename()]
		if !ok {
			to := readers[e.Position().Filename()]
			if len(to) == 0 {
				to = slices.Sorted(maps.Keys(heldSites))
			}
			for _, j := range to {
				out[j] = errors.Append(asList(out[j]), e)
			}
			continue
		}
		out[i] = errors.Append(asList(out[i]), e)
	}
	return out, extra
}

// loadAll loads each input on one of up to 1+len(extras) goroutines,
// the first with l, goroutine k with extras[k] (made by more if nil, and
// left there for the next call), and returns their sites by input (nil
// where one does not load: a companion that fails is not this one's
// business unless it is the host, which linking then reports missing).
// A CUE context is not safe for concurrent use: each loader loads on one
// goroutine only.
func loadAll(l *site.Loader, extras []*site.Loader, more func() (*site.Loader, error), ins []Input) [][]*site.Site {
	out := make([][]*site.Site, len(ins))
	next := make(chan int, len(ins))
	for i := range ins {
		next <- i
	}
	close(next)
	work := func(l *site.Loader) {
		for i := range next {
			if sites, err := l.Load(ins[i].Name, ins[i].Data); err == nil {
				out[i] = sites
			}
		}
	}
	var wg sync.WaitGroup
	for k := range min(len(extras), len(ins)-1) {
		wg.Go(func() {
			// A loader that cannot be made leaves the inputs to the
			// others.
			if extras[k] == nil {
				ml, err := more()
				if err != nil {
					return
				}
				extras[k] = ml
			}
			work(extras[k])
		})
	}
	work(l)
	wg.Wait()
	return out
}

func asList(err error) errors.Error {
	if err == nil {
		return nil
	}
	return errors.Promote(err, "")
}

// wantsCompanions says whether the files beside an input may hold what
// its sites link to: a host (its targets), or a target's missing host.
func wantsCompanions(sites []*site.Site, loaded map[string]bool) bool {
	for _, s := range sites {
		if s.Kind == site.KindHost || site.Linked(s) && !loaded[s.Host] {
			return true
		}
	}
	return false
}

// Beside is, for Options.Companions, where the other sites of an input's
// deployment may be: the .cue files beside it on disk (cwd resolves a
// relative Path), or, for an embedded input, the other embedded examples.
func Beside(cwd string) func(Input) []Input {
	return func(in Input) []Input {
		if in.Path == "" {
			return Inputs(nuvlacue.Sites())
		}
		return Inputs(inputfile.Beside(cwd, in.Path))
	}
}
