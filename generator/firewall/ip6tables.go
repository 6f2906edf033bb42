package firewall

import (
	"bytes"
	"fmt"
)

// icmpv6Allowed are the ICMPv6 messages new inbound IPv6 may carry (both
// the nftables and the ip6tables backend): neighbour discovery, router
// advertisements (the default route) and MLD queries (switches that snoop
// MLD forward the neighbour solicitations' multicast only to listeners).
// Errors for connections in progress are RELATED, accepted before.
var icmpv6Allowed = []struct{ nft, ip6t string }{
	{"nd-neighbor-solicit", "neighbour-solicitation"},
	{"nd-neighbor-advert", "neighbour-advertisement"},
	{"nd-router-advert", "router-advertisement"},
	{"mld-listener-query", "130"},
}

// printIP6Tables prints node's IPv6 rules for `ip6tables-restore --noflush`,
// the iptables backend's counterpart of what the nftables backend's
// inet table does for IPv6. The model's groups are IPv4, so no rule opens
// a port: new inbound IPv6 connections are dropped, to host services and
// to ports Docker publishes (with its ip6tables support on), except from
// the node itself and its containers; established traffic and the
// ICMPv6 neighbour discovery needs are allowed.
func printIP6Tables(header string, rs *Ruleset, n *Node) []byte {
	var b bytes.Buffer
	b.WriteString(commentHeader(header))
	fmt.Fprintf(&b, "# ip6tables rules for node %s (%s, %s) of site %s.\n", oneLine(n.Name), n.Address, oneLine(n.Role), oneLine(rs.Site))
	fmt.Fprintf(&b, `# Applied with the IPv4 rules by apply.sh --backend iptables (checked with
# ip6tables-restore --test first, rolled back with them). The address
# groups are IPv4: new inbound IPv6 connections are dropped, as the
# nftables backend drops them, except on loopback and Docker's bridges.
*filter
:%s - [0:0]
:%s - [0:0]
`, chainInput, chainPublished)
	in := func(format string, args ...any) { fmt.Fprintf(&b, "-A "+chainInput+" "+format+"\n", args...) }
	inputPrologue(in)
	for _, t := range icmpv6Allowed {
		in("-p ipv6-icmp -m icmp6 --icmpv6-type %s -j ACCEPT", t.ip6t)
	}
	in("-j DROP")
	for _, line := range publishedRules6() {
		fmt.Fprintf(&b, "-A %s %s\n", chainPublished, line)
	}
	fmt.Fprintf(&b, "-I INPUT 1 -m comment --comment %s -j %s\n", jumpComment, chainInput)
	fmt.Fprintf(&b, "-I DOCKER-USER 1 -m comment --comment %s -j %s\n", jumpComment, chainPublished)
	b.WriteString("COMMIT\n")
	return b.Bytes()
}

// publishedRules6 are chainPublished's IPv6 rules: no rule opens a port
// to an IPv6 source.
func publishedRules6() []string { return append(publishedPrologue(), "-j DROP") }
