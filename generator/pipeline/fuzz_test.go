package pipeline

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/site"
)

var positionedLine = regexp.MustCompile(`^fuzz\.cue:\d+:\d+: `)

// FuzzSite feeds arbitrary site files to the loader and the renderer. It
// must never panic (the loader turns an evaluator panic into an "internal
// error", which fails here too); a site that loads must render, since the
// model promises that every valid site produces valid files, or be refused
// by the checks that run while rendering (the firewall's sensitive ports);
// and every error must point into the file.
func FuzzSite(f *testing.F) {
	for _, s := range nuvlacue.Sites() {
		f.Add(s.Data)
	}
	// The catalogue of invalid sites, beside the CLI test that runs it,
	// and the golden cases.
	for _, pattern := range []string{filepath.Join("..", "..", "cmd", "nuvlagen", "cli", "testdata", "bad", "*.txtar"), filepath.Join("testdata", "golden", "*.txtar")} {
		cases, _ := filepath.Glob(pattern)
		for _, c := range cases {
			ar, err := txtar.ParseFile(c)
			if err != nil {
				f.Fatal(err)
			}
			for _, file := range ar.Files {
				if strings.HasSuffix(file.Name, ".cue") {
					f.Add(file.Data)
				}
			}
		}
	}
	l := newLoader(f)
	// Go's fuzzing gives each input 10 s before it calls the worker hung;
	// what a process does once (the compose schemas, the drawing's
	// WebAssembly module) is done here, outside that limit, which the
	// first input overran on a loaded machine.
	warm, err := l.Load("warm-up.cue", nuvlacue.Sites()[0].Data)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := renderLinked(warm); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		sites, err := l.Load("fuzz.cue", src)
		if err != nil {
			for _, line := range diag.Lines(err, "") {
				if strings.Contains(line, "internal error") {
					t.Fatalf("evaluator failure: %s", line)
				}
				if !positionedLine.MatchString(line) {
					t.Errorf("error without a position in the site file: %q", line)
				}
			}
			return
		}
		if _, err := renderLinked(sites); err != nil {
			for _, line := range diag.Lines(err, "") {
				if !positionedLine.MatchString(line) {
					t.Errorf("a site that loads does not render, and the error has no position in the site file: %q", line)
				}
			}
		}
	})
}

// renderLinked renders sites as generate would, linking a target to its
// host among the embedded examples.
func renderLinked(sites []*site.Site) (Files, error) {
	for _, s := range sites {
		if site.Linked(s) {
			examples, err := Load(Inputs(nuvlacue.Sites()), nil)
			if err != nil {
				return nil, err
			}
			all := append([]*site.Site(nil), sites...)
			for _, e := range examples {
				if e.Kind == site.KindHost && !slices.ContainsFunc(sites, func(s *site.Site) bool { return s.Name == e.Name }) {
					all = append(all, e)
				}
			}
			if _, err := site.LinkDeployments(all); err != nil {
				return nil, err
			}
			break
		}
	}
	return render(sites)
}
