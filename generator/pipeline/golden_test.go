package pipeline

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/site"
)

// TestGolden renders every case in testdata/golden: each archive holds
// site files (*.cue) and the complete expected output under out/. A
// missing, extra or different file fails; UPDATE_GOLDEN=1 rewrites the
// out/ sections. Each case's compose files must also pass
// `docker stack config`.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join(repoRoot(t), "testdata", "golden", "*.txtar"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	l := newLoader(t)
	for _, file := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var sites []*site.Site
			var inputs []txtar.File
			want := Files{}
			for _, f := range ar.Files {
				if rest, ok := strings.CutPrefix(f.Name, "out/"); ok {
					want[rest] = f.Data
					continue
				}
				inputs = append(inputs, f)
				s, err := l.Load(f.Name, f.Data)
				if err != nil {
					t.Fatalf("loading %s:\n%s", f.Name, strings.Join(diag.Lines(err, ""), "\n"))
				}
				sites = append(sites, s...)
			}
			got, err := Render(sites)
			if err != nil {
				t.Fatalf("render:\n%s", strings.Join(diag.Lines(err, ""), "\n"))
			}
			if updateGolden() {
				ar.Files = inputs
				for _, p := range got.Paths() {
					ar.Files = append(ar.Files, txtar.File{Name: "out/" + p, Data: got[p]})
				}
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			compareFiles(t, want, got)
			dockerStackConfig(t, got, sites)
		})
	}
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
		if d := cmp.Diff(strings.Split(string(want[p]), "\n"), strings.Split(string(g), "\n")); d != "" {
			t.Errorf("%s differs (-want +got):\n%s", p, d)
		}
	}
}

func updateGolden() bool { return os.Getenv("UPDATE_GOLDEN") != "" }

func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func newLoader(t testing.TB) *site.Loader {
	t.Helper()
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	return l
}
