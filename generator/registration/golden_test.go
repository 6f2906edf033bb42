package registration

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/internal/golden"
)

// TestGolden renders the sites of each testdata/*.txtar and compares
// every file with its out/<site>/ section; UPDATE_GOLDEN=1 rewrites them.
// Each rendered document must also read back (Parse) as it was.
func TestGolden(t *testing.T) {
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	golden.Run(t, filepath.Join("testdata", "*.txtar"), golden.Prefix("out/"), func(t *testing.T, c *golden.Case) []txtar.File {
		got := map[string][]byte{}
		for _, f := range c.Inputs() {
			sites, err := l.Load(f.Name, f.Data)
			if err != nil {
				t.Fatalf("loading %s:\n%s", f.Name, strings.Join(diag.Lines(err, ""), "\n"))
			}
			for _, s := range sites {
				files, err := Render(s)
				if err != nil {
					t.Fatalf("site %s: %v", s.Name, err)
				}
				if s.Kind == site.KindHost && files != nil {
					t.Errorf("host site %s: rendered %d files, want none", s.Name, len(files))
				}
				roundTrip(t, files)
				for p, b := range files {
					got[filepath.ToSlash(filepath.Join(s.Name, p))] = b
				}
			}
		}
		return golden.Sorted("out/", got)
	})
}

// roundTrip parses the documents and prints them again.
func roundTrip(t *testing.T, files map[string][]byte) {
	t.Helper()
	docs := map[string][]byte{}
	for p, b := range files {
		if strings.HasSuffix(p, ".json") {
			docs[p] = b
		}
	}
	if len(docs) == 0 {
		return
	}
	parsed, err := Parse(docs)
	if err != nil {
		t.Fatalf("rendered documents do not parse: %v", err)
	}
	for _, d := range parsed {
		b, err := Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if p := filepath.ToSlash(filepath.Join(Dir, d.Key+".json")); string(b) != string(docs[p]) {
			t.Errorf("%s prints differently once parsed:\n%s", p, golden.Diff(docs[p], b))
		}
	}
}
