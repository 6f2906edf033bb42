package firewall_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/site"
)

func TestSpans(t *testing.T) {
	sp := func(pairs ...int) []firewall.Span {
		var out []firewall.Span
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, firewall.Span{From: pairs[i], To: pairs[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		got, want []firewall.Span
	}{
		{"merge sorts", firewall.Merge(sp(443, 443, 80, 80)), sp(80, 80, 443, 443)},
		{"merge joins touching", firewall.Merge(sp(2376, 2376, 2377, 2377)), sp(2376, 2377)},
		{"merge joins overlapping", firewall.Merge(sp(10, 20, 15, 30, 40, 40)), sp(10, 30, 40, 40)},
		{"subtract inside", firewall.Subtract(sp(32768, 60999), sp(33333, 33333)), sp(32768, 33332, 33334, 60999)},
		{"subtract edge", firewall.Subtract(sp(32768, 60999), sp(32768, 32768)), sp(32769, 60999)},
		{"subtract all", firewall.Subtract(sp(22, 22), sp(1, 100)), nil},
		{"subtract none", firewall.Subtract(sp(22, 22), sp(23, 23)), sp(22, 22)},
		{"intersect", firewall.Intersect(sp(2376, 2377), sp(2377, 2377, 9000, 9001)), sp(2377, 2377)},
		{"intersect empty", firewall.Intersect(sp(80, 80), sp(443, 443)), nil},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestMinimal(t *testing.T) {
	pp := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, x := range s {
			out = append(out, netip.MustParsePrefix(x))
		}
		return out
	}
	for _, tc := range []struct{ in, want []netip.Prefix }{
		{pp("10.1.0.0/16", "10.0.0.0/8"), pp("10.0.0.0/8")},
		{pp("192.0.2.10/32", "192.0.2.10/32"), pp("192.0.2.10/32")},
		{pp("203.0.113.0/24", "198.51.100.0/28"), pp("198.51.100.0/28", "203.0.113.0/24")},
		{pp("198.51.100.0/28", "0.0.0.0/0"), pp("0.0.0.0/0")},
	} {
		if got := firewall.Minimal(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Minimal(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

const testSite = `package nuvla

sites: t: {
	kind:   "target"
	domain: "t.example.org"
	nodes: {
		m1: {address: "203.0.113.10", role: "manager", nfsServer: true}
		w1: {address: "203.0.113.11", role: "worker"}
	}
	groups: {
		management: [%s]
		nuvla: [%s]
	}
%s
}
`

func loadTest(t *testing.T, management, extra string) *site.Site {
	return loadTestNuvla(t, management, `"192.0.2.10/32"`, extra)
}

func loadTestNuvla(t *testing.T, management, nuvla, extra string) *site.Site {
	t.Helper()
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	return loadWith(t, l, management, nuvla, extra)
}

// loadUnchecked loads the test site with a model that does not check the
// references between the firewall tables (cue/references.cue), as another
// revision's model may not: Compile checks them too.
func loadUnchecked(t *testing.T, management, extra string) *site.Site {
	t.Helper()
	var schema []nuvlacue.File
	for _, f := range nuvlacue.Schema() {
		if f.Name != "cue/references.cue" {
			schema = append(schema, f)
		}
	}
	if len(schema) == len(nuvlacue.Schema()) {
		t.Fatal("no cue/references.cue in the model")
	}
	l, err := site.NewLoaderFromFiles(schema)
	if err != nil {
		t.Fatal(err)
	}
	return loadWith(t, l, management, `"192.0.2.10/32"`, extra)
}

func loadWith(t *testing.T, l *site.Loader, management, nuvla, extra string) *site.Site {
	t.Helper()
	sites, err := l.Load("t.cue", []byte(fmt.Sprintf(testSite, management, nuvla, extra)))
	if err != nil {
		t.Fatalf("loading: %v", diag.Lines(err, ""))
	}
	return sites[0]
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, management, extra string
		want                    []string // error lines; none: compiles
	}{
		{"example groups", `"198.51.100.0/28"`, "", nil},
		{"management open to the world", `"0.0.0.0/0"`, "", []string{
			`t.cue:11:3: groups.management (0.0.0.0/0) would open sensitive 22/tcp (rule ssh) to 4294967296 addresses, more than a /8 holds: that is the whole Internet; narrow the group, or list "ssh" in firewall.openToWorld`,
			`t.cue:11:3: groups.management (0.0.0.0/0) would open sensitive 8080/tcp (rule traefik)`,
		}},
		{"said explicitly", `"0.0.0.0/0"`, `firewall: openToWorld: ["ssh", "traefik"]`, nil},
		// The model refuses these (cue/references.cue, see
		// TestReferences in generator/site); a model without the check:
		{"unknown rule", `"198.51.100.0/28"`, `unchecked:firewall: openToWorld: ["sssh"]`, []string{`t.cue:14:11: firewall.openToWorld names rule "sssh", which does not exist`}},
		{"unknown port", `"198.51.100.0/28"`, `unchecked:firewall: rules: app: {service: "app", ports: ["nope"], from: ["users"]}`, []string{`t.cue:14:18: firewall rule app names port "nope", which firewall.ports does not define`}},
		{"unknown carve-out", `"198.51.100.0/28"`, `unchecked:firewall: rules: app: {service: "app", ports: ["http"], except: ["nope"], from: ["users"]}`, []string{`t.cue:14:18: firewall rule app carves out port "nope", which firewall.ports does not define`}},
		{"nuvla open to the world", `"198.51.100.0/28"`, "nuvla:0.0.0.0/0", []string{`t.cue:12:3: groups.nuvla (0.0.0.0/0) would open sensitive 2376/tcp (rule docker) to 4294967296 addresses`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s *site.Site
			if n, ok := strings.CutPrefix(tc.extra, "nuvla:"); ok {
				s = loadTestNuvla(t, tc.management, fmt.Sprintf("%q", n), "")
			} else if extra, ok := strings.CutPrefix(tc.extra, "unchecked:"); ok {
				s = loadUnchecked(t, tc.management, extra)
			} else {
				s = loadTest(t, tc.management, tc.extra)
			}
			_, err := firewall.Compile(s)
			got := strings.Join(diag.Lines(err, ""), "\n")
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error:\n%s", got)
				}
				return
			}
			if err == nil {
				t.Fatalf("compiled; want errors %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("errors lack %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		want        []string
	}{
		{"seed defects", "", []string{
			"rule ephemeral: the seed opens the ephemeral range 32768-60999/tcp to users, which includes NFS mountd's 33333/tcp",
			"rule swarm-manager: the seed opens 2377/tcp (Swarm management) only to nuvla",
			"rule swarm-published: the seed opens only the ephemeral range to users, but Swarm publishes a service's port without a fixed number from 30000-32767/tcp",
		}},
		// (An ephemeral range over sensitive ports is an error: see
		// TestSensitive.)
		{"ephemeral range over an application's port", `ephemeralPorts: {from: 9000, to: 9100}
	firewall: ports: app: {from: 9050, to: 9051, protocols: ["tcp"]}
	firewall: rules: app: {service: "app", ports: ["app"], from: ["management", "cluster"]}`, []string{
			"port 9050-9051/tcp overlaps: rule app (from management, cluster) is shadowed there by rule ephemeral, which opens it to users (nodes m1, w1)",
		}},
		{"narrow users", `groups: users: ["198.51.100.128/25"]
	ephemeralPorts: {from: 9000, to: 9100}
	firewall: ports: app: {from: 9050, protocols: ["tcp"]}
	firewall: rules: app: {service: "app", ports: ["app"], from: ["management"]}`, []string{
			"port 9050/tcp overlaps: rule ephemeral opens it to users and rule app to management: each widens what the other intends",
		}},
		{"duplicate", `firewall: rules: ssh2: {service: "ssh", ports: ["ssh"], from: ["management"]}`, []string{
			"port 22/tcp overlaps: rules ssh and ssh2 both open it to the same sources (management): one is redundant",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := loadTest(t, `"198.51.100.0/28"`, tc.extra)
			rs, err := firewall.Compile(s)
			if err != nil {
				t.Fatal(diag.Lines(err, ""))
			}
			var got []string
			for _, w := range rs.Warnings {
				got = append(got, w.Msg)
			}
			all := strings.Join(got, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("warnings lack %q:\n%s", w, all)
				}
			}
			if tc.name == "seed defects" && len(got) != 3 {
				t.Errorf("want only the three seed defects, got:\n%s", all)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	s := loadTest(t, `"198.51.100.0/28"`, "")
	rs, err := firewall.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		from, node, proto string
		port              int
		allowed           bool
		rule              string
	}{
		{"198.51.100.1", "m1", "tcp", 22, true, "ssh"},
		{"198.51.100.1", "m1", "udp", 22, false, ""},
		{"198.51.100.200", "m1", "tcp", 22, false, ""},
		{"203.0.113.11", "m1", "tcp", 2377, true, "swarm-manager"},
		{"203.0.113.10", "w1", "tcp", 2377, false, ""},
		{"192.0.2.10", "w1", "tcp", 2376, true, "docker"},
		{"198.51.100.200", "w1", "tcp", 2376, false, ""},
		{"198.51.100.200", "w1", "tcp", 33333, false, ""},
		{"203.0.113.10", "w1", "tcp", 33333, true, "nfs"},
		{"198.51.100.200", "w1", "tcp", 33332, true, "ephemeral"},
		{"198.51.100.200", "w1", "udp", 40000, false, ""},
		{"198.51.100.200", "w1", "tcp", 443, true, "http"},
		{"198.51.100.200", "w1", "tcp", 9000, false, ""},
	} {
		d, err := rs.Query(netip.MustParseAddr(tc.from), tc.node, tc.proto, tc.port)
		if err != nil {
			t.Fatal(err)
		}
		rule := ""
		if d.Rule != nil {
			rule = d.Rule.Name
		}
		if d.Allowed != tc.allowed || rule != tc.rule {
			t.Errorf("%s -> %s %d/%s: allowed %v by %q, want %v by %q", tc.from, tc.node, tc.port, tc.proto, d.Allowed, rule, tc.allowed, tc.rule)
		}
	}
}
