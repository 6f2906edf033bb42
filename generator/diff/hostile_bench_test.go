package diff

import (
	"fmt"
	"strings"
	"testing"
)

// The hostile-input benchmarks: diff's time must grow linearly with the
// files, whatever their shape. docs/performance.md records their figures.

// bigMapping is a compose file of about size bytes, nearly all of it one
// mapping (a service's environment), whose last value is last.
func bigMapping(size int, last string) []byte {
	var b strings.Builder
	b.WriteString("services:\n  web:\n    image: nginx:1.27.2\n    environment:\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "      VAR_%08d: value-%d\n", i, i)
	}
	fmt.Fprintf(&b, "      LAST: %s\n", last)
	return []byte(b.String())
}

// deepNesting is a compose file whose extension field nests depth levels
// deep, in block style ("- - - x") or flow style ("{a: {a: x}}").
func deepNesting(depth int, flow bool, leaf string) []byte {
	var b strings.Builder
	b.WriteString("services:\n  web:\n    image: nginx:1.27.2\nx-nest:\n  ")
	if flow {
		b.WriteString(strings.Repeat("{a: ", depth) + leaf + strings.Repeat("}", depth))
	} else {
		b.WriteString(strings.Repeat("- ", depth) + leaf)
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// compareOne compares two versions of one compose file.
func compareOne(b *testing.B, old, new []byte) {
	const rel = "s/stacks/app/docker-compose.yml"
	b.SetBytes(int64(len(old) + len(new)))
	for b.Loop() {
		if Compare(map[string][]byte{rel: old}, map[string][]byte{rel: new}).Empty() {
			b.Fatal("no difference found")
		}
	}
}

// BenchmarkHostileMapping compares two compose files that are one mapping
// each, differing in its last value: of 1 MB (within compose-go's cap of
// 100,000 node visits, which refuses the 10 MB one early) and 10 MB.
func BenchmarkHostileMapping(b *testing.B) {
	for _, mb := range []int{1, 10} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			compareOne(b, bigMapping(mb<<20, "a"), bigMapping(mb<<20, "b"))
		})
	}
}

// BenchmarkHostileNesting compares two compose files nested 5,000 levels
// deep, differing in the innermost value.
func BenchmarkHostileNesting(b *testing.B) {
	for _, flow := range []bool{false, true} {
		name := map[bool]string{false: "block", true: "flow"}[flow]
		b.Run(name, func(b *testing.B) {
			compareOne(b, deepNesting(5000, flow, "a"), deepNesting(5000, flow, "b"))
		})
	}
}
