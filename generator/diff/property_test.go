package diff_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/nuvla/nuvlagen/generator/diff"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/pipeline/pipelinetest"
)

// tree renders the embedded example sites: every differ is exercised.
func tree(t *testing.T) pipeline.Files {
	t.Helper()
	files := pipelinetest.Embedded(t).Files()
	for _, p := range []string{"example-target/firewall/rules.json", "example-target/firewall/PORTS.md", "example-target/nfs/exports"} {
		if _, ok := files[p]; !ok {
			t.Fatalf("%s not rendered", p)
		}
	}
	return files
}

func clone(f pipeline.Files) pipeline.Files {
	out := pipeline.Files{}
	for p, b := range f {
		out[p] = bytes.Clone(b)
	}
	return out
}

// TestProperties: diff(A, A) is empty, in every format; diff(A, B) is not
// empty whenever B differs from A in any byte (random bytes of random
// files mutated, a file removed or added).
func TestProperties(t *testing.T) {
	a := tree(t)
	r := diff.Compare(a, clone(a))
	if !r.Empty() {
		t.Fatalf("diff(A, A) is not empty: %+v", r.Sites)
	}
	for _, format := range diff.Formats {
		var b bytes.Buffer
		if err := diff.Write(&b, r, format, true); err != nil || b.Len() > 0 {
			t.Errorf("diff(A, A) in %s: %q, %v; want no output", format, b.String(), err)
		}
	}

	rng := rand.New(rand.NewPCG(3, 5)) // fixed: a failure must reproduce
	paths := a.Paths()
	for i := range 120 {
		b := clone(a)
		p := paths[rng.IntN(len(paths))]
		what := ""
		switch i % 10 {
		case 0:
			delete(b, p)
			what = "removed"
		case 1:
			b[p+".new"] = []byte("x")
			what = "added a file beside"
		default:
			data := b[p]
			for n := 1 + rng.IntN(3); n > 0; n-- {
				j := rng.IntN(len(data))
				c := byte(rng.IntN(256))
				for c == data[j] {
					c = byte(rng.IntN(256))
				}
				data[j] = c
			}
			what = "mutated"
		}
		r := diff.Compare(a, b)
		if r.Empty() {
			t.Errorf("case %d: %s %s: the report is empty", i, what, p)
			continue
		}
		for _, format := range diff.Formats {
			var out bytes.Buffer
			if err := diff.Write(&out, r, format, false); err != nil || out.Len() == 0 {
				t.Errorf("case %d: %s %s: %s output %q, %v", i, what, p, format, out.String(), err)
			}
		}
		// Every site and file listed has something to show.
		for _, s := range r.Sites {
			if fw := s.Firewall; fw != nil && len(fw.Groups) == 0 && len(fw.Nodes) == 0 {
				t.Errorf("case %d: %s %s: %s's firewall listed without changes", i, what, p, s.Name)
			}
			for _, f := range s.Files {
				if len(f.Changes) == 0 && f.Unified == "" {
					t.Errorf("case %d: %s %s: %s/%s listed without changes or text", i, what, p, s.Name, f.Path)
				}
			}
		}
	}
}
