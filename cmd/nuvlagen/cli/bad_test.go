package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
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
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			args := []string{"generate", "--out", "out"}
			wantIdx := -1
			for i, f := range ar.Files {
				switch {
				case f.Name == "stderr":
					wantIdx = i
				case strings.HasSuffix(f.Name, ".cue"):
					if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					args = append(args, "--site", f.Name)
				}
			}
			if wantIdx < 0 {
				t.Fatal("no stderr section")
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
			if updateGolden() {
				ar.Files[wantIdx].Data = []byte(got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := string(ar.Files[wantIdx].Data); got != want {
				t.Errorf("stderr differs (-want +got):\n%s", diffText(want, got))
			}
			for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
				if !positioned.MatchString(line) {
					t.Errorf("error without a position: %q", line)
				}
			}
		})
	}
}
