//go:build !unix

package cli

import "testing"

// mkfifo skips the test: there are no named pipes in the file system.
func mkfifo(t *testing.T, name string) string {
	t.Skip("no FIFOs on this system")
	return name
}
