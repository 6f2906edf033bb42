// Package pipelinetest renders sites for the tests of other packages,
// through pipeline.Run as generate does.
package pipelinetest

import (
	"context"
	"runtime"
	"strings"
	"testing"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

// Render runs the pipeline on inputs, on every CPU unless opts.Jobs says
// otherwise, and fails t, with the positioned errors, when any input
// does not render.
func Render(t testing.TB, opts pipeline.Options, inputs ...pipeline.Input) *pipeline.Result {
	t.Helper()
	if opts.Jobs == 0 {
		opts.Jobs = runtime.GOMAXPROCS(0)
	}
	res, err := pipeline.Run(context.Background(), inputs, opts)
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		t.Fatalf("rendering:\n%s", strings.Join(diag.Lines(err, ""), "\n"))
	}
	return res
}

// Embedded renders the example sites embedded in nuvlagen.
func Embedded(t testing.TB) *pipeline.Result {
	t.Helper()
	return Render(t, pipeline.Options{}, pipeline.Inputs(nuvlacue.Sites())...)
}

// Site returns the files of res's site called name, relative to the
// site's directory.
func Site(t testing.TB, res *pipeline.Result, name string) pipeline.Files {
	t.Helper()
	for _, s := range res.Sites {
		if s.Name != name {
			continue
		}
		files := pipeline.Files{}
		for p, b := range s.Files {
			files[strings.TrimPrefix(p, name+"/")] = b
		}
		return files
	}
	t.Fatalf("no site %s rendered (there are %v)", name, res.Names())
	return nil
}
