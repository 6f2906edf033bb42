package firewall

import (
	"bytes"
	"fmt"
	"strings"
)

// Chain names of the iptables backend.
const (
	chainInput     = "NUVLA-INPUT"
	chainPublished = "NUVLA-PUBLISHED"
	// jumpComment marks the two jumps into our chains, so that apply.sh
	// can leave them out when they are already there: iptables-restore
	// --noflush flushes the chains it declares, but would append a second
	// jump to INPUT and DOCKER-USER.
	jumpComment = "nuvla-jump"
)

// multiportMax is how many ports one multiport match takes (a range
// counts twice).
const multiportMax = 15

// printIPTables prints node's rules for `iptables-restore --noflush`: two chains
// of our own (flushed and refilled on every restore) and the jumps into
// them from INPUT and DOCKER-USER. Docker's chains are not declared, so
// they are left as they are.
func printIPTables(header string, rs *Ruleset, n *Node) []byte {
	var b bytes.Buffer
	b.WriteString(commentHeader(header))
	fmt.Fprintf(&b, "# iptables rules for node %s (%s, %s) of site %s.\n", oneLine(n.Name), n.Address, oneLine(n.Role), oneLine(rs.Site))
	fmt.Fprintf(&b, `# Apply with apply.sh --backend iptables, which checks the file with
# iptables-restore --test and leaves out the two lines marked %s when
# the jumps are already in place. %s filters host services (INPUT),
# %s the container ports Docker publishes (DOCKER-USER, where
# packets are already DNATed: the original port is matched with conntrack).
# Allowed published traffic RETURNs to Docker's chains, which still decide.
*filter
:%s - [0:0]
:%s - [0:0]
`, jumpComment, chainInput, chainPublished, chainInput, chainPublished)
	in := func(format string, args ...any) { fmt.Fprintf(&b, "-A "+chainInput+" "+format+"\n", args...) }

	inputPrologue(in)
	for _, c := range []string{classCluster, classManagement} {
		for _, p := range rs.Groups[c] {
			in("-s %s -p icmp --icmp-type echo-request -j ACCEPT", p)
		}
	}
	for _, r := range n.Rules {
		for _, chunk := range multiport(r.Ports) {
			for _, c := range r.From {
				for _, p := range rs.Groups[c] {
					in("-s %s -p %s -m multiport --dports %s -m comment --comment %s -j ACCEPT", p, r.Proto, chunk, iptString(r.Name))
				}
			}
		}
	}
	in("-j DROP")

	for _, line := range publishedRules(rs, n) {
		fmt.Fprintf(&b, "-A %s %s\n", chainPublished, line)
	}
	fmt.Fprintf(&b, "-I INPUT 1 -m comment --comment %s -j %s\n", jumpComment, chainInput)
	fmt.Fprintf(&b, "-I DOCKER-USER 1 -m comment --comment %s -j %s\n", jumpComment, chainPublished)
	b.WriteString("COMMIT\n")
	return b.Bytes()
}

func iptSpan(s Span) string {
	if s.From == s.To {
		return fmt.Sprint(s.From)
	}
	return fmt.Sprintf("%d:%d", s.From, s.To)
}

// multiport splits spans into multiport lists of at most 15 ports.
func multiport(spans []Span) []string {
	var out []string
	var cur []string
	n := 0
	for _, s := range spans {
		w := 1
		if s.From != s.To {
			w = 2
		}
		if n+w > multiportMax {
			out = append(out, strings.Join(cur, ","))
			cur, n = nil, 0
		}
		cur = append(cur, iptSpan(s))
		n += w
	}
	if len(cur) > 0 {
		out = append(out, strings.Join(cur, ","))
	}
	return out
}

// publishedRules are the rules of chainPublished, shared with the ufw
// backend: new DNATed connections from outside the node's containers are
// dropped unless a rule opens the port the client asked for.
func publishedRules(rs *Ruleset, n *Node) []string {
	out := publishedPrologue()
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, r := range n.Rules {
		for _, s := range r.Ports {
			for _, c := range r.From {
				for _, p := range rs.Groups[c] {
					add("-s %s -p %s -m conntrack --ctorigdstport %s -m comment --comment %s -j RETURN", p, r.Proto, iptSpan(s), iptString(r.Name))
				}
			}
		}
	}
	add("-j DROP")
	return out
}

// inputPrologue writes what both families' input chains accept before any
// rule of the tables: established traffic, loopback and Docker's bridges
// (invalid packets dropped).
func inputPrologue(in func(format string, args ...any)) {
	in("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	in("-m conntrack --ctstate INVALID -j DROP")
	in("-i lo -j ACCEPT")
	for _, br := range dockerBridges {
		in("-i %s -j ACCEPT", br)
	}
	in("-i %s+ -j ACCEPT", dockerBridgePattern)
}

// publishedPrologue is what both families' published chains hand back to
// Docker before any rule: what is not DNATed, established traffic, and
// traffic from the node's containers.
func publishedPrologue() []string {
	out := []string{
		"-m conntrack ! --ctstate DNAT -j RETURN",
		"-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
	}
	for _, br := range dockerBridges {
		out = append(out, fmt.Sprintf("-i %s -j RETURN", br))
	}
	return append(out, fmt.Sprintf("-i %s+ -j RETURN", dockerBridgePattern))
}
