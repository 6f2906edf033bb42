package topology_test

import (
	"testing"

	"github.com/nuvla/nuvlagen/generator/artifact"
	"github.com/nuvla/nuvlagen/generator/graphviz"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/internal/synthetic"
)

// tenNodes loads the synthetic 10-node target site of the scale
// benchmarks (cmd/nuvlagen BenchmarkScale).
func tenNodes(b *testing.B) *site.Site {
	b.Helper()
	l, err := site.NewLoader()
	if err != nil {
		b.Fatal(err)
	}
	f := synthetic.Targets(1, 10)[0]
	sites, err := l.Load(f.Name, f.Data)
	if err != nil {
		b.Fatal(err)
	}
	return sites[0]
}

// BenchmarkBuild is the graph and its DOT, what every site pays.
func BenchmarkBuild(b *testing.B) {
	s := tenNodes(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = build(b, s).DOT(s.File)
	}
}

// BenchmarkDraw lays the DOT out and draws it as SVG, what a site pays
// when its graph changed (the module compiled once before).
func BenchmarkDraw(b *testing.B) {
	s := tenNodes(b)
	dot := build(b, s).DOT(s.File)
	if _, err := graphviz.Render(dot, graphviz.SVG); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := graphviz.Picture(artifact.Notice(s.File), dot, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReuse is a site whose graph did not change: the hash of its
// DOT compared with the previous picture's.
func BenchmarkReuse(b *testing.B) {
	s := tenNodes(b)
	dot := build(b, s).DOT(s.File)
	prev, _, err := graphviz.Picture(artifact.Notice(s.File), dot, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, reused, err := graphviz.Picture(artifact.Notice(s.File), dot, prev); err != nil || !reused {
			b.Fatal("not reused", err)
		}
	}
}
