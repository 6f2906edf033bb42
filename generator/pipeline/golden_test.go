package pipeline

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/internal/golden"
)

// TestGolden renders every case in testdata/golden: each archive holds
// site files (*.cue) and the complete expected output under out/. A
// missing, extra or different file fails; UPDATE_GOLDEN=1 rewrites the
// out/ sections. Each case's compose files must also pass
// `docker stack config`.
func TestGolden(t *testing.T) {
	l := newLoader(t)
	golden.Run(t, filepath.Join("testdata", "golden", "*.txtar"), golden.Prefix("out/"), func(t *testing.T, c *golden.Case) []txtar.File {
		var sites []*site.Site
		for _, f := range c.Inputs() {
			s, err := l.Load(f.Name, f.Data)
			if err != nil {
				t.Fatalf("loading %s:\n%s", f.Name, strings.Join(diag.Lines(err, ""), "\n"))
			}
			sites = append(sites, s...)
		}
		got, err := render(sites)
		if err != nil {
			t.Fatalf("render:\n%s", strings.Join(diag.Lines(err, ""), "\n"))
		}
		if !golden.Update() {
			dockerStackConfig(t, got, sites)
		}
		return golden.Sorted("out/", got)
	})
}

// compareFiles fails on any missing, extra or different file.
func compareFiles(t *testing.T, want, got Files) {
	t.Helper()
	if d := cmp.Diff(want.Paths(), got.Paths()); d != "" {
		t.Errorf("generated paths differ (-want +got):\n%s", d)
	}
	for _, p := range want.Paths() {
		g, ok := got[p]
		if !ok {
			continue
		}
		if d := golden.Diff(want[p], g); d != "" {
			t.Errorf("%s differs (-want +got):\n%s", p, d)
		}
	}
}

func newLoader(t testing.TB) *site.Loader {
	t.Helper()
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	return l
}
