package deployment

import (
	"net/netip"
	"strings"
	"testing"

	"cuelang.org/go/cue/errors"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/site"
)

const host = `package nuvla

sites: h: {
	kind:   "host"
	domain: "nuvla.example.org"
	nodes: {
		"h-manager": {address: "192.0.2.10", role: "manager", labels: type: "frontend"}
		"h-jobs": {address: "192.0.2.11", role: "worker", labels: type: "worker-job"}
		"h-db": {address: "192.0.2.12", role: "worker", labels: type: "worker-db"}
	}
	groups: management: ["198.51.100.0/28"]
}
`

// TestCheck asks each target's firewall about each host connection: the
// Docker API (2376) from the job executors, S3 through Traefik (443)
// from the api and the job executors.
func TestCheck(t *testing.T) {
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, groups string
		want         []string // messages, in order; none: admitted
	}{
		{"derived", `management: ["198.51.100.0/28"]`, nil},
		{"written, admitting both", `{management: ["198.51.100.0/28"], nuvla: ["192.0.2.8/29"]}`, nil},
		{"the job node missing", `{management: ["198.51.100.0/28"], nuvla: ["192.0.2.10/32"]}`, []string{
			"site t: the firewall blocks h-jobs (192.0.2.11) of host h, which runs job-executor, from t-manager's 2376/tcp: add 192.0.2.11/32 to groups.nuvla",
		}},
		{"users narrowed: S3 must come through nuvla", `{management: ["198.51.100.0/28"], users: ["10.0.0.0/8"], nuvla: ["192.0.2.11/32"]}`, []string{
			"site t: the firewall blocks h-manager (192.0.2.10) of host h, which runs api, from t-manager's 443/tcp: add 192.0.2.10/32 to groups.nuvla",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := `package nuvla

sites: t: {
	kind:   "target"
	host:   "h"
	domain: "t.example.org"
	nodes: "t-manager": {address: "203.0.113.10", role: "manager", nfsServer: true}
	groups: ` + tc.groups + `
}
`
			sites, err := l.LoadFiles([]nuvlacue.File{{Name: "h.cue", Data: []byte(host)}, {Name: "t.cue", Data: []byte(target)}})
			if err != nil {
				t.Fatal(err)
			}
			err = Check(sites)
			var got []string
			for _, e := range errors.Errors(err) {
				if e.Position().Filename() != "t.cue" {
					t.Errorf("%v: positioned in %q, want the target's file", e, e.Position().Filename())
				}
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Check:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestLastAddr(t *testing.T) {
	for in, want := range map[string]string{
		"198.51.100.64/30": "198.51.100.67",
		"192.0.2.0/24":     "192.0.2.255",
		"10.0.0.0/8":       "10.255.255.255",
		"192.0.2.7/32":     "192.0.2.7",
		"0.0.0.0/0":        "255.255.255.255",
		"203.0.113.130/25": "203.0.113.255",
	} {
		if got := lastAddr(netip.MustParsePrefix(in)); got.String() != want {
			t.Errorf("lastAddr(%s) = %s, want %s", in, got, want)
		}
	}
}
