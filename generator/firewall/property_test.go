package firewall_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/site"
)

// randomSite writes a random but valid site: random groups (overlapping
// each other or not), a random ephemeral range (which may swallow the
// tables' ports) and maybe an extra rule, all within the documentation
// address ranges.
func randomSite(r *rand.Rand, name string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	prefix := func(base string, minBits, maxBits int) string {
		bits := minBits + r.IntN(maxBits-minBits+1)
		a := netip.MustParseAddr(base).As4()
		a[3] = byte(r.IntN(256))
		return netip.PrefixFrom(netip.AddrFrom4(a), bits).Masked().String()
	}
	target := r.IntN(2) == 0
	w("package nuvla\n\nsites: %q: {\n", name)
	if target {
		w("\tkind: \"target\"\n\tdomain: \"t.example.org\"\n\tnodes: {\n")
		for i := range 1 + r.IntN(3) {
			role := "worker"
			if i == 0 {
				role = "manager"
			}
			w("\t\t\"n%d\": {address: \"203.0.113.%d\", role: %q, nfsServer: %v}\n", i, 10+i, role, i == 0)
		}
		w("\t}\n")
	} else {
		w("\tkind: \"host\"\n\tdomain: \"h.example.org\"\n\tnodes: {\n")
		for i, typ := range []string{"frontend", "worker-job", "worker-db"} {
			role := "worker"
			if i == 0 || r.IntN(3) == 0 {
				role = "manager"
			}
			w("\t\t\"n%d\": {address: \"203.0.113.%d\", role: %q, labels: type: %q}\n", i, 10+i, role, typ)
		}
		w("\t}\n")
	}
	w("\tgroups: management: [%q]\n", prefix("198.51.100.0", 26, 32))
	if target {
		w("\tgroups: nuvla: [%q]\n", prefix("192.0.2.0", 28, 32))
	}
	switch r.IntN(3) {
	case 0:
		w("\tgroups: users: [%q, %q]\n", prefix("198.51.100.0", 24, 27), prefix("192.0.2.0", 25, 30))
	case 1:
		w("\tgroups: users: [%q]\n", prefix("203.0.113.0", 25, 26))
	}
	if r.IntN(2) == 0 {
		from, to := randomRange(r, 50000, 3000, 33333)
		w("\tephemeralPorts: {from: %d, to: %d}\n", from, to)
	}
	if r.IntN(2) == 0 {
		from, to := randomRange(r, 60000, 20, 0)
		protos := [][]string{{"tcp"}, {"udp"}, {"tcp", "udp"}}[r.IntN(3)]
		classes := []string{"management", "cluster", "users"}
		r.Shuffle(len(classes), func(i, j int) { classes[i], classes[j] = classes[j], classes[i] })
		classes = classes[:1+r.IntN(len(classes))]
		nodes := []string{"all", "managers"}[r.IntN(2)]
		w("\tfirewall: ports: app: {from: %d, to: %d, protocols: [%s]}\n", from, to, quoted(protos))
		w("\tfirewall: rules: app: {service: \"app\", ports: [\"app\"], from: [%s], nodes: %q}\n", quoted(classes), nodes)
	}
	w("}\n")
	return b.String()
}

// sensitiveNumbers are the ports no random range may cover (but
// carved): opening them to users is an error (see TestSensitive), and
// NFS's statd and lockd must stay out of the ephemeral range.
var sensitiveNumbers = []int{22, 111, 2049, 2375, 2376, 2377, 4789, 7946, 8080, 29765, 29767, 33333}

// randomRange picks a range from 1000 + [0, n) at most width wide that
// covers none of sensitiveNumbers but carved.
func randomRange(r *rand.Rand, n, width, carved int) (int, int) {
	for {
		from := 1000 + r.IntN(n)
		to := from + r.IntN(width)
		if !slices.ContainsFunc(sensitiveNumbers, func(p int) bool { return p != carved && from <= p && p <= to }) {
			return from, to
		}
	}
}

// TestProperty checks, for random sites, that the packets the generated
// rules let through are exactly those the query tool allows.
func TestProperty(t *testing.T) {
	requireNamespaces(t, "nft")
	seed := uint64(20261125)
	if s := os.Getenv("NUVLAGEN_FW_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	n := 4
	if s := os.Getenv("NUVLAGEN_FW_SITES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	t.Logf("seed %d (NUVLAGEN_FW_SEED=%d reproduces it), %d sites", seed, seed, n)
	r := rand.New(rand.NewPCG(seed, seed))
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("random-%d", i)
		src := randomSite(r, name)
		sites, err := l.Load(name+".cue", []byte(src))
		if err != nil {
			t.Fatalf("random site does not load:\n%s\n%s", src, strings.Join(diag.Lines(err, ""), "\n"))
		}
		rs, err := firewall.Compile(sites[0])
		if err != nil {
			t.Fatalf("random site does not compile:\n%s\n%s", src, strings.Join(diag.Lines(err, ""), "\n"))
		}
		dir := t.TempDir()
		for p, b := range firewall.Render(compose.Header(name+".cue"), rs) {
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		node := &rs.Nodes[r.IntN(len(rs.Nodes))]
		be := backends[r.IntN(2)] // nft or iptables; ufw has its own matrix and is slow
		t.Run(fmt.Sprintf("%s/%s/%s", name, node.Name, be.name), func(t *testing.T) {
			t.Parallel()
			t.Logf("site:\n%s", src)
			matrix(t, be, rs, node, dir, uniqueClients(append(clients(rs, node), edgeClients(rs, node)...), node))
		})
	}
}

func quoted(in []string) string {
	q := make([]string, len(in))
	for i, s := range in {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
