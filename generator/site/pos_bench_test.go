package site

import (
	"testing"

	"github.com/nuvla/nuvlagen/internal/synthetic"
)

// BenchmarkPos is the position lookups rendering a site may need: a field
// the file does not write (its site's name), and one the model derives.
func BenchmarkPos(b *testing.B) {
	l, err := NewLoader()
	if err != nil {
		b.Fatal(err)
	}
	in := synthetic.Targets(1, 10)[0]
	sites, err := l.Load(in.Name, in.Data)
	if err != nil {
		b.Fatal(err)
	}
	s := sites[0]
	for _, path := range [][]string{{"name"}, {"firewall", "ports"}, {"nodes"}} {
		b.Run(path[len(path)-1], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !s.Pos(path...).IsValid() {
					b.Fatal("no position")
				}
			}
		})
	}
}
