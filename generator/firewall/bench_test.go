package firewall

import (
	"testing"

	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
)

// BenchmarkCompile is the rule model of the example target site: tables,
// address groups, overlap and shading checks.
func BenchmarkCompile(b *testing.B) {
	s := sitetest.Kind(b, site.KindTarget)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRender prints every node's rules for the three backends, with
// apply.sh and PORTS.md.
func BenchmarkRender(b *testing.B) {
	s := sitetest.Kind(b, site.KindTarget)
	rs, err := Compile(s)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Render("# header\n", rs)
	}
}
