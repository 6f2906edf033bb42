package firewall

import (
	"bytes"
	"fmt"
	"net/netip"
	"path"
	"strings"

	"github.com/nuvla/nuvlagen/generator/artifact"
)

// Dir is where the firewall files go in a site's output directory.
const Dir = "firewall"

// Render prints every backend for every node, the site's apply script,
// PORTS.md and rules.json, by path relative to the site's output
// directory. header is the "# Code generated" line.
func Render(header string, rs *Ruleset) map[string][]byte {
	files := map[string][]byte{}
	for i := range rs.Nodes {
		n := &rs.Nodes[i]
		files[path.Join(Dir, n.Name+".nft")] = printNFT(header, rs, n)
		files[path.Join(Dir, n.Name+".iptables")] = printIPTables(header, rs, n)
		files[path.Join(Dir, n.Name+".ip6tables")] = printIP6Tables(header, rs, n)
		files[path.Join(Dir, n.Name+".ufw.sh")] = printUFW(header, rs, n)
	}
	files[path.Join(Dir, "apply.sh")] = printApply(header, rs)
	files[path.Join(Dir, "PORTS.md")] = printPorts(rs)
	files[path.Join(Dir, RulesFile)] = newRuleTable(rs).Marshal()
	return files
}

// printPorts renders PORTS.md: the per-node tables as a reviewer reads them.
func printPorts(rs *Ruleset) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	b.WriteString(artifact.MarkdownHeader(rs.File))
	w("# Firewall of %s\n\n", oneLine(rs.Site))
	w("New inbound connections are dropped unless a row below allows them, both to\n")
	w("the node's own services and to container ports Docker publishes on it (the\n")
	w("published port is what counts, not the container's). Established traffic,\n")
	w("loopback, Docker's bridges and ICMP echo from the cluster and management\n")
	w("are allowed (ufw's own rules allow ICMP echo from anywhere); outbound\n")
	w("traffic is not restricted. IPv6 is not modelled (the groups are IPv4): every\n")
	w("backend drops new inbound IPv6 connections (ufw.sh sets IPV6=yes for ufw),\n")
	w("except on loopback and Docker's bridges; ICMPv6 neighbour discovery is\n")
	w("allowed (ufw's own rules allow more ICMPv6).\n\n")

	w("## Address groups\n\n| class | addresses |\n|---|---|\n")
	for _, c := range classes {
		if g, ok := rs.Groups[c]; ok {
			w("| %s | %s |\n", c, prefixList(g))
		}
	}
	// One row per node, rule and class. Programs read rules.json, which
	// holds the same rules as data.
	for _, n := range rs.Nodes {
		w("\n## %s (%s, %s)\n\n", oneLine(n.Name), n.Address, oneLine(n.Role))
		w("| node | port | proto | service | from | sources | rule | named |\n|---|---|---|---|---|---|---|---|\n")
		for _, r := range n.Rules {
			// Names and services are constrained by the model, and made
			// one cell each anyway.
			named := strings.Join(r.PortNames, ", ")
			if len(r.Except) > 0 {
				named += " except " + strings.Join(r.Except, ", ")
			}
			for _, c := range r.From {
				w("| %s | %s | %s | %s | %s | %s | %s | %s |\n", mdCell(n.Name), r.portList(), r.Proto, mdCell(r.Service), c, prefixList(rs.Groups[c]), mdCell(r.Name), mdCell(named))
			}
		}
	}

	w("\n## Warnings\n\n")
	if len(rs.Warnings) == 0 {
		w("None.\n")
	}
	for _, wn := range rs.Warnings {
		w("- %s (%s)\n", oneLine(wn.Msg), artifact.Source(wn.Pos.Position().String()))
	}

	w("\n## Files\n\n")
	w("- `<node>.nft`: for `nft -f`; replaces table `inet nuvla` atomically.\n")
	w("- `<node>.iptables`: for `iptables-restore --noflush`; chains `%s` and `%s`.\n", chainInput, chainPublished)
	w("- `<node>.ip6tables`: the same for `ip6tables-restore --noflush`: IPv6's default deny.\n")
	w("- `<node>.ufw.sh`: ufw commands, and the DOCKER-USER rules ufw needs in `/etc/ufw/after.rules` and `after6.rules`.\n")
	w("- `apply.sh`: run on a node as root: `./apply.sh [--backend nft|iptables|ufw] [--confirm SECONDS] NODE`.\n")
	w("\nufw keeps its rules across reboots; nft and iptables rules do not by\n")
	w("themselves: include `<node>.nft` from `/etc/nftables.conf`, or run\n")
	w("`apply.sh` from a unit ordered after `docker.service`.\n")
	return b.Bytes()
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
