package pipeline

import (
	"bytes"
	"testing"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
)

// TestCompanionsLoadInOrder: the files beside an input load in parallel,
// but of two that define its host, the first looked up is the one the
// target links with, on every run, whichever finished loading first.
func TestCompanionsLoadInOrder(t *testing.T) {
	var host, target []byte
	for _, f := range nuvlacue.Sites() {
		switch f.Name {
		case "cue/sites/example-host.cue":
			host = f.Data
		case "cue/sites/example-target.cue":
			target = f.Data
		}
	}
	if host == nil || target == nil {
		t.Fatal("the embedded example sites are missing")
	}
	other := bytes.Replace(host, []byte(`domain: "nuvla.example.org"`), []byte(`domain: "other.example.org"`), 1)
	if bytes.Equal(other, host) {
		t.Fatal("the host's domain is not where the test expects it")
	}
	for _, tc := range []struct {
		beside []Input
		want   string
	}{
		{[]Input{{Name: "a/host.cue", Data: host}, {Name: "b/host.cue", Data: other}}, "nuvla.example.org"},
		{[]Input{{Name: "a/host.cue", Data: other}, {Name: "b/host.cue", Data: host}}, "other.example.org"},
	} {
		for range 5 {
			sites, _, err := LoadLinked([]Input{{Name: "target.cue", Data: target}}, func(Input) []Input { return tc.beside })
			if err != nil {
				t.Fatal(err)
			}
			if len(sites) != 1 || sites[0].Link == nil {
				t.Fatalf("the target did not link: %v", sites)
			}
			if got := sites[0].Link.HostDomain; got != tc.want {
				t.Fatalf("companions %s, %s: the target linked with the host of domain %s, want %s (the first file's)", tc.beside[0].Name, tc.beside[1].Name, got, tc.want)
			}
		}
	}
}
