package outdir

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/pipeline"
)

func TestMode(t *testing.T) {
	for p, want := range map[string]os.FileMode{"s/deploy.sh": 0o755, "s/README.md": 0o644, "s/sh": 0o644, "s/" + ManifestName: 0o644} {
		if got := Mode(p); got != want {
			t.Errorf("Mode(%s) = %v, want %v", p, got, want)
		}
	}
}

// TestCompare: what generate writes, written, is no drift; a lost x bit,
// an edit, a missing and an extra file and a foreign entry are, each once.
func TestCompare(t *testing.T) {
	out := t.TempDir()
	files := pipeline.Files{"s/deploy.sh": []byte("#!/bin/sh\n"), "s/README.md": []byte("# s\n")}
	want := WithManifests([]pipeline.Rendered{{Name: "s", Files: files}})
	if err := os.MkdirAll(filepath.Join(out, "s"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, b := range want {
		if err := os.WriteFile(filepath.Join(out, filepath.FromSlash(p)), b, Mode(p)); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Compare(out, want, []string{"s"}, nil, true)
	if err != nil || d.Count != 0 || d.Files != 3 {
		t.Fatalf("Compare of what generate writes: %+v, %v", d, err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(filepath.Join(out, "s", "deploy.sh"), 0o644))
	must(os.WriteFile(filepath.Join(out, "s", "README.md"), []byte("# edited\n"), 0o644))
	must(os.WriteFile(filepath.Join(out, "s", "extra"), nil, 0o644))
	must(os.Remove(filepath.Join(out, "s", ManifestName)))
	must(os.Mkdir(filepath.Join(out, "gone"), 0o755))
	d, err = Compare(out, want, []string{"s"}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := d.Write(&b); err != nil {
		t.Fatal(err)
	}
	if d.Count != 5 {
		t.Errorf("Count = %d, want 5\n%s", d.Count, b.String())
	}
	for _, line := range []string{
		"not generated (remove it): " + filepath.ToSlash(filepath.Join(out, "gone")),
		"mode: " + filepath.ToSlash(filepath.Join(out, "s", "deploy.sh")) + " is -rw-r--r--, generate writes it -rwxr-xr-x",
		"missing: " + filepath.ToSlash(filepath.Join(out, "s", ManifestName)),
		"not generated, not in the manifest",
		"+# s",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("the report lacks %q:\n%s", line, b.String())
		}
	}
	// Not whole: other entries of out are other sites.
	if d, _ := Compare(out, want, []string{"s"}, nil, false); d.Count != 4 {
		t.Errorf("Count without owning out = %d, want 4", d.Count)
	}
}
