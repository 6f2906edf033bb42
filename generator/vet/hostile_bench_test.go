package vet

import (
	"fmt"
	"strings"
	"testing"
)

// The hostile-input benchmarks: vet's time must grow linearly with the
// file, whatever its shape. docs/performance.md records their figures.

// bigMapping is a compose file of about size bytes, nearly all of it one
// mapping: a service's environment.
func bigMapping(size int) []byte {
	var b strings.Builder
	b.WriteString("services:\n  web:\n    image: nginx:1.27.2\n    environment:\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "      VAR_%08d: value-%d\n", i, i)
	}
	return []byte(b.String())
}

// deepNesting is a compose file whose extension field nests depth levels
// deep, in block style ("- - - x") or flow style ("{a: {a: 1}}").
func deepNesting(depth int, flow bool) []byte {
	var b strings.Builder
	b.WriteString("services:\n  web:\n    image: nginx:1.27.2\nx-nest:\n  ")
	if flow {
		b.WriteString(strings.Repeat("{a: ", depth) + "1" + strings.Repeat("}", depth))
	} else {
		b.WriteString(strings.Repeat("- ", depth) + "x")
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// BenchmarkHostileMapping vets files of 1 MB and 10 MB that are one
// mapping.
func BenchmarkHostileMapping(b *testing.B) {
	for _, mb := range []int{1, 10} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			data := bigMapping(mb << 20)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				File("big.yml", data, nil)
			}
		})
	}
}

// BenchmarkHostileNesting vets files nested 5,000 levels deep.
func BenchmarkHostileNesting(b *testing.B) {
	for _, flow := range []bool{false, true} {
		name := map[bool]string{false: "block", true: "flow"}[flow]
		b.Run(name, func(b *testing.B) {
			data := deepNesting(5000, flow)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				File("deep.yml", data, nil)
			}
		})
	}
}
