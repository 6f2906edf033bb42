package outdir

import (
	"bytes"
	"maps"
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

// check takes site s's files into a new Checker of out and returns its
// drift.
func check(t *testing.T, out string, files pipeline.Files, whole bool) *Drift {
	t.Helper()
	c := NewChecker(out)
	c.Take(0, &pipeline.Rendered{Name: "s", Files: maps.Clone(files)})
	d, err := c.Drift([]string{"s"}, nil, whole)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestCheck: what generate writes, written, is no drift; a lost x bit,
// an edit, a missing and an extra file and a foreign entry are, each once.
func TestCheck(t *testing.T) {
	out := t.TempDir()
	files := pipeline.Files{"s/deploy.sh": []byte("#!/bin/sh\n"), "s/README.md": []byte("# s\n")}
	written := maps.Clone(files)
	written["s/"+ManifestName] = Manifest("s", files, pipeline.Record{})
	if err := os.MkdirAll(filepath.Join(out, "s"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, b := range written {
		if err := os.WriteFile(filepath.Join(out, filepath.FromSlash(p)), b, Mode(p)); err != nil {
			t.Fatal(err)
		}
	}
	if d := check(t, out, files, true); d.Count != 0 || d.Files != 3 {
		t.Fatalf("the check of what generate writes: %+v", d)
	}
	// The record's lines say what rendered the files: another build's
	// record is no drift.
	c := NewChecker(out)
	c.Take(0, &pipeline.Rendered{Name: "s", Files: maps.Clone(files), Record: pipeline.Record{Nuvlagen: "v9.9.9"}})
	if d, err := c.Drift([]string{"s"}, nil, true); err != nil || d.Count != 0 {
		t.Fatalf("another record is drift: %+v, %v", d, err)
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
	d := check(t, out, files, true)
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
	if d := check(t, out, files, false); d.Count != 4 {
		t.Errorf("Count without owning out = %d, want 4", d.Count)
	}
}

// TestCheckerKeepsOnlyDrift: the files of a site found the same as its
// rendering are let go as soon as it is taken (Take clears the
// rendering's), and a reused site is not read; only differing sites are
// kept for the report.
func TestCheckerKeepsOnlyDrift(t *testing.T) {
	out := t.TempDir()
	c := NewChecker(out)
	for _, name := range []string{"a", "b"} {
		files := pipeline.Files{name + "/README.md": []byte("# " + name + "\n")}
		if err := os.MkdirAll(filepath.Join(out, name), 0o755); err != nil {
			t.Fatal(err)
		}
		for p, b := range files {
			if err := os.WriteFile(filepath.Join(out, p), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		m := Manifest(name, files, pipeline.Record{})
		if err := os.WriteFile(filepath.Join(out, name, ManifestName), m, 0o644); err != nil {
			t.Fatal(err)
		}
		if name == "b" {
			files[name+"/README.md"] = []byte("# b, changed\n")
			// Its manifest then differs too.
		}
		r := &pipeline.Rendered{Name: name, Files: files}
		c.Take(0, r)
		if r.Files != nil {
			t.Errorf("Take kept site %s's rendered files", name)
		}
	}
	c.Take(0, &pipeline.Rendered{Name: "gone", Reused: true})
	if a := c.drift["a"]; a == nil || !a.same || a.have != nil || a.want != nil {
		t.Error("the files of site a, the same on disk, are kept")
	}
	if b := c.drift["b"]; b == nil || b.same || b.have == nil {
		t.Fatal("the files of site b, which differs, are not kept")
	}
	if _, ok := c.drift["gone"]; ok {
		t.Error("the reused site gone was compared")
	}
	// A later input's site of the same name is not the one compared;
	// an earlier one's is.
	c.Take(1, &pipeline.Rendered{Name: "a", Files: pipeline.Files{"a/README.md": []byte("other\n")}})
	if !c.drift["a"].same {
		t.Error("a later input's site a replaced the first one's")
	}
	d, err := c.Drift([]string{"a", "b"}, []string{"gone"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Count != 2 || d.Files != 4 {
		t.Errorf("Count = %d (want 2: b's README and manifest), Files = %d (want 4)", d.Count, d.Files)
	}
	for p := range d.have {
		if !strings.HasPrefix(p, "b/") {
			t.Errorf("the drift holds %s, of a site that does not differ", p)
		}
	}
}
