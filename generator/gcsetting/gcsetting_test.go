package gcsetting

import (
	"runtime/debug"
	"testing"
)

func TestSetAndRestore(t *testing.T) {
	t.Setenv("GOGC", "")
	oldPercent := debug.SetGCPercent(100)
	defer debug.SetGCPercent(oldPercent)
	oldLimit := debug.SetMemoryLimit(-1)

	// GOGC set (even empty): the percent is the environment's; GOMEMLIMIT
	// unset: the limit is ours, and both come back.
	restore := Set(400, 1<<30)
	if got := debug.SetGCPercent(-1); got != 100 {
		t.Errorf("with GOGC set, the percent is %d, want 100 left alone", got)
	}
	debug.SetGCPercent(100)
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("the limit is %d, want %d", got, 1<<30)
	}
	restore()
	if got := debug.SetMemoryLimit(-1); got != oldLimit {
		t.Errorf("after restore, the limit is %d, want %d", got, oldLimit)
	}
}
