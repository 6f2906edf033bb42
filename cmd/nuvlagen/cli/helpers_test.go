package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// positioned matches an error line that starts with file:line:col.
var positioned = regexp.MustCompile(`^[^:\s]+\.cue:\d+:\d+: `)

func updateGolden() bool { return os.Getenv("UPDATE_GOLDEN") != "" }

// repoRoot is found from this file's location, not the working directory,
// which tests change.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

func diffText(want, got string) string {
	return cmp.Diff(strings.Split(want, "\n"), strings.Split(got, "\n"))
}
