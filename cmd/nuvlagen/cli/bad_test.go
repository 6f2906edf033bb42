package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/nuvla/nuvlagen/internal/golden"
)

// TestBadSites runs `generate` on every invalid site of the catalogue in
// testdata/bad: each must fail with exit status 1, print exactly the
// positioned errors of its "stderr" section, and write nothing.
// UPDATE_GOLDEN=1 rewrites the stderr sections.
func TestBadSites(t *testing.T) {
	// Absolute: each case changes the working directory.
	dir, err := filepath.Abs(filepath.Join("testdata", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 30 {
		t.Fatalf("the catalogue has %d invalid sites; it must keep at least 30", len(cases))
	}
	for _, file := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			c := golden.Open(t, file, golden.Names("stderr"))
			dir := t.TempDir()
			args := []string{"generate", "--out", "out"}
			for _, f := range c.Inputs() {
				if strings.HasSuffix(f.Name, ".cue") {
					if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					args = append(args, "--site", f.Name)
				}
			}
			t.Chdir(dir)
			var stdout, stderr bytes.Buffer
			code := Main(args, &stdout, &stderr)
			if code != ExitInvalid {
				t.Errorf("exit status %d, want %d\nstderr:\n%s", code, ExitInvalid, stderr.String())
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
				t.Errorf("generate wrote %s/out for an invalid site", dir)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout not empty:\n%s", stdout.String())
			}
			got := stderr.String()
			c.Check(t, []txtar.File{{Name: "stderr", Data: []byte(got)}})
			for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
				if !positioned.MatchString(line) {
					t.Errorf("error without a position: %q", line)
				}
			}
		})
	}
}
