package site

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"cuelang.org/go/cue/errors"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
)

const linkHost = `package nuvla

sites: h: {
	kind:   "host"
	domain: "nuvla.example.org"
	nodes: {
		"h-manager": {address: "192.0.2.10", role: "manager", labels: type: "frontend"}
		"h-jobs-1": {address: "192.0.2.11", role: "worker", labels: type: "worker-job"}
		"h-jobs-2": {address: "192.0.2.13", role: "worker", labels: type: "worker-job"}
		"h-db": {address: "192.0.2.12", role: "worker", labels: type: "worker-db"}
	}
	groups: management: ["198.51.100.0/28"]
	%s
}
`

const linkTarget = `package nuvla

sites: %s: {
	kind:   "target"
	host:   "h"
	domain: "%s.example.org"
	nodes: "%s-manager": {address: "%s", role: "manager", nfsServer: true}
	groups: management: ["198.51.100.0/28"]
	%s
}
`

func linkFiles(hostExtra string, targets ...[4]string) []nuvlacue.File {
	files := []nuvlacue.File{{Name: "h.cue", Data: []byte(strings.Replace(linkHost, "%s", hostExtra, 1))}}
	for _, t := range targets {
		src := strings.NewReplacer("%s: {", t[0]+": {", "\"%s.example.org\"", "\""+t[0]+".example.org\"", "\"%s-manager\"", "\""+t[0]+"-manager\"", "\"%s\", role", "\""+t[1]+"\", role", "\t%s\n}", "\t"+t[2]+"\n}").Replace(linkTarget)
		files = append(files, nuvlacue.File{Name: t[0] + ".cue", Data: []byte(src)})
	}
	return files
}

func TestLinkDeployments(t *testing.T) {
	l, err := NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	pfx := func(list ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range list {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		files     []nuvlacue.File
		wantNuvla map[string][]netip.Prefix
		derived   map[string]bool
		err       string
	}{{
		name:  "derived from the nodes of the api and the job executors",
		files: linkFiles("", [4]string{"a", "203.0.113.10", ""}, [4]string{"b", "203.0.113.20", ""}),
		wantNuvla: map[string][]netip.Prefix{
			"a": pfx("192.0.2.10/32", "192.0.2.11/32", "192.0.2.13/32"),
			"b": pfx("192.0.2.10/32", "192.0.2.11/32", "192.0.2.13/32"),
		},
		derived: map[string]bool{"a": true, "b": true},
	}, {
		name:      "the host's egress, behind NAT",
		files:     linkFiles(`egress: ["198.51.100.64/30"]`, [4]string{"a", "203.0.113.10", ""}),
		wantNuvla: map[string][]netip.Prefix{"a": pfx("198.51.100.64/30")},
		derived:   map[string]bool{"a": true},
	}, {
		name:      "written in the target: kept",
		files:     linkFiles("", [4]string{"a", "203.0.113.10", `groups: nuvla: ["192.0.2.0/24"]`}),
		wantNuvla: map[string][]netip.Prefix{"a": pfx("192.0.2.0/24")},
		derived:   map[string]bool{"a": false},
	}, {
		name:  "two targets with one address",
		files: linkFiles("", [4]string{"a", "203.0.113.10", ""}, [4]string{"b", "203.0.113.10", ""}),
		err:   "b.cue:7:32: site b: node b-manager has address 203.0.113.10, as does a-manager of site a",
	}, {
		name:  "a target on the host's address",
		files: linkFiles("", [4]string{"a", "192.0.2.12", ""}),
		err:   "node a-manager has address 192.0.2.12, as does h-db of site h",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			sites, err := l.LoadFiles(tc.files)
			if tc.err != "" {
				if err == nil || !strings.Contains(errorsText(err), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var host *Site
			for _, s := range sites {
				if s.Kind == KindHost {
					host = s
				}
			}
			if host.Link == nil || len(host.Link.Targets) != len(tc.wantNuvla) {
				t.Fatalf("host link %+v", host.Link)
			}
			for _, s := range sites {
				want, ok := tc.wantNuvla[s.Name]
				if !ok {
					continue
				}
				if !slices.Equal(s.Groups.Nuvla, want) || s.NuvlaDerived != tc.derived[s.Name] {
					t.Errorf("%s: nuvla %v (derived %v), want %v (%v)", s.Name, s.Groups.Nuvla, s.NuvlaDerived, want, tc.derived[s.Name])
				}
				if s.Link == nil || s.Link.Host != "h" || s.Link.HostDomain != "nuvla.example.org" {
					t.Errorf("%s: link %+v", s.Name, s.Link)
				}
				i := slices.IndexFunc(host.Link.Targets, func(p Peer) bool { return p.Name == s.Name })
				edge, _ := s.Node(s.Edge)
				if i < 0 || host.Link.Targets[i].DockerEndpoint != "https://"+edge.Address.String()+":2376" || host.Link.Targets[i].S3Endpoint != "https://s3."+s.Name+".example.org" {
					t.Errorf("%s: the host knows it as %+v", s.Name, host.Link.Targets)
				}
			}
			if d := OneDeployment(sites); d == nil || d.Host != host {
				t.Errorf("OneDeployment: %+v", d)
			}
			if a, ok := NodeAddress(sites[1:], "h-jobs-2"); !ok || a.String() != "192.0.2.13" {
				t.Errorf("NodeAddress of a host node, from a target: %v %v", a, ok)
			}
		})
	}
}

func errorsText(err error) string {
	var b strings.Builder
	b.WriteString(err.Error())
	for _, e := range errors.Errors(err) {
		b.WriteString("\n" + e.Position().String() + ": " + e.Error())
		if p := e.Position(); p.IsValid() {
			b.WriteString("\n" + p.Filename() + ":" + strconv.Itoa(p.Line()) + ":" + strconv.Itoa(p.Column()) + ": " + e.Error())
		}
	}
	return b.String()
}
