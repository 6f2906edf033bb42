// Package sitetest gives tests the embedded example sites, loaded once
// per call with a fresh model so tests stay independent.
package sitetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/site"
)

// Embedded loads the example sites, failing the test if they do not load.
func Embedded(t testing.TB) []*site.Site {
	t.Helper()
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	sites, err := l.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return sites
}

// Kind returns the first example site of a kind (site.KindHost or
// site.KindTarget), in name order.
func Kind(t testing.TB, kind string) *site.Site {
	t.Helper()
	sites := Embedded(t)
	slices.SortFunc(sites, func(a, b *site.Site) int { return strings.Compare(a.Name, b.Name) })
	for _, s := range sites {
		if s.Kind == kind {
			return s
		}
	}
	t.Fatalf("no embedded %s site", kind)
	return nil
}

// Named returns the example site of that name.
func Named(t testing.TB, name string) *site.Site {
	t.Helper()
	for _, s := range Embedded(t) {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no embedded site %s", name)
	return nil
}
