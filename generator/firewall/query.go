package firewall

import (
	"fmt"
	"net/netip"
	"slices"
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
}

// Query decides whether a new connection from addr to node's proto/port is
// allowed. Host services and published container ports are filtered by
// the same rules, so the answer holds for both.
func (rs *Ruleset) Query(from netip.Addr, node, proto string, port int) (Decision, error) {
	n, ok := rs.Node(node)
	if !ok {
		return Decision{}, fmt.Errorf("site %s has no node %q", rs.Site, node)
	}
	if !slices.Contains(Protocols, proto) {
		return Decision{}, fmt.Errorf("protocol %q: want tcp or udp", proto)
	}
	d := Decision{Classes: rs.ClassesOf(from)}
	for i := range n.Rules {
		r := &n.Rules[i]
		if r.Proto != proto || !r.Allows(port) {
			continue
		}
		d.Port = true
		if !intersects(r.From, d.Classes) {
			continue
		}
		if d.Rule == nil {
			d.Allowed, d.Rule = true, r
		} else {
			d.Also = append(d.Also, *r)
		}
	}
	return d, nil
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}
