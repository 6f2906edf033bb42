//go:build unix

package cli

import (
	"syscall"
	"testing"
)

// mkfifo makes a named pipe, or skips the test where it cannot.
func mkfifo(t *testing.T, name string) string {
	t.Helper()
	if err := syscall.Mkfifo(name, 0o644); err != nil {
		t.Skipf("no FIFO: %v", err)
	}
	return name
}
