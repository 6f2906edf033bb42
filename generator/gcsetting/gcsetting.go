// Package gcsetting sets the garbage collector for one command: the
// percent and soft memory limit its measurements chose (vet.GCPercent,
// pipeline.GCPercent), each unless the environment sets it.
package gcsetting

import (
	"os"
	"runtime/debug"
)

// Set sets the collector's percent (as GOGC) and soft memory limit (as
// GOMEMLIMIT), each unless the environment sets it, and returns what puts
// the previous settings back: the CLI also runs in-process, in tests and
// benchmarks.
func Set(percent int, limit int64) (restore func()) {
	var undo []func()
	if _, set := os.LookupEnv("GOGC"); !set {
		old := debug.SetGCPercent(percent)
		undo = append(undo, func() { debug.SetGCPercent(old) })
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		old := debug.SetMemoryLimit(limit)
		undo = append(undo, func() { debug.SetMemoryLimit(old) })
	}
	return func() {
		for _, f := range undo {
			f()
		}
	}
}
