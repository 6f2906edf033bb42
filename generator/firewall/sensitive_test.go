package firewall_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/site"
)

// slash16s lists n /16 prefixes from 11.0.0.0 on, quoted for CUE.
func slash16s(n int) string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%q", netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(11 + i/256), byte(i % 256), 0, 0}), 16)))
	}
	return strings.Join(out, ", ")
}

// TestSensitive: sensitive ports are properties of the ports (and of
// their numbers), so every rule that opens one, the site's own too, is
// judged: to the classes the port allows, and to no more than a /8 worth
// of addresses. firewall.openToWorld turns the error into a warning.
func TestSensitive(t *testing.T) {
	const mgmt = `"198.51.100.0/28"`
	for _, tc := range []struct {
		name, management, nuvla, extra string
		errs                           []string // error lines, exactly; none: compiles
		warn                           string   // a warning it must give
	}{
		{name: "examples", management: mgmt},
		{name: "a site rule opens the Docker API to users", management: mgmt,
			extra: `firewall: rules: app: {service: "app", ports: ["docker-api"], from: ["users"]}`,
			errs:  []string{`t.cue:14:18: firewall rule app opens sensitive ports to users: 2376/tcp (port docker-api, for nuvla only); narrow the rule, or list "app" in firewall.openToWorld`}},
		{name: "listed in openToWorld", management: mgmt,
			extra: `firewall: rules: app: {service: "app", ports: ["docker-api"], from: ["users"]}
	firewall: openToWorld: ["app"]`,
			warn: "site t, rule app: opens sensitive ports beyond what they allow (other classes, or more addresses than a /8): firewall.openToWorld lets it"},
		{name: "a named port renumbered onto 2376", management: mgmt,
			extra: `firewall: ports: http: from: 2376`,
			errs:  []string{`t.cue:14:18: firewall rule http opens sensitive ports to users: 2376/tcp (port docker-api, for nuvla only); narrow the rule, or list "http" in firewall.openToWorld`}},
		{name: "a port named otherwise over 2375-2377", management: mgmt,
			extra: `firewall: ports: tools: {from: 2370, to: 2380, protocols: ["tcp", "udp"]}
	firewall: rules: tools: {service: "tools", ports: ["tools"], from: ["management", "users"]}`,
			errs: []string{`t.cue:15:19: firewall rule tools opens sensitive ports to management, users: 2375/tcp (firewall.sensitiveNumbers docker-api-plain, for no class), 2375/udp (firewall.sensitiveNumbers docker-api-plain, for no class), 2376/tcp (port docker-api, for nuvla only), 2376/udp (firewall.sensitiveNumbers docker-api, for nuvla only), 2377/tcp (port swarm-manager, for nuvla, cluster only), 2377/udp (firewall.sensitiveNumbers swarm-manager, for nuvla, cluster only); narrow the rule, or list "tools" in firewall.openToWorld`}},
		{name: "ssh renumbered stays sensitive", management: mgmt,
			extra: `firewall: ports: ssh: from: 2222
	firewall: rules: app: {service: "app", ports: ["ssh"], from: ["users"]}`,
			errs: []string{`t.cue:15:19: firewall rule app opens sensitive ports to users: 2222/tcp (port ssh, for management only); narrow the rule, or list "app" in firewall.openToWorld`}},
		{name: "the ephemeral range over the Docker API", management: mgmt,
			extra: `ephemeralPorts: {from: 2000, to: 3000}`,
			errs:  []string{`firewall rule ephemeral opens sensitive ports to users: 2049/tcp (port nfsd, for cluster only), 2375/tcp (firewall.sensitiveNumbers docker-api-plain, for no class), 2376/tcp (port docker-api, for nuvla only), 2377/tcp (port swarm-manager, for nuvla, cluster only); narrow the rule, or list "ephemeral" in firewall.openToWorld`}},
		{name: "management split in halves", management: `"0.0.0.0/1", "128.0.0.0/1"`,
			errs: []string{
				`t.cue:11:3: groups.management (0.0.0.0/1, 128.0.0.0/1) would open sensitive 22/tcp (rule ssh) to 4294967296 addresses, more than a /8 holds: that is the whole Internet; narrow the group, or list "ssh" in firewall.openToWorld`,
				`t.cue:11:3: groups.management (0.0.0.0/1, 128.0.0.0/1) would open sensitive 8080/tcp (rule traefik) to 4294967296 addresses, more than a /8 holds: that is the whole Internet; narrow the group, or list "traefik" in firewall.openToWorld`,
			}},
		{name: "halves said explicitly", management: `"0.0.0.0/1", "128.0.0.0/1"`, extra: `firewall: openToWorld: ["ssh", "traefik"]`,
			warn: "site t, rule ssh: opens sensitive ports beyond what they allow"},
		{name: "257 /16s are more than a /8", management: slash16s(257),
			errs: []string{
				`t.cue:11:3: groups.management (11.0.0.0/16, `,
				`would open sensitive 22/tcp (rule ssh) to 16842752 addresses, more than a /8 holds`,
			}},
		{name: "256 /16s are a /8", management: slash16s(256)},
		{name: "a /8 of Nuvla with the cluster is more than a /8", management: mgmt, nuvla: `"10.0.0.0/8"`,
			errs: []string{`t.cue:12:3: the nodes (203.0.113.10/32, 203.0.113.11/32) and groups.nuvla (10.0.0.0/8) would open sensitive 2377/tcp (rule swarm-manager) to 16777218 addresses, more than a /8 holds: that is the whole Internet; narrow the group, or list "swarm-manager" in firewall.openToWorld`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nuvla := tc.nuvla
			if nuvla == "" {
				nuvla = `"192.0.2.10/32"`
			}
			s := loadTestNuvla(t, tc.management, nuvla, tc.extra)
			rs, err := firewall.Compile(s)
			got := diag.Lines(err, "")
			for i := range got {
				got[i], _, _ = strings.Cut(got[i], " (rule at ")
			}
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatalf("unexpected errors:\n%s", strings.Join(got, "\n"))
				}
			} else {
				if err == nil {
					t.Fatalf("compiled; want errors:\n%s", strings.Join(tc.errs, "\n"))
				}
				all := strings.Join(got, "\n")
				for _, w := range tc.errs {
					if !strings.Contains(all, w) {
						t.Errorf("errors lack %q:\n%s", w, all)
					}
				}
				if len(tc.errs) > 1 && !strings.HasPrefix(tc.errs[1], "t.cue") {
					return // one line in parts
				}
				if len(got) != len(tc.errs) {
					t.Errorf("%d errors, want %d:\n%s", len(got), len(tc.errs), all)
				}
				return
			}
			if tc.warn != "" {
				var ws []string
				for _, w := range rs.Warnings {
					ws = append(ws, w.Msg)
				}
				if all := strings.Join(ws, "\n"); !strings.Contains(all, tc.warn) {
					t.Errorf("warnings lack %q:\n%s", tc.warn, all)
				}
			}
		})
	}
}

// TestSensitiveModel: a site cannot weaken the model's sensitive ports.
func TestSensitiveModel(t *testing.T) {
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	for _, extra := range []string{
		`firewall: sensitiveNumbers: ssh: from: ["management", "users"]`,
		`firewall: ports: "docker-api": sensitive: ["nuvla", "users"]`,
		`firewall: sensitiveNumbers: ssh: port: 23`,
	} {
		src := fmt.Sprintf(testSite, `"198.51.100.0/28"`, `"192.0.2.10/32"`, extra)
		if _, err := l.Load("t.cue", []byte(src)); err == nil {
			t.Errorf("a site with %s loads", extra)
		} else {
			t.Logf("%s: %s", extra, strings.Join(diag.Lines(err, ""), "; "))
		}
	}
}

func TestAddresses(t *testing.T) {
	pp := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, x := range s {
			out = append(out, netip.MustParsePrefix(x))
		}
		return out
	}
	for _, tc := range []struct {
		in   []netip.Prefix
		want uint64
	}{
		{pp("0.0.0.0/0"), 1 << 32},
		{pp("0.0.0.0/1", "128.0.0.0/1"), 1 << 32},
		{pp("10.0.0.0/8", "10.1.0.0/16", "10.0.0.1/32"), 1 << 24},
		{pp("192.0.2.10/32", "192.0.2.10/32"), 1},
		{nil, 0},
	} {
		if got := firewall.Addresses(tc.in); got != tc.want {
			t.Errorf("Addresses(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
