package pipeline

import (
	"context"
	"encoding/json"
	"path"
	"regexp"
	"strings"
	"testing"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/graphviz"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
	"github.com/nuvla/nuvlagen/generator/topology"
)

var imageLink = regexp.MustCompile(`!\[[^\]]*\]\(([^)]+)\)`)

// TestPictureInREADME: every example site's README shows its picture
// before anything else but the title, and every image link of it names
// a file generated beside it.
func TestPictureInREADME(t *testing.T) {
	files := renderedExamples(t)
	for _, name := range []string{"example-host", "example-target", "example-target-2"} {
		readme := string(files[name+"/README.md"])
		links := imageLink.FindAllStringSubmatch(readme, -1)
		if len(links) == 0 {
			t.Errorf("%s/README.md shows no picture", name)
		}
		for _, l := range links {
			if _, ok := files[path.Join(name, l[1])]; !ok {
				t.Errorf("%s/README.md shows %s, which is not generated", name, l[1])
			}
		}
		if i, h := strings.Index(readme, "!["), strings.Index(readme, "\n## "); i < 0 || i > h {
			t.Errorf("%s/README.md: the picture is not at the top", name)
		}
		if files[path.Join(name, topology.DOTFile)] == nil {
			t.Errorf("%s has no %s", name, topology.DOTFile)
		}
	}
}

// TestNothingToDraw: a site none of whose services is placed on a node
// still generates, without a picture, and its README says why.
func TestNothingToDraw(t *testing.T) {
	s := sitetest.Named(t, "example-target-2")
	s.Host, s.Link = "", nil // rendered on its own
	// Every service constrained onto a label no node has: what the
	// model's own check (site/check.go) refuses in a site file, made
	// here after loading.
	for i := range s.Stacks {
		var c map[string]any
		if err := json.Unmarshal(s.Stacks[i].Compose, &c); err != nil {
			t.Fatal(err)
		}
		for _, svc := range c["services"].(map[string]any) {
			svc := svc.(map[string]any)
			deploy, _ := svc["deploy"].(map[string]any)
			if deploy == nil {
				deploy = map[string]any{}
				svc["deploy"] = deploy
			}
			placement, _ := deploy["placement"].(map[string]any)
			if placement == nil {
				placement = map[string]any{}
				deploy["placement"] = placement
			}
			cs, _ := placement["constraints"].([]any)
			placement["constraints"] = append(cs, "node.labels.nowhere == true")
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		s.Stacks[i].Compose = b
	}
	files, _, err := renderSite(s, nil)
	if err != nil {
		t.Fatalf("a site with nothing to draw does not generate: %v", err)
	}
	for _, p := range []string{topology.File, topology.DOTFile} {
		if _, ok := files[p]; ok {
			t.Errorf("%s is generated for a site with nothing to draw", p)
		}
	}
	readme := string(files["README.md"])
	if imageLink.MatchString(readme) {
		t.Error("README.md shows a picture of a site with nothing to draw")
	}
	if !strings.Contains(readme, "No picture of this site") {
		t.Errorf("README.md does not say why it has no picture:\n%.600s", readme)
	}
}

// TestPictureReused: a previous picture of the same graph is taken as it
// is; one of another graph, or edited, is drawn again.
func TestPictureReused(t *testing.T) {
	s := sitetest.Named(t, "example-target-2")
	s.Host, s.Link = "", nil
	first, _, err := renderSite(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	svg := first[topology.File]
	stale := []byte(strings.Replace(string(svg), "<svg", "<!-- not drawn here -->\n<svg", 1))
	prevOf := func(b []byte) Previous { return func(string, string) []byte { return b } }
	again, _, err := renderSite(s, prevOf(stale))
	if err != nil {
		t.Fatal(err)
	}
	if string(again[topology.File]) != string(stale) {
		t.Error("the previous picture of the same graph was drawn again")
	}
	otherDOT := append([]byte("// another graph\n"), first[topology.DOTFile]...)
	other, _, err := graphviz.Picture("x", otherDOT, nil)
	if err != nil {
		t.Fatal(err)
	}
	redrawn, _, err := renderSite(s, prevOf(other))
	if err != nil {
		t.Fatal(err)
	}
	if string(redrawn[topology.File]) != string(svg) {
		t.Error("the picture of another graph was taken for this one")
	}
}

// renderedExamples renders the embedded examples as generate does.
func renderedExamples(t *testing.T) Files {
	t.Helper()
	res, err := Run(context.Background(), Inputs(nuvlacue.Sites()), Options{Jobs: 2})
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		t.Fatal(err)
	}
	return res.Files()
}
