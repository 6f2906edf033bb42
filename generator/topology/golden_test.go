package topology_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/topology"
	"github.com/nuvla/nuvlagen/internal/golden"
)

// graphOf loads the site file of a golden case and builds its graph.
func graphOf(t *testing.T, c *golden.Case) (*site.Site, *topology.Graph) {
	t.Helper()
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	in := c.Inputs()
	if len(in) != 1 {
		t.Fatalf("%s: want one site file, have %d", c.Path, len(in))
	}
	sites, err := l.Load(in[0].Name, in[0].Data)
	if err != nil {
		t.Fatalf("loading %s:\n%s", in[0].Name, strings.Join(diag.Lines(err, ""), "\n"))
	}
	s := sites[0]
	rs, err := firewall.Compile(s)
	if err != nil {
		t.Fatalf("firewall:\n%s", strings.Join(diag.Lines(err, ""), "\n"))
	}
	g, err := topology.Build(s, rs)
	if err != nil {
		t.Fatal(err)
	}
	return s, g
}

// TestGolden prints the DOT of each case's site: UPDATE_GOLDEN=1
// rewrites the topology.dot sections.
func TestGolden(t *testing.T) {
	golden.Run(t, filepath.Join("testdata", "*.txtar"), golden.Names(topology.DOTFile), func(t *testing.T, c *golden.Case) []txtar.File {
		s, g := graphOf(t, c)
		return []txtar.File{{Name: topology.DOTFile, Data: g.DOT(s.File)}}
	})
}

// TestAddedNode compares the goldens of a site and of the same site with
// one more worker: the picture changes by that node and its flows only.
// Every line one DOT has and the other has not names the new node, and
// the items say the same: added, each naming it, and none removed.
func TestAddedNode(t *testing.T) {
	read := func(name string) []byte {
		c := golden.Open(t, filepath.Join("testdata", name), golden.Names(topology.DOTFile))
		b, ok := c.Section(topology.DOTFile)
		if !ok {
			t.Fatalf("%s has no %s", name, topology.DOTFile)
		}
		return b
	}
	before, after := read("three-nodes.txtar"), read("four-nodes.txtar")
	const node = "tgt-wrk-4"
	lines := func(b []byte) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(string(b), "\n") {
			m[l] = true
		}
		return m
	}
	lb, la := lines(before), lines(after)
	for l := range lb {
		if !la[l] {
			t.Errorf("a line of the picture is gone with %s added:\n%s", node, l)
		}
	}
	added := 0
	for l := range la {
		if !lb[l] {
			added++
			if !strings.Contains(l, node) && strings.TrimSpace(l) != "}" {
				t.Errorf("a new line does not name %s:\n%s", node, l)
			}
		}
	}
	if added == 0 {
		t.Errorf("the picture did not change with %s added", node)
	}
	oldItems, err := topology.ParseItems(before)
	if err != nil {
		t.Fatal(err)
	}
	newItems, err := topology.ParseItems(after)
	if err != nil {
		t.Fatal(err)
	}
	changes := topology.Compare(oldItems, newItems)
	if len(changes) == 0 {
		t.Fatal("no item changed")
	}
	for _, c := range changes {
		if !c.Added || !strings.Contains(c.Item, node) {
			t.Errorf("change %+v: want only items added, naming %s", c, node)
		}
	}
	if changes[0].Item != "node tgt-wrk-4 (203.0.113.44, worker)" {
		t.Errorf("first change %q, want the node itself", changes[0].Item)
	}
}

// TestFold: a node added is one change, with the count of what is on it;
// other changes stay as they are.
func TestFold(t *testing.T) {
	got := topology.Fold([]topology.Change{
		{Added: true, Item: "node w4 (203.0.113.44, worker)"},
		{Added: true, Item: "users may reach 80, 443/tcp on w4 (rule http)"},
		{Added: true, Item: "cluster may reach 7946/tcp on w4 (rule swarm-cluster, sensitive)"},
		{Added: true, Item: "service prometheus/cadvisor on w4 (global)"},
		{Added: true, Item: "users may reach 8080/tcp on w1 (rule traefik, sensitive)"},
		{Item: "service prometheus/cadvisor on w4 (global)"},
	})
	want := []topology.Change{
		{Added: true, Item: "node w4 (203.0.113.44, worker), with 2 flows and 1 service"},
		{Added: true, Item: "users may reach 8080/tcp on w1 (rule traefik, sensitive)"},
		{Item: "service prometheus/cadvisor on w4 (global)"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Fold (-want +got):\n%s", d)
	}
}
