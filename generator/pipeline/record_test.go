package pipeline

import (
	"context"
	"maps"
	"slices"
	"testing"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/internal/synthetic"
)

// outputs is an Outputs of records taken from a run, every site intact
// unless listed in changed.
type outputs struct {
	records map[string]map[string]Record
	changed map[string]string
}

func (o *outputs) Records(input string) map[string]Record { return o.records[input] }
func (o *outputs) Changed(site string) string             { return o.changed[site] }

func recorded(res *Result) *outputs {
	o := &outputs{records: map[string]map[string]Record{}, changed: map[string]string{}}
	for _, s := range res.Sites {
		if o.records[s.Record.Input] == nil {
			o.records[s.Record.Input] = map[string]Record{}
		}
		o.records[s.Record.Input][s.Name] = s.Record
	}
	return o
}

// TestReuse: a run reuses a site whose record matches, and renders it
// again, saying why, when the site file, the model, the build or its
// directory changed; a reused site sharing its name with another input's
// is loaded to report the duplicate where it is; nothing is compiled
// when every site is reused.
func TestReuse(t *testing.T) {
	files := synthetic.Targets(2, 2)
	inputs := Inputs(files)
	ctx := context.Background()
	first, err := Run(ctx, inputs, Options{Jobs: 2, Build: "b1"})
	if err != nil || first.Err() != nil {
		t.Fatal(err, first.Err())
	}
	for _, s := range first.Sites {
		if s.Reused || s.Why != "" || s.Record.Input != s.Name+".cue" || len(s.Record.Sum) != 64 || len(s.Record.Model) != 64 || !slices.Equal(s.Record.Sites, []string{s.Name}) {
			t.Errorf("first run: %s %+v", s.Name, s.Record)
		}
	}
	prev := recorded(first)
	why := func(res *Result) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, s := range res.Sites {
			if s.Reused {
				out[s.Name] = "reused"
			} else {
				out[s.Name] = s.Why
			}
		}
		return out
	}
	check := func(name string, in []Input, opts Options, want map[string]string) {
		t.Helper()
		opts.Jobs, opts.Reuse = 2, prev
		if opts.Build == "" {
			opts.Build = "b1"
		}
		res, err := Run(ctx, in, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := why(res); !maps.Equal(got, want) {
			t.Errorf("%s: %v, want %v (errors %v)", name, got, want, res.Errors)
		}
	}
	check("unchanged", inputs, Options{}, map[string]string{"t0000": "reused", "t0001": "reused"})
	edited := slices.Clone(inputs)
	edited[1].Data = append(slices.Clone(edited[1].Data), "\n// edited\n"...)
	check("site file", edited, Options{}, map[string]string{"t0000": "reused", "t0001": WhyInput})
	check("build", inputs, Options{Build: "b2"}, map[string]string{"t0000": WhyNuvlagen, "t0001": WhyNuvlagen})
	schema := slices.Clone(nuvlacue.Schema())
	schema[0].Data = append(slices.Clone(schema[0].Data), "\n// edited\n"...)
	check("model", inputs, Options{Schema: schema}, map[string]string{"t0000": WhyModel, "t0001": WhyModel})
	prev.changed["t0000"] = "edited: README.md"
	check("output", inputs, Options{}, map[string]string{"t0000": "edited: README.md", "t0001": "reused"})
	delete(prev.changed, "t0000")

	// Nothing to load: a model that does not compile is never compiled.
	broken := []nuvlacue.File{{Name: "cue/broken.cue", Data: []byte("x: {")}}
	prevModel := prev
	prev = &outputs{records: map[string]map[string]Record{}}
	for in, recs := range prevModel.records {
		prev.records[in] = map[string]Record{}
		for s, r := range recs {
			r.Model = modelSum(broken)
			prev.records[in][s] = r
		}
	}
	check("no compile", inputs, Options{Schema: broken}, map[string]string{"t0000": "reused", "t0001": "reused"})
	prev = prevModel

	// Another input defining t0001: the reused one is loaded, and the
	// duplicate reported at the later input's definition.
	dup := append(slices.Clone(inputs), Input{Name: "dup.cue", Data: files[1].Data})
	res, err := Run(ctx, dup, Options{Jobs: 2, Build: "b1", Reuse: prev})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Sites[1].Reused || res.Sites[1].Why != WhyDuplicate {
		t.Errorf("duplicate: errors %v, sites %+v", res.Errors, res.Sites)
	}
}
