package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Decision is the model's answer for one connection.
type Decision struct {
	Allowed bool
	// Rule decides: the first rule (by name) that opens the port to one of
	// the source's classes. Nil when blocked.
	Rule *Rule
	// Also are the other rules that open the port to the source: overlaps.
	Also []Rule
	// Classes are the classes the source belongs to; more than one means
	// the site's groups overlap.
	Classes []string
	// Port is true when some rule opens the port on the node, to anyone.
	Port bool
	// Others are the rules that open the port on the node to other
	// sources only (when blocked).
	Others []Rule

	// The question: the connection and the site's groups of its classes.
	Site, Node, Proto string
	From              netip.Addr
	Number            int
	Groups            map[string][]netip.Prefix
}

// Query decides whether a new connection from addr to node's proto/port is
// allowed. Host services and published container ports are filtered by
// the same rules, so the answer holds for both.
func (rs *Ruleset) Query(from netip.Addr, node, proto string, port int) (Decision, error) {
	n, ok := rs.node(node)
	if !ok {
		return Decision{}, fmt.Errorf("site %s has no node %q", rs.Site, node)
	}
	if !slices.Contains(protocols, proto) {
		return Decision{}, fmt.Errorf("protocol %q: want tcp or udp", proto)
	}
	d := Decision{Classes: rs.classesOf(from), Site: rs.Site, Node: node, Proto: proto, From: from, Number: port, Groups: map[string][]netip.Prefix{}}
	for _, c := range d.Classes {
		d.Groups[c] = rs.Groups[c]
	}
	for i := range n.Rules {
		r := &n.Rules[i]
		if r.Proto != proto || !r.Allows(port) {
			continue
		}
		d.Port = true
		if !intersects(r.From, d.Classes) {
			d.Others = append(d.Others, *r)
			continue
		}
		if d.Rule == nil {
			d.Allowed, d.Rule = true, r
		} else {
			d.Also = append(d.Also, *r)
		}
	}
	if d.Allowed {
		d.Others = nil
	}
	return d, nil
}

// Explain says the decision in words, a line each: the verdict, the
// source's groups, and the rule that decides, the rules that overlap it,
// or those that open the port to other sources only.
func (d Decision) Explain() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	verdict := "blocked"
	if d.Allowed {
		verdict = "allowed"
	}
	w("%s: %s -> %s %d/%s (site %s)\n", verdict, d.From, d.Node, d.Number, d.Proto, d.Site)
	if len(d.Classes) == 0 {
		w("  source: in no address group\n")
	} else {
		var cls []string
		for _, c := range d.Classes {
			cls = append(cls, fmt.Sprintf("%s (%s)", c, prefixList(d.Groups[c])))
		}
		w("  source: %s\n", strings.Join(cls, ", "))
	}
	if len(d.Classes) > 1 {
		w("  note: the source is in %d overlapping groups: %s\n", len(d.Classes), strings.Join(d.Classes, ", "))
	}
	switch {
	case d.Allowed:
		w("  rule: %s\n", d.Rule.describe())
		for _, r := range d.Also {
			w("  also (overlapping): %s\n", r.describe())
		}
	case d.Port:
		for _, r := range d.Others {
			w("  not from here: %s\n", r.describe())
		}
	default:
		w("  no rule opens %d/%s on %s: new connections are dropped\n", d.Number, d.Proto, d.Node)
	}
	return b.String()
}

func (r *Rule) describe() string {
	return fmt.Sprintf("%s (%s: %s/%s from %s) at %s", r.Name, r.Service, r.portList(), r.Proto, strings.Join(r.From, ", "), r.Pos)
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// ParsePort reads "2377/tcp", "53/udp" or "80" (TCP): a port to Query.
func ParsePort(s string) (int, string, error) {
	num, proto, found := strings.Cut(s, "/")
	if !found {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return 0, "", fmt.Errorf("protocol %q: want tcp or udp", proto)
	}
	port, err := strconv.Atoi(num)
	if err != nil || port < 1 || port > 65535 {
		return 0, "", fmt.Errorf("want a port number from 1 to 65535")
	}
	return port, proto, nil
}
