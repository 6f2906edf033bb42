package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/stackcheck"
	"github.com/nuvla/nuvlagen/internal/synthetic"
)

func exampleHost(b *testing.B) Input {
	b.Helper()
	for _, f := range nuvlacue.Sites() {
		if strings.Contains(f.Name, "example-host") {
			return Input{Name: f.Name, Data: f.Data}
		}
	}
	b.Fatal("no example-host")
	return Input{}
}

// BenchmarkCompileModel is the fixed cost every worker pays once.
func BenchmarkCompileModel(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		newLoader(b)
	}
}

// BenchmarkLoadSite is CUE evaluation of one site against a compiled model.
func BenchmarkLoadSite(b *testing.B) {
	l, in := newLoader(b), exampleHost(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Load(in.Name, in.Data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderSite is everything after loading: compose rendering,
// config files, and both validations.
func BenchmarkRenderSite(b *testing.B) {
	l, in := newLoader(b), exampleHost(b)
	sites, err := l.Load(in.Name, in.Data)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := renderOne(sites[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStackCheck isolates the two loaders on one compose file.
func BenchmarkStackCheck(b *testing.B) {
	l, in := newLoader(b), exampleHost(b)
	sites, err := l.Load(in.Name, in.Data)
	if err != nil {
		b.Fatal(err)
	}
	files, err := renderOne(sites[0])
	if err != nil {
		b.Fatal(err)
	}
	data := files["stacks/nuvla/"+compose.FileName]
	env := CheckEnv(sites[0])
	b.Run("compose-go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := stackcheck.Compose("c.yml", data, env); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("docker-stack", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := stackcheck.Stack("c.yml", data, env); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRun renders many sites on all cores, as generate does.
func BenchmarkRun(b *testing.B) {
	for _, n := range []int{10, 100} {
		inputs := Inputs(synthetic.Targets(n, 10))
		b.Run(fmt.Sprintf("sites=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := Run(context.Background(), inputs, Options{Jobs: runtime.GOMAXPROCS(0)})
				if err != nil {
					b.Fatal(err)
				}
				if err := res.Err(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "sites/s")
		})
	}
}
