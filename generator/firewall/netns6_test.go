package firewall_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
)

// IPv6 addresses of the IPv6 test: the documentation prefix only.
var (
	node6   = netip.MustParseAddr("2001:db8::10")
	client6 = netip.MustParseAddr("2001:db8::200")
)

// TestNamespaceIPv6 checks, for each backend, that the node drops new
// inbound IPv6 connections (the model's groups are IPv4: nothing opens
// an IPv6 port), even to ports open over IPv4 from the same client and to
// ports open to users; while loopback, connections the node makes (their
// replies are established) and neighbour discovery (without it, neither
// would work) still do, and so does IPv4.
func TestNamespaceIPv6(t *testing.T) {
	requireNamespaces(t, "ip6tables", "ip6tables-save", "ip6tables-restore")
	s := sitetest.Kind(t, site.KindHost)
	rs, err := firewall.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	n := &rs.Nodes[0]
	dir := t.TempDir()
	for p, b := range firewall.Render(compose.Header(s.File), rs) {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mgmt := rs.Groups[firewall.Management][0].Addr().Next()
	// 22 is open to management over IPv4, 80 and 443 to everyone, 9001 to
	// no one.
	ports := []int{22, 80, 443, 9001}
	var probes []string
	for _, p := range ports {
		probes = append(probes, "tcp/"+itoa(p))
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			requireTools(t, be.tools...)
			t.Parallel()
			sw := newNS(t, "sw6")
			sw.ip("link", "add", "br0", "type", "bridge")
			sw.ip("link", "set", "br0", "up")
			node := newNS(t, "node6")
			node.link(sw, n.Address)
			client := newNS(t, "mgmt6")
			client.link(sw, mgmt)
			for _, x := range []struct {
				ns   *netns
				addr netip.Addr
			}{{node, node6}, {client, client6}} {
				x.ns.exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.lo.disable_ipv6=0", "net.ipv6.conf.eth0.disable_ipv6=0")
				x.ns.ip("addr", "add", x.addr.String()+"/64", "dev", "eth0", "nodad")
			}
			node.listenEnv([]string{"NUVLAGEN_FW_NET6=1"}, ports, nil)
			node.listen([]int{22}, nil)
			client.listenEnv([]string{"NUVLAGEN_FW_NET6=1"}, []int{7000}, nil)
			node.execInput(dockerRules(), "iptables-restore")
			node.execInput(dockerRules6, "ip6tables-restore")

			expect := func(when, what string, got map[string]bool, open bool) {
				t.Helper()
				for p, o := range got {
					if o != open {
						t.Errorf("%s, %s %s: open %v, want %v", when, what, p, o, open)
					}
				}
			}
			expect("before the rules", "from the client over IPv6", client.probe(node6, probes, true), true)

			apply := []string{"bash", filepath.Join(dir, "apply.sh"), "--backend", be.name, "--force", n.Name}
			var root ufwRoot
			if be.name == "ufw" {
				root = newUFWRoot(t)
				// ufw.sh must turn ufw's IPv6 filtering on.
				b, err := os.ReadFile(root.defaults)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(root.defaults, []byte(strings.ReplaceAll(string(b), "IPV6=yes", "IPV6=no")), 0o644); err != nil {
					t.Fatal(err)
				}
				apply = root.wrap(apply)
			}
			node.exec(apply...)
			if be.name == "ufw" {
				if b, _ := os.ReadFile(root.defaults); !strings.Contains(string(b), "\nIPV6=yes\n") {
					t.Errorf("ufw.sh left /etc/default/ufw without IPV6=yes:\n%s", b)
				}
				if !strings.Contains(node.exec("ip6tables-save"), "-A DOCKER-USER -j "+firewall.ChainPublished) {
					t.Error("ufw.sh's after6.rules block does not filter IPv6 published ports")
				}
			}

			expect("after the rules", "from the client over IPv6", client.probe(node6, probes, false), false)
			expect("after the rules", "on the node's loopback", node.probe(netip.IPv6Loopback(), probes, false), true)
			expect("after the rules", "from the node to the client (replies established)", node.probe(client6, []string{"tcp/7000"}, false), true)
			expect("after the rules", "from management over IPv4", client.probe(n.Address, []string{"tcp/22"}, false), true)
		})
	}
}

func itoa(n int) string { return joinInts([]int{n}) }
