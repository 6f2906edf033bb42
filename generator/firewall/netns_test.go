package firewall_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rogpeppe/go-internal/diff"

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/firewall"
)

// The namespace test builds, per node and backend, a small network in
// namespaces of its own: the node (with the generated rules, listeners on
// every port the tables name and on ports around and outside them, and a
// "container" namespace behind a docker0 bridge reached through DNAT, as
// Docker publishes ports), and clients for each source class on one
// bridge. It sends real TCP and UDP packets from every client to every
// port and compares what gets through with the model's answer.
//
// Addresses come from the documentation ranges (the example sites' own)
// and link-local space only. Every namespace is deleted when the test
// ends, pass or fail; nothing outside them is touched.

// published are the ports the fake Docker publishes (DNAT to the
// container, which listens on port+10000), like Traefik's 80, 443, 8080
// and an application's 9000 (opened by no table) or 40000 (in the target
// sites' ephemeral range).
var published = []struct {
	proto string
	port  int
}{{"tcp", 80}, {"tcp", 443}, {"tcp", 8080}, {"tcp", 9000}, {"tcp", 40000}, {"udp", 9000}}

const containerOffset = 10000

// Link-local addresses of the fake docker0 and its one container.
const (
	docker0Addr   = "169.254.77.1"
	containerAddr = "169.254.77.2"
)

var nsSeq atomic.Int64

type netns struct {
	t    *testing.T
	name string
}

// requireEnv turns the namespace tests' skips into failures, where they
// must run (CI as root, make e2e-firewall).
const requireEnv = "NUVLAGEN_E2E_NETNS"

// skip skips the test, or fails it when requireEnv is set.
func skip(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv(requireEnv) != "" {
		t.Fatalf(format+" (and %s is set: these tests must run here)", append(args, requireEnv)...)
	}
	t.Skipf(format+" (set %s=1 to make this a failure)", append(args, requireEnv)...)
}

// requireTools skips (see skip) unless every tool is installed.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			skip(t, "needs %s (apt-get install nftables iptables iproute2 ufw)", tool)
		}
	}
}

func requireNamespaces(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "needs root to create network namespaces (make e2e-firewall as root; .ci/run runs as root)")
	}
	requireTools(t, append([]string{"ip", "iptables", "iptables-save", "iptables-restore"}, tools...)...)
	nsOnce.Do(func() {
		name := fmt.Sprintf("nuvlafw-%d-probe", os.Getpid())
		if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
			nsErr = fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
			return
		}
		exec.Command("ip", "netns", "del", name).Run()
	})
	if nsErr != nil {
		skip(t, "cannot create network namespaces here (a container without CAP_SYS_ADMIN?): %v", nsErr)
	}
}

var (
	nsOnce sync.Once
	nsErr  error
)

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newNS creates a namespace that is deleted when the test ends.
func newNS(t *testing.T, role string) *netns {
	t.Helper()
	name := fmt.Sprintf("nuvlafw-%d-%d-%s", os.Getpid(), nsSeq.Add(1), role)
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("deleting namespace %s: %v\n%s", name, err, out)
		}
	})
	ns := &netns{t: t, name: name}
	ns.ip("link", "set", "lo", "up")
	// IPv6 only adds noise (router solicitations, DAD) to the counters
	// the idempotence check compares.
	ns.exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	return ns
}

func (ns *netns) ip(args ...string) string {
	ns.t.Helper()
	return run(ns.t, "ip", append([]string{"-n", ns.name}, args...)...)
}

func (ns *netns) exec(args ...string) string {
	ns.t.Helper()
	return run(ns.t, "ip", append([]string{"netns", "exec", ns.name}, args...)...)
}

func (ns *netns) execInput(input string, args ...string) string {
	ns.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.name}, args...)...)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	if err != nil {
		ns.t.Fatalf("in %s: %s: %v\n%s", ns.name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// link connects ns's eth0 to the bridge namespace sw, with addr as a /32
// and every destination on-link: all namespaces share one segment.
func (ns *netns) link(sw *netns, addr netip.Addr) {
	peer := fmt.Sprintf("p%d", nsSeq.Add(1))
	run(ns.t, "ip", "link", "add", "name", "eth0", "netns", ns.name, "type", "veth", "peer", "name", peer, "netns", sw.name)
	sw.ip("link", "set", peer, "master", "br0", "up")
	ns.ip("addr", "add", addr.String()+"/32", "dev", "eth0")
	ns.ip("link", "set", "eth0", "up")
	ns.ip("route", "add", "default", "dev", "eth0")
}

// helper starts this test binary in ns in a helper mode; it is stopped
// when the test ends.
func (ns *netns) listen(tcp, udp []int) { ns.listenEnv(nil, tcp, udp) }

// listenEnv is listen with more variables for the helper.
func (ns *netns) listenEnv(env []string, tcp, udp []int) {
	ns.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		ns.t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns.name, exe)
	cmd.Env = append(append(os.Environ(), helperEnv+"=listen", "NUVLAGEN_FW_TCP="+joinInts(tcp), "NUVLAGEN_FW_UDP="+joinInts(udp)), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		ns.t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		ns.t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		ns.t.Fatal(err)
	}
	ns.t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		ns.t.Fatalf("listener in %s did not start: %q %v", ns.name, line, err)
	}
	go io.Copy(io.Discard, stdout)
}

// probe sends every probe from ns to target and returns what answered.
// control marks the probes sent before the rules (see helperProbe).
func (ns *netns) probe(target netip.Addr, probes []string, control bool) map[string]bool {
	ns.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		ns.t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns.name, exe)
	cmd.Env = append(os.Environ(), helperEnv+"=probe", "NUVLAGEN_FW_TARGET="+target.String(), "NUVLAGEN_FW_PROBES="+strings.Join(probes, ","))
	if control {
		cmd.Env = append(cmd.Env, "NUVLAGEN_FW_UDP_SRC=20000")
	}
	out, err := cmd.Output()
	if err != nil {
		ns.t.Fatalf("prober in %s: %v", ns.name, err)
	}
	got := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		p, state, _ := strings.Cut(line, " ")
		got[p] = state == "open"
	}
	return got
}

// sshSession is a long-lived TCP connection from a client namespace.
type sshSession struct {
	stdin io.WriteCloser
	out   *bufio.Reader
}

func (ns *netns) session(target netip.AddrPort) *sshSession {
	ns.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		ns.t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns.name, exe)
	cmd.Env = append(os.Environ(), helperEnv+"=session", "NUVLAGEN_FW_TARGET="+target.String())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		ns.t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		ns.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		ns.t.Fatal(err)
	}
	ns.t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	s := &sshSession{stdin: stdin, out: bufio.NewReader(stdout)}
	if line, _ := s.out.ReadString('\n'); line != "connected\n" {
		ns.t.Fatalf("session from %s to %s: %q", ns.name, target, line)
	}
	return s
}

// echo sends a line through the session and reports what came back.
func (s *sshSession) echo() string {
	fmt.Fprintln(s.stdin, "still there?")
	line, err := s.out.ReadString('\n')
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(line)
}

func joinInts(in []int) string {
	s := make([]string, len(in))
	for i, n := range in {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// client is a source namespace and the class it stands for.
type client struct {
	class string
	addr  netip.Addr
}

// clients picks one address per class the site has: a management host, a
// cluster peer (another node), Nuvla, and a user outside every other
// group.
func clients(rs *firewall.Ruleset, node *firewall.Node) []client {
	var out []client
	taken := func(a netip.Addr) bool {
		for _, c := range firewall.Classes {
			if c == firewall.Users {
				continue
			}
			for _, p := range rs.Groups[c] {
				if p.Contains(a) {
					return true
				}
			}
		}
		return false
	}
	if g := rs.Groups[firewall.Management]; len(g) > 0 {
		a := g[0].Addr()
		if g[0].Bits() < 32 {
			a = a.Next()
		}
		out = append(out, client{firewall.Management, a})
	}
	for _, n := range rs.Nodes {
		if n.Name != node.Name {
			out = append(out, client{firewall.Cluster, n.Address})
			break
		}
	}
	if g := rs.Groups[firewall.Nuvla]; len(g) > 0 {
		a := g[0].Addr()
		if g[0].Bits() < 32 {
			a = a.Next()
		}
		if a != node.Address {
			out = append(out, client{firewall.Nuvla, a})
		}
	}
	for _, s := range []string{"203.0.113.200", "198.51.100.200", "192.0.2.200"} {
		a := netip.MustParseAddr(s)
		if !taken(a) && slices.ContainsFunc(rs.Groups[firewall.Users], func(p netip.Prefix) bool { return p.Contains(a) }) {
			out = append(out, client{firewall.Users, a})
			break
		}
	}
	return uniqueClients(out, node)
}

// testNets are the only addresses the tests use (besides link-local).
var testNets = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
}

// edgeClients adds, for every group prefix, its last address and the one
// after it: the boundaries where an off-by-one in a set or a mask shows.
func edgeClients(rs *firewall.Ruleset, node *firewall.Node) []client {
	var out []client
	for _, c := range firewall.Classes {
		for _, p := range rs.Groups[c] {
			if p.Bits() == 0 {
				continue
			}
			last := lastAddr(p)
			out = append(out, client{c + "-last", last}, client{c + "-after", last.Next()})
		}
	}
	return uniqueClients(out, node)
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// uniqueClients drops clients outside the test ranges, on the node's own
// address, or on an address an earlier client has: one segment cannot
// hold two hosts with the same address.
func uniqueClients(in []client, node *firewall.Node) []client {
	seen := map[netip.Addr]bool{node.Address: true}
	var out []client
	for _, c := range in {
		if seen[c.addr] || !slices.ContainsFunc(testNets, func(p netip.Prefix) bool { return p.Contains(c.addr) }) {
			continue
		}
		seen[c.addr] = true
		out = append(out, c)
	}
	return out
}

// probePorts are the port numbers worth trying: each end of every span
// the site's rules open (on any node), the ports just outside them, the
// published ports, and a few nobody opens.
func probePorts(rs *firewall.Ruleset) []int {
	set := map[int]bool{1: true, 9001: true, 12345: true, 65535: true}
	for _, p := range published {
		set[p.port] = true
	}
	for _, n := range rs.Nodes {
		for _, r := range n.Rules {
			for _, s := range r.Ports {
				for _, p := range []int{s.From - 1, s.From, (s.From + s.To) / 2, s.To, s.To + 1} {
					if p >= 1 && p <= 65535 {
						set[p] = true
					}
				}
			}
		}
	}
	out := make([]int, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func isPublished(proto string, port int) bool {
	for _, p := range published {
		if p.proto == proto && p.port == port {
			return true
		}
	}
	return false
}

// dockerRules is what Docker would have set up before the firewall is
// applied: DNAT of the published ports in nat, FORWARD policy and chains
// in filter, an (old-style) DOCKER-USER that returns.
func dockerRules() string {
	var nat, filter strings.Builder
	for _, p := range published {
		fmt.Fprintf(&nat, "-A DOCKER ! -i docker0 -p %s -m %s --dport %d -j DNAT --to-destination %s:%d\n", p.proto, p.proto, p.port, containerAddr, p.port+containerOffset)
		fmt.Fprintf(&filter, "-A DOCKER -d %s/32 ! -i docker0 -o docker0 -p %s -m %s --dport %d -j ACCEPT\n", containerAddr, p.proto, p.proto, p.port+containerOffset)
	}
	return `*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A DOCKER -i docker0 -j RETURN
` + nat.String() + `COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER-USER -j RETURN
` + filter.String() + `COMMIT
`
}

// dockerRules6 is Docker's IPv6 filter table with its ip6tables support
// on (no NAT here: the tests publish no IPv6 port).
const dockerRules6 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -j RETURN
COMMIT
`

// counters and comments vary between two dumps of the same rules.
var volatile = regexp.MustCompile(`\[\d+:\d+\]|counter packets \d+ bytes \d+|(?m)^#.*\n`)

func normalize(s string) string { return volatile.ReplaceAllString(s, "") }

// dockerState is Docker's part of the iptables rules: everything but our
// chains and the jumps into them. With ufw, DOCKER-USER is ours too: the
// after.rules block owns it (see ufw.go).
func dockerState(ns *netns, be backend) string {
	var keep []string
	for _, line := range strings.Split(normalize(ns.exec("iptables-save")), "\n") {
		if strings.Contains(line, "NUVLA") || strings.Contains(line, "ufw") || strings.HasPrefix(line, ":INPUT") {
			continue
		}
		if be.name == "ufw" && strings.HasPrefix(line, "-A DOCKER-USER ") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// backend applies a site's rules to a node namespace.
type backend struct {
	name  string
	tools []string
	// dump is the state that applying twice must leave unchanged.
	dump func(ns *netns) string
}

var backends = []backend{
	{name: "nft", tools: []string{"nft"}, dump: func(ns *netns) string {
		return normalize(ns.exec("nft", "list", "ruleset"))
	}},
	{name: "iptables", tools: []string{"ip6tables-save", "ip6tables-restore"}, dump: func(ns *netns) string {
		return normalize(ns.exec("iptables-save")) + normalize(ns.exec("ip6tables-save"))
	}},
	{name: "ufw", tools: []string{"ufw", "unshare", "mount", "ip6tables-save"}, dump: func(ns *netns) string {
		return normalize(ns.exec("iptables-save")) + normalize(ns.exec("ip6tables-save"))
	}},
}

// ufwRoot is a private copy of ufw's configuration, bind-mounted over the
// real one in a mount namespace so that the host's ufw is never touched.
type ufwRoot struct{ etc, lib, defaults string }

func newUFWRoot(t *testing.T) ufwRoot {
	dir := t.TempDir()
	r := ufwRoot{filepath.Join(dir, "etc-ufw"), filepath.Join(dir, "lib-ufw"), filepath.Join(dir, "default-ufw")}
	run(t, "cp", "-a", "/etc/ufw", r.etc)
	run(t, "cp", "-a", "/lib/ufw", r.lib)
	b, err := os.ReadFile("/etc/default/ufw")
	if err != nil {
		t.Fatal(err)
	}
	// No sysctls (some are not per namespace) and no kernel modules.
	conf := regexp.MustCompile(`(?m)^(IPT_SYSCTL|IPT_MODULES)=.*$`).ReplaceAllString(string(b), "")
	conf += "IPT_SYSCTL=/dev/null\nIPT_MODULES=\"\"\n"
	if err := os.WriteFile(r.defaults, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// wrap runs args in a mount namespace where ufw sees the private copy.
func (r ufwRoot) wrap(args []string) []string {
	script := fmt.Sprintf(`set -e
mount --bind %q /etc/ufw
mount --bind %q /lib/ufw
mount --bind %q /etc/default/ufw
exec "$@"`, r.etc, r.lib, r.defaults)
	return append([]string{"unshare", "-m", "--propagation", "private", "bash", "-c", script, "ufw-root"}, args...)
}

func TestNamespaceMatrix(t *testing.T) {
	requireNamespaces(t)
	sites := loadEmbedded(t)
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			requireTools(t, be.tools...)
			for _, s := range sites {
				rs, err := firewall.Compile(s)
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				for p, b := range firewall.Render(compose.Header(s.File), rs) {
					if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				for i := range rs.Nodes {
					n := &rs.Nodes[i]
					t.Run(s.Name+"/"+n.Name, func(t *testing.T) {
						t.Parallel()
						matrix(t, be, rs, n, dir, clients(rs, n))
					})
				}
			}
		})
	}
}

func matrix(t *testing.T, be backend, rs *firewall.Ruleset, n *firewall.Node, dir string, cs []client) {
	sw := newNS(t, "sw")
	sw.ip("link", "add", "br0", "type", "bridge")
	sw.ip("link", "set", "br0", "up")

	node := newNS(t, "node")
	node.link(sw, n.Address)
	node.exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	node.ip("link", "add", "docker0", "type", "bridge")
	node.ip("addr", "add", docker0Addr+"/24", "dev", "docker0")
	node.ip("link", "set", "docker0", "up")

	ctr := newNS(t, "ctr")
	run(t, "ip", "link", "add", "name", "eth0", "netns", ctr.name, "type", "veth", "peer", "name", "vctr", "netns", node.name)
	node.ip("link", "set", "vctr", "master", "docker0", "up")
	ctr.ip("addr", "add", containerAddr+"/24", "dev", "eth0")
	ctr.ip("link", "set", "eth0", "up")
	ctr.ip("route", "add", "default", "via", docker0Addr)

	ports := probePorts(rs)
	var hostTCP, hostUDP, ctrTCP, ctrUDP []int
	for _, p := range ports {
		if !isPublished("tcp", p) {
			hostTCP = append(hostTCP, p)
		}
		if !isPublished("udp", p) {
			hostUDP = append(hostUDP, p)
		}
	}
	for _, p := range published {
		if p.proto == "tcp" {
			ctrTCP = append(ctrTCP, p.port+containerOffset)
		} else {
			ctrUDP = append(ctrUDP, p.port+containerOffset)
		}
	}
	node.listen(hostTCP, hostUDP)
	ctr.listen(ctrTCP, ctrUDP)

	var cls []*netns
	for _, c := range cs {
		ns := newNS(t, c.class)
		ns.link(sw, c.addr)
		cls = append(cls, ns)
	}

	node.execInput(dockerRules(), "iptables-restore")
	node.execInput(dockerRules6, "ip6tables-restore")
	before := dockerState(node, be)

	var probes []string
	for _, p := range ports {
		for _, proto := range firewall.Protocols {
			probes = append(probes, fmt.Sprintf("%s/%d", proto, p))
		}
	}
	// The control: before any rule, every port answers every client, on
	// the host and through the fake Docker's DNAT, so a port found closed
	// below is closed by the rules.
	for i, ns := range cls {
		for pr, open := range ns.probe(n.Address, probes, true) {
			if !open {
				t.Fatalf("before the rules, %s from %s does not answer: the test network is broken", pr, cs[i].addr)
			}
		}
	}

	// An operator's SSH session from management, open before the rules
	// are applied, must survive both applies.
	var session *sshSession
	for i, c := range cs {
		if c.class == firewall.Management {
			session = cls[i].session(netip.AddrPortFrom(n.Address, 22))
		}
	}

	apply := []string{"bash", filepath.Join(dir, "apply.sh"), "--backend", be.name, n.Name}
	if be.name == "ufw" {
		apply = newUFWRoot(t).wrap(apply)
	}
	node.exec(apply...)
	first := be.dump(node)
	node.exec(apply...)
	second := be.dump(node)
	if first != second {
		t.Errorf("applying twice changed the rules:\n%s", diff.Diff("first", []byte(first), "second", []byte(second)))
	}
	if session != nil {
		if got := session.echo(); got != "echo ok" {
			t.Errorf("the SSH session from management did not survive applying the rules: %s", got)
		}
	}
	if after := dockerState(node, be); after != before {
		t.Errorf("Docker's rules changed:\n%s", diff.Diff("before", []byte(before), "after", []byte(after)))
	}

	type result struct {
		c   client
		got map[string]bool
	}
	results := make([]result, len(cs))
	done := make(chan int)
	for i := range cs {
		go func() {
			results[i] = result{cs[i], cls[i].probe(n.Address, probes, false)}
			done <- i
		}()
	}
	for range cs {
		<-done
	}
	count := map[string]int{}
	for _, r := range results {
		for _, pr := range probes {
			proto, port, _ := strings.Cut(pr, "/")
			pn, _ := strconv.Atoi(port)
			d, err := rs.Query(r.c.addr, n.Name, proto, pn)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := r.got[pr]
			if !ok {
				t.Fatalf("no result for %s from %s", pr, r.c.addr)
			}
			path := "host"
			if isPublished(proto, pn) {
				path = "published"
			}
			if got != d.Allowed {
				t.Errorf("%s (%s) -> %s %s (%s): reachable %v, model says %v", r.c.class, r.c.addr, n.Name, pr, path, got, d.Allowed)
			}
			count[fmt.Sprintf("%s %v", path, got)]++
		}
	}
	t.Logf("from %d clients: host ports %d open, %d closed; published ports %d open, %d closed", len(cs),
		count["host true"], count["host false"], count["published true"], count["published false"])
}
