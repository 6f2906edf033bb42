package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nuvla/nuvlagen/generator/pipeline"
)

// TestGenerateLeavesOnlySites: staging directories never outlive a run,
// successful or not, and a run that fails leaves no out/ it created.
func TestGenerateLeavesOnlySites(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	if code := Main([]string{"generate", "--out", "o"}, &out, &errOut); code != ExitOK {
		t.Fatalf("generate: exit %d\n%s", code, errOut.String())
	}
	entries, err := os.ReadDir("o")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"example-host", "example-target"}; !slices.Equal(names, want) {
		t.Errorf("out/ holds %v, want only %v", names, want)
	}
	if err := os.WriteFile("bad.cue", []byte("kind: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := Main([]string{"generate", "--site", "bad.cue", "--out", "fresh"}, &out, &errOut); code != ExitInvalid {
		t.Fatalf("generate of a bad site: exit %d", code)
	}
	if _, err := os.Stat("fresh"); !os.IsNotExist(err) {
		t.Errorf("a failed run left %s", filepath.Join(dir, "fresh"))
	}
}

func TestStagerFirstInputWins(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	st, err := newStager(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{3, 1, 2} {
		if err := st.stage(i, "s", pipeline.Files{"s/f": []byte{byte('0' + i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.commit(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "s", "f"))
	if err != nil || string(b) != "1" {
		t.Errorf("out/s/f = %q, %v; want input 1's", b, err)
	}
	if err := st.stage(0, "x", pipeline.Files{"elsewhere/f": nil}); err == nil {
		t.Error("a path outside the site's directory was staged")
	}
}
