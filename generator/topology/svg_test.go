package topology_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/graphviz"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/pipeline/pipelinetest"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/topology"
)

// svgText is a <text> element of an SVG, with where it is drawn.
type svgText struct {
	X, Y, Size float64
	Anchor     string
	Text       string
}

// parseSVG parses b as XML (failing t if it is not) and returns the
// view box's size, the translation of the graph's group, and every text.
func parseSVG(t *testing.T, name string, b []byte) (w, h, tx, ty float64, texts []svgText) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var cur *svgText
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s is not XML: %v", name, err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range el.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch el.Name.Local {
			case "svg":
				var x, y float64
				if _, err := fmt.Sscanf(attr["viewBox"], "%g %g %g %g", &x, &y, &w, &h); err != nil {
					t.Fatalf("%s: viewBox %q: %v", name, attr["viewBox"], err)
				}
			case "g":
				if attr["id"] == "graph0" {
					if _, err := fmt.Sscanf(attr["transform"], "scale(1 1) rotate(0) translate(%g %g)", &tx, &ty); err != nil {
						t.Fatalf("%s: transform %q: %v", name, attr["transform"], err)
					}
				}
			case "text":
				num := func(k string) float64 {
					v, err := strconv.ParseFloat(attr[k], 64)
					if err != nil {
						t.Fatalf("%s: text %s %q: %v", name, k, attr[k], err)
					}
					return v
				}
				cur = &svgText{X: num("x"), Y: num("y"), Size: num("font-size"), Anchor: attr["text-anchor"]}
			}
		case xml.CharData:
			if cur != nil {
				cur.Text += string(el)
			}
		case xml.EndElement:
			if el.Name.Local == "text" && cur != nil {
				texts = append(texts, *cur)
				cur = nil
			}
		}
	}
	return w, h, tx, ty, texts
}

// graphs builds the graph of every embedded site, as the pipeline does.
func graphs(t *testing.T) map[string]*topology.Graph {
	t.Helper()
	sites, err := pipeline.Load(pipeline.Inputs(nuvlacue.Sites()), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*topology.Graph{}
	for _, s := range sites {
		out[s.Name] = build(t, s)
	}
	return out
}

func build(t testing.TB, s *site.Site) *topology.Graph {
	t.Helper()
	rs, err := firewall.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	g, err := topology.Build(s, rs)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// names are what a site's picture must show: its nodes, services,
// networks and address classes, Traefik's entry points and routes.
func names(g *topology.Graph) []string {
	var out []string
	for _, n := range g.Nodes {
		out = append(out, n.Name, n.Address)
		for _, s := range n.Services {
			out = append(out, s.Service)
		}
	}
	for _, nw := range g.Networks {
		out = append(out, nw.Name)
	}
	for _, c := range g.Classes {
		out = append(out, c.Name)
	}
	// Drawn in Traefik's box only.
	for _, ep := range g.EntryPoints {
		out = append(out, ep.Name, ep.Address)
	}
	for _, r := range g.Routes {
		out = append(out, r.Router)
	}
	return out
}

// TestSVGShowsTheSite renders the embedded sites as generate does and
// reads each picture as XML: every node, service, network and class of
// its site is a text of it, and no node, address or domain of another.
func TestSVGShowsTheSite(t *testing.T) {
	res := pipelinetest.Embedded(t)
	gs := graphs(t)
	for name, g := range gs {
		svg := pipelinetest.Site(t, res, name)[topology.File]
		if svg == nil {
			t.Fatalf("site %s has no %s", name, topology.File)
		}
		_, _, _, _, texts := parseSVG(t, name, svg)
		shown := map[string]bool{}
		for _, tx := range texts {
			for _, word := range strings.FieldsFunc(tx.Text, func(r rune) bool { return r == ' ' || r == ',' || r == '\u00b7' }) {
				shown[word] = true
			}
		}
		for _, want := range names(g) {
			if !shown[want] {
				t.Errorf("%s/%s does not show %q", name, topology.File, want)
			}
		}
		for other, og := range gs {
			if other == name {
				continue
			}
			for _, n := range og.Nodes {
				for _, not := range []string{n.Name, n.Address} {
					if shown[not] {
						t.Errorf("%s/%s shows %q of site %s", name, topology.File, not, other)
					}
				}
			}
			if bytes.Contains(svg, []byte(og.Domain)) {
				t.Errorf("%s/%s shows the domain %s of site %s", name, topology.File, og.Domain, other)
			}
		}
	}
}

// TestPNG draws each picture to PNG with librsvg's rsvg-convert, as a
// browser would show it: the image must not be blank, and every text
// must lie inside the view box (none clipped at an edge). CI installs
// rsvg-convert (.ci/run); elsewhere the test skips without it.
func TestPNG(t *testing.T) {
	rsvg, err := exec.LookPath("rsvg-convert")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("rsvg-convert is missing: .ci/run installs librsvg2-bin")
		}
		t.Skip("rsvg-convert not installed (apt-get install librsvg2-bin)")
	}
	res := pipelinetest.Embedded(t)
	dir := t.TempDir()
	for _, name := range res.Names() {
		svg := pipelinetest.Site(t, res, name)[topology.File]
		w, h, tx, ty, texts := parseSVG(t, name, svg)
		for _, x := range texts {
			// Graphviz sizes text by Arial's metrics; 0.6 em per
			// character is wider than Arial's average.
			width := 0.6 * x.Size * float64(len([]rune(x.Text)))
			left := x.X + tx
			switch x.Anchor {
			case "middle":
				left -= width / 2
			case "end":
				left -= width
			}
			top, bottom := x.Y+ty-x.Size, x.Y+ty
			if left < -1 || left+width > w+1 || top < -1 || bottom > h+1 {
				t.Errorf("%s: text %q at (%.0f, %.0f) lies outside the view box %.0f×%.0f", name, x.Text, left, top, w, h)
			}
		}
		in := filepath.Join(dir, name+".svg")
		out := filepath.Join(dir, name+".png")
		if err := os.WriteFile(in, svg, 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command(rsvg, "-o", out, in).CombinedOutput(); err != nil {
			t.Fatalf("rsvg-convert %s: %v\n%s", name, err, b)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s.png: %v", name, err)
		}
		bounds := img.Bounds()
		if bounds.Dx() < 400 || bounds.Dy() < 200 {
			t.Errorf("%s.png is %dx%d: too small for a site", name, bounds.Dx(), bounds.Dy())
		}
		inked := 0
		for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
			for x := bounds.Min.X; x < bounds.Max.X; x++ {
				r, g, b, a := img.At(x, y).RGBA()
				if a > 0x8000 && (r < 0xe000 || g < 0xe000 || b < 0xe000) {
					inked++
				}
			}
		}
		if share := float64(inked) / float64(bounds.Dx()*bounds.Dy()); share < 0.02 {
			t.Errorf("%s.png is blank: %.1f%% of its pixels are drawn", name, 100*share)
		}
	}
}

// TestHostileLabel: a value holding what HTML labels and XML mean
// (a node label, which the model constrains; the printer escapes it
// anyway) is drawn as its text, and the picture is still XML.
func TestHostileLabel(t *testing.T) {
	sites, err := pipeline.Load(pipeline.Inputs(nuvlacue.Sites()), nil)
	if err != nil {
		t.Fatal(err)
	}
	const value = "a<b>&\"c'</font></td>]\x00"
	for _, s := range sites {
		if s.Name != "example-target-2" {
			continue
		}
		s.Nodes[0].Labels = map[string]string{"x": value}
		g := build(t, s)
		svg, _, err := graphviz.Picture("test", g.DOT(s.File), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, _, texts := parseSVG(t, s.Name, svg)
		want := "x=" + strings.ReplaceAll(value, "\x00", "\uFFFD")
		found := false
		for _, tx := range texts {
			found = found || strings.Contains(tx.Text, want)
		}
		if !found {
			t.Errorf("the picture does not show the label %q", want)
		}
	}
}
