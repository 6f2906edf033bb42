package exports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/diff"
	"github.com/rogpeppe/go-internal/txtar"
)

// TestGolden reads each testdata/*.txtar: its "exports" section is parsed,
// and the canonical printing, the findings (or the parse error) are
// compared with the archive's other sections. UPDATE_GOLDEN=1 rewrites them.
func TestGolden(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	update := os.Getenv("UPDATE_GOLDEN") != ""
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			a, err := txtar.ParseFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var in []byte
			for _, f := range a.Files {
				if f.Name == "exports" {
					in = f.Data
				}
			}
			if in == nil {
				t.Fatal("no exports section")
			}
			got := map[string][]byte{"exports": in}
			list, err := Parse(string(in))
			if err != nil {
				got["error"] = []byte(err.Error() + "\n")
			} else {
				got["canonical"] = Print(list)
				var b bytes.Buffer
				for _, f := range Check(list) {
					b.WriteString(f.String() + "\n")
				}
				got["findings"] = b.Bytes()
				// The canonical form reads back as the same exports.
				back, err := Parse(string(got["canonical"]))
				if err != nil || !equal(back, list) {
					t.Errorf("canonical form does not read back: %v", err)
				}
			}
			if update {
				a.Files = nil
				for _, name := range []string{"exports", "error", "canonical", "findings"} {
					if b, ok := got[name]; ok {
						a.Files = append(a.Files, txtar.File{Name: name, Data: b})
					}
				}
				if err := os.WriteFile(p, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := map[string][]byte{}
			for _, f := range a.Files {
				want[f.Name] = f.Data
			}
			for _, name := range []string{"error", "canonical", "findings"} {
				w, inWant := want[name]
				g, inGot := got[name]
				if inWant != inGot {
					t.Errorf("section %s: in archive %v, produced %v", name, inWant, inGot)
					continue
				}
				if d := diff.Diff(name+" (want)", w, name+" (got)", g); d != nil {
					t.Errorf("%s", d)
				}
			}
			for name := range want {
				if !strings.Contains(" exports error canonical findings ", " "+name+" ") {
					t.Errorf("unknown section %s", name)
				}
			}
		})
	}
}
