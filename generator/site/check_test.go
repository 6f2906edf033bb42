package site

import (
	"net/netip"
	"slices"
	"testing"

	"cuelang.org/go/cue"
)

func TestNodeMatches(t *testing.T) {
	n := Node{Name: "n1", Address: netip.MustParseAddr("192.0.2.1"), Role: "worker", Labels: map[string]string{"type": "worker-db", "disk": "ssd"}}
	tests := []struct {
		constraints []string
		want        bool
	}{
		{nil, true},
		{[]string{"node.labels.type == worker-db"}, true},
		{[]string{"node.labels.type==worker-db"}, true},
		{[]string{"node.labels.type == frontend"}, false},
		{[]string{"node.labels.type != frontend"}, true},
		{[]string{"node.labels.type != worker-db"}, false},
		{[]string{"node.labels.missing == x"}, false},
		{[]string{"node.labels.missing != x"}, true},
		{[]string{"node.role == worker"}, true},
		{[]string{"node.role == manager"}, false},
		{[]string{"node.role != manager"}, true},
		{[]string{"node.hostname == n1"}, true},
		{[]string{"node.hostname == n2"}, false},
		{[]string{"node.role == worker", "node.labels.disk == ssd"}, true},
		{[]string{"node.role == worker", "node.labels.disk == hdd"}, false},
		// Unknown forms are assumed satisfiable: a false error would block.
		{[]string{"engine.labels.os == linux"}, true},
		{[]string{"node.platform.os == linux"}, true},
	}
	for _, tt := range tests {
		if got := nodeMatches(n, tt.constraints); got != tt.want {
			t.Errorf("nodeMatches(%q) = %v, want %v", tt.constraints, got, tt.want)
		}
	}
}

func TestLoadForms(t *testing.T) {
	l, err := NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	const body = `kind: "host"
nodes: {
	m: {address: "192.0.2.1", role: "manager", labels: type: "frontend"}
	j: {address: "192.0.2.2", role: "worker", labels: type: "worker-job"}
	d: {address: "192.0.2.3", role: "worker", labels: type: "worker-db"}
}
groups: management: ["198.51.100.0/28"]
`
	bare, err := l.Load("bare.cue", []byte("name: \"bare\"\ndomain: \"a.example.org\"\n"+body))
	if err != nil {
		t.Fatal(err)
	}
	if len(bare) != 1 || bare[0].Name != "bare" {
		t.Fatalf("bare form: got %d sites", len(bare))
	}
	// Two sites sharing their defaults by unification with a definition
	// of the model (#Site), which site files may reference.
	multi, err := l.Load("multi.cue", []byte(`_common: {
`+body+`}
sites: one: _common & {domain: "a.example.org"}
sites: two: _common & {domain: "b.example.org", networks: public: "edge"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(multi) != 2 || multi[0].Name != "one" || multi[1].Name != "two" {
		t.Fatalf("map form: got %v", multi)
	}
	if multi[1].Networks.Public != "edge" || multi[0].Networks.Public != "traefik-public" {
		t.Errorf("networks: %+v, %+v", multi[0].Networks, multi[1].Networks)
	}
	s := multi[0]
	var order []string
	for _, st := range s.Stacks {
		order = append(order, st.Name+"/"+st.Role)
	}
	if want := []string{"traefik/traefik", "prometheus/monitoring", "db/db", "nuvla/core"}; !slices.Equal(order, want) {
		t.Errorf("stacks (name/role) not in deploy order: got %v, want %v", order, want)
	}
	if n, ok := s.Node("j"); !ok || n.Address.String() != "192.0.2.2" {
		t.Errorf("Node(j) = %v, %v", n, ok)
	}
	if _, ok := s.Node("zz"); ok {
		t.Error("Node(zz) found")
	}
	if len(s.Groups.Users) != 1 || s.Groups.Users[0].String() != "0.0.0.0/0" {
		t.Errorf("users default: %v", s.Groups.Users)
	}
	if s.EphemeralPorts != (PortRange{32768, 60999}) {
		t.Errorf("ephemeral default: %v", s.EphemeralPorts)
	}
}

// A site file's own definitions are its own: one named like the model's
// (#Site, #Port) neither adds a field to every site nor constrains the
// model's ports; before, the file's root was unified with the model's.
func TestFileCannotChangeTheModel(t *testing.T) {
	l, err := NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	sites, err := l.Load("own.cue", []byte(`#Site: {bogus: 1}
#Port: 80
sites: one: {
	kind: "target"
	host: "h"
	domain: "a.example.org"
	nodes: m: {address: "203.0.113.1", role: "manager", nfsServer: true}
	groups: management: ["198.51.100.0/28"]
}
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sites[0].value.LookupPath(cue.ParsePath("bogus")).Default(); ok {
		t.Error("the file's #Site added a field to the model's sites")
	}
	ssh := sites[0].value.LookupPath(cue.ParsePath("firewall.sensitiveNumbers.ssh.port"))
	if n, err := ssh.Int64(); err != nil || n != 22 {
		t.Errorf("ssh port = %v, %v: the file's #Port reached the model", n, err)
	}
}

// TestCrossSiteReferences: a site of a file may refer to another site of
// it, and sees there what the model fills in (a name, a default), in a
// value or in a condition.
func TestCrossSiteReferences(t *testing.T) {
	l, err := NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	const one = `sites: one: {
	kind: "target"
	host: "h"
	domain: "a.example.org"
	nodes: m: {address: "203.0.113.1", role: "manager", nfsServer: true}
	groups: management: ["198.51.100.0/28"]
}
_two: {
	kind: "target"
	host: "h"
	nodes: m: {address: "203.0.113.2", role: "manager", nfsServer: true}
	groups: management: ["198.51.100.0/28"]
}
`
	for _, tc := range []struct {
		name, two string
		check     func(s *Site) string
	}{
		{"a name the model fills in", `sites: two: _two & {domain: "b-\(sites.one.name).example.org"}`, func(s *Site) string { return s.Domain }},
		{"a default of the model", `sites: two: _two & {domain: "b.example.org", networks: public: sites.one.networks.public}`, func(s *Site) string { return s.Networks.Public }},
		{"a condition on what the model fills in", `sites: two: _two & {domain: "b.example.org"
	if sites.one.name != _|_ {networks: public: "named"}}`, func(s *Site) string { return s.Networks.Public }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sites, err := l.Load("refs.cue", []byte(one+tc.two+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, s := range sites {
				if s.Name == "two" {
					got = tc.check(s)
				}
			}
			want := map[string]string{"a name the model fills in": "b-one.example.org", "a default of the model": "traefik-public", "a condition on what the model fills in": "named"}[tc.name]
			if got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}
