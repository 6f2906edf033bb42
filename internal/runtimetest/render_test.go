package runtimetest

import (
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/compose"
)

// TestTestSiteRenders needs no engine: the test sites render, every
// image of their stacks is a local one, every router of their labels
// has an expectation in the site's routes (the dashboard aside, checked
// on its own), so that a new router cannot go unchecked, and a host
// site's compose files differ from the generator's by their node-type
// constraints alone.
func TestTestSiteRenders(t *testing.T) {
	node, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []bool{false, true} {
		for _, acme := range []bool{false, true} {
			t.Run(fmt.Sprintf("host=%v,acme=%v", host, acme), func(t *testing.T) {
				ts := testSite{name: "runtime-render", node: node, share: "/srv/share", host: host, acme: acme,
					aliases: [2]string{"runtime-worker-job", "runtime-worker-db"}}
				dp := render(t, nil, ts.withLocalImages(t))
				images, entrypoints := dp.images()
				for _, img := range images {
					if !isLocal(img) {
						t.Errorf("image %s is not a local one", img)
					}
				}
				t.Logf("images %v, entrypoints %v", images, entrypoints)
				for _, name := range dp.labelRouters() {
					if name != "dashboard" && !slices.ContainsFunc(dp.routes(), func(r route) bool { return r.router == name }) {
						t.Errorf("router %s of the labels has no route in the test", name)
					}
				}
				for _, r := range dp.routes() {
					if !slices.Contains(dp.labelRouters(), r.router) {
						t.Errorf("the test expects router %s, which the labels do not declare", r.router)
					}
					stack, _, ok := dp.service(r.service)
					if !ok {
						t.Errorf("no service %s in the rendered stacks", r.service)
						continue
					}
					// The broken file the provider-network check deploys
					// loads, and only the attachment is gone.
					bad, ok := withoutNetwork(dp.files[composePath(stack)], r.service, dp.site.Networks.Public)
					if !ok {
						t.Errorf("service %s: withoutNetwork found no %s", r.service, dp.site.Networks.Public)
						continue
					}
					p, err := compose.Project(stack, bad)
					if err != nil {
						t.Fatalf("service %s without its public network: %v", r.service, err)
					}
					if _, on := p.Services[r.service].Networks[dp.site.Networks.Public]; on || len(p.Services[r.service].Networks) != len(dp.projects[stack].Services[r.service].Networks)-1 {
						t.Errorf("service %s: withoutNetwork left networks %v", r.service, slices.Sorted(maps.Keys(p.Services[r.service].Networks)))
					}
				}
				if host {
					checkOnOneNode(t, dp, node)
				}
			})
		}
	}
}

// checkOnOneNode compares a host site's rendered compose files, line by
// line, with what onOneNode made of them.
func checkOnOneNode(t *testing.T, dp *deployment, node string) {
	t.Helper()
	res := renderFiles(t, dp.site.Name+".cue", dp.src, dp.site.Name)
	changed := 0
	for p, b := range dp.files {
		if path.Base(p) != compose.FileName {
			if string(b) != string(res[p]) {
				t.Errorf("%s differs from the generator's", p)
			}
			continue
		}
		got, want := strings.Split(string(b), "\n"), strings.Split(string(res[p]), "\n")
		if len(got) != len(want) {
			t.Fatalf("%s: %d lines, the generator's %d", p, len(got), len(want))
		}
		for i := range got {
			if got[i] == want[i] {
				continue
			}
			if !strings.Contains(want[i], typeConstraint) || strings.TrimSpace(got[i]) != "- node.hostname == "+node {
				t.Errorf("%s:%d: %q, the generator's %q: more than a node-type constraint changed", p, i+1, got[i], want[i])
			}
			changed++
		}
	}
	if changed == 0 {
		t.Error("no node-type constraint was rewritten")
	}
}
