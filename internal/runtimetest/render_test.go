package runtimetest

import (
	"os"
	"slices"
	"testing"
)

// TestTestSiteRenders needs no engine: the test sites render, every
// image of their stacks is a local one, and every router of their labels
// has an expectation in targetRoutes (the dashboard aside, checked on
// its own), so that a new router cannot go unchecked.
func TestTestSiteRenders(t *testing.T) {
	node, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	for _, acme := range []bool{false, true} {
		ts := testSite{name: "runtime-render", node: node, share: "/srv/share", acme: acme, images: map[string]string{}}
		for k := range load(t, ts.name+".cue", ts.source()).Images {
			ts.images[k] = standinImage
		}
		ts.images["traefik"] = traefikImage
		ts.images["prometheus"] = prometheusImage
		dp := render(t, nil, ts)
		images, entrypoints := dp.images()
		for _, img := range images {
			if img != traefikImage && img != standinImage && img != prometheusImage {
				t.Errorf("acme %v: image %s is not a local one", acme, img)
			}
		}
		t.Logf("acme %v: images %v, entrypoints %v", acme, images, entrypoints)
		for _, name := range dp.labelRouters() {
			if name != "dashboard" && !slices.ContainsFunc(targetRoutes, func(r route) bool { return r.router == name }) {
				t.Errorf("acme %v: router %s of the labels has no route in the test", acme, name)
			}
		}
		for _, r := range targetRoutes {
			if !slices.Contains(dp.labelRouters(), r.router) {
				t.Errorf("acme %v: the test expects router %s, which the labels do not declare", acme, r.router)
			}
			if _, _, ok := dp.service(r.service); !ok {
				t.Errorf("acme %v: no service %s in the rendered stacks", acme, r.service)
			}
		}
	}
}
