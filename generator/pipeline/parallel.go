package pipeline

import (
	"context"
	"sync"

	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"github.com/nuvla/nuvlagen/generator/site"
)

// Input is one site file to render.
type Input struct {
	// Name is the file's name as shown in positions and headers.
	Name string
	Data []byte
}

// Result is what one input produced: its sites' files, or an error, in
// which case nothing of the input is usable.
type Result struct {
	Input Input
	Sites []Rendered
	Err   error
}

// Rendered is one rendered site.
type Rendered struct {
	Name    string
	NamePos token.Pos // where the file defines the site, for duplicate reports
	Stacks  int
	// Files are relative to the output directory (prefixed with the site's name).
	Files Files
	// Warnings are findings that do not stop generation, positioned.
	Warnings []errors.Error
}

// RenderInputs loads and renders inputs on up to workers goroutines and
// returns one result per input, in input order. CUE values are not safe
// for concurrent use, so each worker compiles the model for itself and
// reuses it for the files it takes, compiling it afresh every
// loaderReuse files: a CUE context keeps every value it evaluated, so a
// long run would otherwise grow with the number of sites.
//
// done, if not nil, is called once per finished input, from the worker's
// goroutine, with the input's index and its result; it may take the
// rendered files and clear them (Rendered.Files), so that a run over
// many sites need not hold all of their files at once.
func RenderInputs(inputs []Input, workers int, done func(i int, r *Result)) []Result {
	return RenderInputsContext(context.Background(), inputs, workers, done)
}

// RenderInputsContext is RenderInputs that stops handing out inputs once
// ctx is done: the inputs not started get ctx's error as their result,
// and done is not called for them. It returns when every worker has
// finished, so no done call runs after it.
func RenderInputsContext(ctx context.Context, inputs []Input, workers int, done func(i int, r *Result)) []Result {
	results := make([]Result, len(inputs))
	if workers < 1 {
		workers = 1
	}
	workers = min(workers, len(inputs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var l *site.Loader
			var err error
			used := 0
			for i := range next {
				if l == nil || used == loaderReuse {
					l, err = site.NewLoader()
					used = 0
				}
				used++
				if err != nil {
					results[i] = Result{Input: inputs[i], Err: err}
				} else {
					results[i] = renderInput(l, inputs[i])
				}
				if done != nil {
					done(i, &results[i])
				}
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
		for j := i; j < len(inputs); j++ {
			results[j] = Result{Input: inputs[j], Err: ctx.Err()}
		}
		break feed
	}
	close(next)
	wg.Wait()
	return results
}

// loaderReuse bounds the files one compiled model evaluates: compiling
// costs about as much as loading one site.
const loaderReuse = 32

func renderInput(l *site.Loader, in Input) Result {
	res := Result{Input: in}
	sites, err := l.Load(in.Name, in.Data)
	if err != nil {
		res.Err = err
		return res
	}
	var errs errors.Error
	for _, s := range sites {
		r, err := renderRooted(s)
		if err != nil {
			errs = errors.Append(errs, errors.Promote(err, ""))
			continue
		}
		res.Sites = append(res.Sites, r)
	}
	if errs != nil {
		res.Err, res.Sites = errs, nil
	}
	return res
}

// Duplicates reports sites of different inputs that share a name: they
// would overwrite each other's directory. The later one is the error.
func Duplicates(results []Result) error {
	seen := map[string]string{}
	var errs errors.Error
	for _, r := range results {
		for _, s := range r.Sites {
			if prev, dup := seen[s.Name]; dup {
				errs = errors.Append(errs, errors.Newf(s.NamePos, "site %s is also defined in %s", s.Name, prev))
				continue
			}
			seen[s.Name] = r.Input.Name
		}
	}
	if errs == nil {
		return nil
	}
	return errs
}
