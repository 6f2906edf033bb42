package tree

import (
	"strings"
	"testing"
)

// upstreamMatches is Path.Matches as compose-go v2.16.2 wrote it.
func upstreamMatches(p, pattern Path) bool {
	patternParts := strings.Split(string(pattern), pathSeparator)
	parts := strings.Split(string(p), pathSeparator)
	if len(patternParts) != len(parts) {
		return false
	}
	for index, part := range parts {
		switch patternParts[index] {
		case PathMatchAll, part:
			continue
		default:
			return false
		}
	}
	return true
}

func upstreamLast(p Path) string {
	parts := strings.Split(string(p), pathSeparator)
	return parts[len(parts)-1]
}

var patchCases = []Path{
	"", ".", "..", "*", "*.*", "[]", "a", "a.", ".a", "a.b", "a.*", "*.b", "a.b.c",
	"services", "services.*", "services.api", "services.*.ports.[]", "services.api.ports.[]",
	"services.api.ports", "services.a👻b.ports.[]", "services.*.ports.[].published",
	"services.api.deploy.resources.limits.memory", "services.*.deploy.resources.*.memory",
}

func TestMatchesAsUpstream(t *testing.T) {
	for _, p := range patchCases {
		for _, pattern := range patchCases {
			if got, want := p.Matches(pattern), upstreamMatches(p, pattern); got != want {
				t.Errorf("Path(%q).Matches(%q) = %v, upstream %v", p, pattern, got, want)
			}
		}
		if got, want := p.Last(), upstreamLast(p); got != want {
			t.Errorf("Path(%q).Last() = %q, upstream %q", p, got, want)
		}
	}
}

// TestMatchesAsUpstreamExhaustive compares every pair of paths of up to
// four characters over an alphabet of a key, a wildcard and the separator.
func TestMatchesAsUpstreamExhaustive(t *testing.T) {
	paths := []Path{""}
	for n, last := 0, paths; n < 4; n++ {
		var next []Path
		for _, p := range last {
			for _, c := range []string{"a", "b", "*", "."} {
				next = append(next, p+Path(c))
			}
		}
		paths, last = append(paths, next...), next
	}
	for _, p := range paths {
		for _, pattern := range paths {
			if got, want := p.Matches(pattern), upstreamMatches(p, pattern); got != want {
				t.Fatalf("Path(%q).Matches(%q) = %v, upstream %v", p, pattern, got, want)
			}
		}
		if got, want := p.Last(), upstreamLast(p); got != want {
			t.Fatalf("Path(%q).Last() = %q, upstream %q", p, got, want)
		}
	}
}

func BenchmarkMatches(b *testing.B) {
	b.Run("patched", func(b *testing.B) { benchmarkMatches(b, Path.Matches) })
	b.Run("upstream", func(b *testing.B) { benchmarkMatches(b, upstreamMatches) })
}

func benchmarkMatches(b *testing.B, matches func(p, pattern Path) bool) {
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range patchCases {
			for _, pattern := range patchCases {
				matches(p, pattern)
			}
		}
	}
}
