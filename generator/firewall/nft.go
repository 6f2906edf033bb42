package firewall

import (
	"bytes"
	"fmt"
	"strings"
)

// nftTable is the nftables table the rules live in; nothing else is touched.
const nftTable = "inet nuvla"

// dockerBridges are the interfaces containers on a node reach it through:
// traffic from them is local, not inbound.
var dockerBridges = []string{"docker0", "docker_gwbridge"}

// dockerBridgePattern matches the bridges of user-defined networks.
const dockerBridgePattern = "br-"

// printNFT prints node's rules for `nft -f`. The file replaces table inet nuvla
// atomically (declare, delete, define in one transaction), so applying it
// twice gives the same ruleset, and never flushes the ruleset: Docker's
// NAT rules live in tables of their own.
func printNFT(header string, rs *Ruleset, n *Node) []byte {
	var b bytes.Buffer
	b.WriteString(commentHeader(header))
	fmt.Fprintf(&b, "# nftables rules for node %s (%s, %s) of site %s.\n", oneLine(n.Name), n.Address, oneLine(n.Role), oneLine(rs.Site))
	b.WriteString(`# Apply with apply.sh, or: nft -c -f FILE && nft -f FILE. The file replaces
# table inet nuvla atomically and leaves every other table alone: never
# "flush ruleset", which would wipe Docker's NAT rules.
#
# Default deny for new inbound connections, to host services (input) and
# to container ports Docker publishes (forward: they are DNATed and never
# reach input); the original port is matched through conntrack. An accept
# here is not final (Docker's own chains still decide), a drop is.

table inet nuvla
delete table inet nuvla

table inet nuvla {
`)
	used := usedClasses(n)
	for _, c := range classes {
		if !used[c] {
			continue
		}
		elems := make([]string, len(rs.Groups[c]))
		for i, p := range rs.Groups[c] {
			elems[i] = p.String()
		}
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\tauto-merge\n\t\telements = { %s }\n\t}\n\n", c, strings.Join(elems, ", "))
	}

	b.WriteString("\t# allow opens the tables' ports to new connections to the node.\n\tchain allow {\n")
	for _, r := range n.Rules {
		ports := make([]string, len(r.Ports))
		for i, s := range r.Ports {
			ports[i] = nftSpan(s)
		}
		for _, c := range r.From {
			fmt.Fprintf(&b, "\t\tip saddr @%s %s dport { %s } accept comment %s\n", c, r.Proto, strings.Join(ports, ", "), nftString(r.Name))
		}
	}
	b.WriteString("\t}\n\n")

	b.WriteString("\t# allow-published opens the same ports to new connections that Docker\n\t# DNATs to a container, by the port the client asked for.\n\tchain allow-published {\n")
	for _, r := range n.Rules {
		for _, c := range r.From {
			for _, s := range r.Ports {
				// One rule per span: nft cannot list a set of
				// conntrack ports back in a form it reads again.
				fmt.Fprintf(&b, "\t\tip saddr @%s meta l4proto %s ct original proto-dst %s accept comment %s\n", c, r.Proto, nftSpan(s), nftString(r.Name))
			}
		}
	}
	b.WriteString("\t}\n\n")

	fmt.Fprintf(&b, `	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		iif "lo" accept
		# Containers on this node reach it through Docker's bridges.
		iifname { %s } accept
		iifname %s accept
`, quoteList(dockerBridges), nftConst(dockerBridgePattern+"*"))
	for _, c := range []string{classCluster, classManagement} {
		fmt.Fprintf(&b, "\t\tip saddr @%s icmp type echo-request accept\n", c)
	}
	icmp6 := make([]string, len(icmpv6Allowed))
	for i, t := range icmpv6Allowed {
		icmp6[i] = t.nft
	}
	fmt.Fprintf(&b, `		# IPv6 is not modelled (the groups are IPv4): only what keeps its
		# neighbours working; new inbound IPv6 connections are dropped.
		icmpv6 type { %s } accept
		jump allow
	}

	chain forward {
		type filter hook forward priority filter; policy accept;
		# Only new connections to published ports are filtered here.
		ct state new ct status dnat jump published
	}

	chain published {
`, strings.Join(icmp6, ", "))
	fmt.Fprintf(&b, `		iifname { %s } return
		iifname %s return
		jump allow-published
		drop
	}
}
`, quoteList(dockerBridges), nftConst(dockerBridgePattern+"*"))
	return b.Bytes()
}

func nftSpan(s Span) string {
	if s.From == s.To {
		return fmt.Sprint(s.From)
	}
	return fmt.Sprintf("%d-%d", s.From, s.To)
}

func quoteList(in []string) string {
	q := make([]string, len(in))
	for i, s := range in {
		q[i] = nftConst(s)
	}
	return strings.Join(q, ", ")
}

// usedClasses lists the classes node's rules and ICMP rules refer to.
func usedClasses(n *Node) map[string]bool {
	used := map[string]bool{classCluster: true, classManagement: true}
	for _, r := range n.Rules {
		for _, c := range r.From {
			used[c] = true
		}
	}
	return used
}
