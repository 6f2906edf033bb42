package firewall

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/nuvla/nuvlagen/generator/site"
)

// Question is a firewall query as an operator writes it: a source (an
// IPv4 address, a prefix, or a node's name), a destination node (its
// name or address) and a port ("2376", "53/udp").
type Question struct{ From, To, Port string }

// QuestionError is a question that names nothing the sites have, or is
// malformed; its message says what would do.
type QuestionError struct{ Msg string }

func (e *QuestionError) Error() string { return e.Msg }

// Ask answers q from the firewall of the site that has the destination
// node, among sites (loaded, with their deployments linked: a target's
// host nodes may be named as sources). A bad question is a
// *QuestionError; a site whose firewall does not compile, its error.
func Ask(sites []*site.Site, q Question) (Answer, error) {
	port, proto, err := ParsePort(q.Port)
	if err != nil {
		return Answer{}, &QuestionError{fmt.Sprintf("--port %q: %v", q.Port, err)}
	}
	from, err := source(sites, q.From)
	if err != nil {
		return Answer{}, err
	}
	s, node, ok := destination(sites, q.To)
	if !ok {
		return Answer{}, &QuestionError{fmt.Sprintf("--to %q: no node of these sites has that name or address; their nodes:\n%s", q.To, NodeList(sites, false))}
	}
	rs, err := Compile(s)
	if err != nil {
		return Answer{}, err
	}
	a, err := rs.QueryPrefix(from, node, proto, port)
	if err != nil {
		return Answer{}, &QuestionError{err.Error()}
	}
	return a, nil
}

// source reads an address (a /32), a prefix, or a node's name.
func source(sites []*site.Site, s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		if !a.Is4() {
			return netip.Prefix{}, &QuestionError{fmt.Sprintf("--from %q: want an IPv4 address: the groups are IPv4", s)}
		}
		return netip.PrefixFrom(a, 32), nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		if !p.Addr().Is4() {
			return netip.Prefix{}, &QuestionError{fmt.Sprintf("--from %q: want an IPv4 prefix: the groups are IPv4", s)}
		}
		if p != p.Masked() {
			return netip.Prefix{}, &QuestionError{fmt.Sprintf("--from %q: the address has bits set past the prefix length: %s?", s, p.Masked())}
		}
		return p, nil
	}
	if a, ok := site.NodeAddress(sites, s); ok {
		return netip.PrefixFrom(a, 32), nil
	}
	return netip.Prefix{}, &QuestionError{fmt.Sprintf("--from %q: want an IPv4 address, a prefix such as 198.51.100.0/24, or the name of a node of these sites or of their hosts; those are:\n%s", s, NodeList(sites, true))}
}

// destination finds the site with a node called to, or with that address.
func destination(sites []*site.Site, to string) (*site.Site, string, bool) {
	for _, s := range sites {
		if _, ok := s.Node(to); ok {
			return s, to, true
		}
	}
	if a, err := netip.ParseAddr(to); err == nil {
		for _, s := range sites {
			for _, n := range s.Nodes {
				if n.Address == a {
					return s, n.Name, true
				}
			}
		}
	}
	return nil, "", false
}

// NodeList lists the nodes of sites, a line per site ("  site: node
// address, ..."), and with connectors the host nodes that connect to the
// linked targets among them.
func NodeList(sites []*site.Site, connectors bool) string {
	var b strings.Builder
	listed := map[string]bool{}
	for _, s := range sites {
		listed[s.Name] = true
		var nodes []string
		for _, n := range s.Nodes {
			nodes = append(nodes, n.Name+" "+n.Address.String())
		}
		fmt.Fprintf(&b, "  %s: %s\n", s.Name, strings.Join(nodes, ", "))
	}
	if !connectors {
		return b.String()
	}
	for _, s := range sites {
		if s.Link == nil || listed[s.Link.Host] || len(s.Link.Connectors) == 0 {
			continue
		}
		listed[s.Link.Host] = true
		var nodes []string
		for _, c := range s.Link.Connectors {
			nodes = append(nodes, c.Node+" "+c.Address.String())
		}
		fmt.Fprintf(&b, "  %s (the host of %s): %s\n", s.Link.Host, s.Name, strings.Join(nodes, ", "))
	}
	return b.String()
}
