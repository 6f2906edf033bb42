// Package firewall compiles a site's firewall tables (cue/firewall.cue) and
// address groups into one rule model per node, checks it for overlapping
// rules, and prints it for nftables, iptables-restore and ufw. The
// backends differ only in printing: every decision is made here.
package firewall

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"github.com/nuvla/nuvlagen/generator/nfsconf"
	"github.com/nuvla/nuvlagen/generator/site"
)

// Source classes, in the order rules and outputs list them. Users is
// exported for diff, which weighs exposure to them.
const (
	classManagement = "management"
	classCluster    = "cluster"
	classNuvla      = "nuvla"
	Users           = "users"
)

// classes lists the source classes in output order.
var classes = []string{classManagement, classCluster, classNuvla, Users}

// Cluster is the class of the site's own nodes, whose addresses are the
// nodes' (exported for the topology, which draws them as nodes).
const Cluster = classCluster

// ClassOrder returns the source classes in the order rules and outputs list
// them.
func ClassOrder() []string { return slices.Clone(classes) }

// protocols are the transport protocols rules open, in output order.
var protocols = []string{"tcp", "udp"}

// Span is an inclusive port range; a single port has From == To.
type Span struct{ From, To int }

// String prints 22 or 32768-60999.
func (s Span) String() string {
	if s.From == s.To {
		return strconv.Itoa(s.From)
	}
	return fmt.Sprintf("%d-%d", s.From, s.To)
}

// Contains reports whether port lies in s.
func (s Span) Contains(port int) bool { return s.From <= port && port <= s.To }

// Rule is one rule of the tables as it applies to one protocol: it opens
// Ports to the sources of its classes.
type Rule struct {
	Name      string   // key in firewall.rules
	Service   string   // the seed's service name
	Proto     string   // "tcp" or "udp"
	Ports     []Span   // sorted, disjoint, carve-outs removed
	PortNames []string // the firewall.ports keys it opens on Proto
	Except    []string // the firewall.ports keys carved out of them
	From      []string // classes, in classes order
	Nodes     string   // "all" or "managers"
	Sensitive bool
	Pos       token.Pos
}

// Allows reports whether the rule opens port.
func (r Rule) Allows(port int) bool {
	for _, s := range r.Ports {
		if s.Contains(port) {
			return true
		}
	}
	return false
}

// portList prints the ports as "80, 443".
func (r Rule) portList() string {
	parts := make([]string, len(r.Ports))
	for i, s := range r.Ports {
		parts[i] = s.String()
	}
	return strings.Join(parts, ", ")
}

// Node is one node with the rules that apply to it.
type Node struct {
	Name    string
	Address netip.Addr
	Role    string
	Rules   []Rule // by first port, name, protocol
}

// Warning is a finding that does not stop generation: a fix of the seed's
// tables, or rules that overlap.
type Warning struct {
	Pos token.Pos
	Msg string
}

// Err returns the warning as a positioned error, for printing.
func (w Warning) Err() errors.Error { return errors.Newf(w.Pos, "warning: %s", w.Msg) }

// Ruleset is a site's compiled firewall.
type Ruleset struct {
	Site string
	File string // the site's source file, for headers
	// Groups are the addresses of each class the site has, minimal (no
	// prefix contained in another) and sorted. The cluster class is the nodes'.
	Groups   map[string][]netip.Prefix
	GroupPos map[string]token.Pos
	Nodes    []Node
	Warnings []Warning
}

// node returns the compiled node called name.
func (rs *Ruleset) node(name string) (*Node, bool) {
	for i := range rs.Nodes {
		if rs.Nodes[i].Name == name {
			return &rs.Nodes[i], true
		}
	}
	return nil, false
}

// classesOf lists the classes whose groups contain addr.
func (rs *Ruleset) classesOf(addr netip.Addr) []string {
	var out []string
	for _, c := range classes {
		for _, p := range rs.Groups[c] {
			if p.Contains(addr) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// Compile builds the site's rule model. Errors (unknown port names, a
// sensitive port open to the world) are positioned; warnings are returned
// in the ruleset.
func Compile(s *site.Site) (*Ruleset, error) {
	raw := s.Firewall
	if raw == nil {
		return nil, errors.Newf(s.Pos(), "site %s: the model has no firewall section", s.Name)
	}
	rs := &Ruleset{
		Site:     s.Name,
		File:     s.File,
		Groups:   map[string][]netip.Prefix{},
		GroupPos: map[string]token.Pos{},
	}
	for c, list := range map[string][]netip.Prefix{classManagement: s.Groups.Management, Users: s.Groups.Users, classNuvla: s.Groups.Nuvla} {
		if len(list) > 0 {
			rs.Groups[c] = minimalPrefixes(list)
			rs.GroupPos[c] = s.Pos("groups", c)
		}
	}
	var cluster []netip.Prefix
	for _, n := range s.Nodes {
		cluster = append(cluster, netip.PrefixFrom(n.Address, n.Address.BitLen()))
	}
	rs.Groups[classCluster] = minimalPrefixes(cluster)
	rs.GroupPos[classCluster] = s.Pos("nodes")

	var errs errors.Error
	names := make([]string, 0, len(raw.Rules))
	for n := range raw.Rules {
		names = append(names, n)
	}
	slices.Sort(names)
	world := map[string]bool{}
	// The references between the tables (openToWorld's rules here, the
	// rules' ports and carve-outs below) are the model's to refuse, at the
	// site file's list (cue/references.cue); checked again for models that
	// do not, such as another revision's for nuvlagen diff --base, where a
	// missing port would otherwise open nothing without a word.
	for _, n := range raw.OpenToWorld {
		if _, ok := raw.Rules[n]; !ok {
			errs = errors.Append(errs, errors.Newf(s.Pos("firewall", "openToWorld"), "firewall.openToWorld names rule %q, which does not exist", n))
		}
		world[n] = true
	}
	// The model refuses these names and texts already (cue/firewall.cue);
	// checked again here for models that do not, such as another
	// revision's for nuvlagen diff: they end up in comments and scripts.
	for _, pn := range slices.Sorted(maps.Keys(raw.Ports)) {
		if !validName(pn) {
			errs = errors.Append(errs, errors.Newf(raw.Ports[pn].Pos, "firewall.ports %q: port name: use letters, digits and -, starting with a letter, at most %d characters", pn, nameMax))
		}
	}
	var rules []Rule
	for _, name := range names {
		r := raw.Rules[name]
		pos := r.Pos
		if !validName(name) {
			errs = errors.Append(errs, errors.Newf(pos, "firewall.rules %q: rule name: use letters, digits and -, starting with a letter, at most %d characters", name, nameMax))
			continue
		}
		if !validText(r.Service, 64) || strings.Contains(r.Service, "|") {
			errs = errors.Append(errs, errors.Newf(pos, "firewall rule %s: service: one line of at most 64 characters, without control characters or |", name))
			continue
		}
		if r.Fix != "" && !validText(r.Fix, 400) {
			errs = errors.Append(errs, errors.Newf(pos, "firewall rule %s: fix: one line of at most 400 characters, without control characters", name))
			continue
		}
		if r.Fix != "" {
			rs.Warnings = append(rs.Warnings, Warning{Pos: pos, Msg: fmt.Sprintf("site %s, rule %s: %s", s.Name, name, r.Fix)})
		}
		from := make([]string, 0, len(r.From))
		for _, c := range classes {
			if !slices.Contains(r.From, c) {
				continue
			}
			if _, ok := rs.Groups[c]; !ok {
				errs = errors.Append(errs, errors.Newf(pos, "firewall rule %s opens ports to %s, which site %s does not define (groups.%s)", name, c, s.Name, c))
				continue
			}
			from = append(from, c)
		}
		byProto := map[string][]Span{}
		names := map[string][]string{}
		exceptNames := map[string][]string{}
		except := map[string][]Span{}
		for _, pn := range r.Ports {
			p, ok := raw.Ports[pn]
			if !ok {
				errs = errors.Append(errs, errors.Newf(pos, "firewall rule %s names port %q, which firewall.ports does not define", name, pn))
				continue
			}
			for _, proto := range p.Protocols {
				byProto[proto] = append(byProto[proto], span(p))
				names[proto] = append(names[proto], pn)
			}
		}
		for _, pn := range r.Except {
			p, ok := raw.Ports[pn]
			if !ok {
				errs = errors.Append(errs, errors.Newf(pos, "firewall rule %s carves out port %q, which firewall.ports does not define", name, pn))
				continue
			}
			for _, proto := range p.Protocols {
				except[proto] = append(except[proto], span(p))
				exceptNames[proto] = append(exceptNames[proto], pn)
			}
		}
		for _, proto := range protocols {
			spans := subtractSpans(mergeSpans(byProto[proto]), except[proto])
			if len(spans) == 0 {
				continue
			}
			rules = append(rules, Rule{
				Name: name, Service: r.Service, Proto: proto, Ports: spans,
				PortNames: names[proto], Except: exceptNames[proto],
				From: from, Nodes: r.Nodes, Pos: pos,
			})
		}
	}
	if errs != nil {
		return nil, errs
	}
	if err := rs.checkSensitive(s, raw, rules, world); err != nil {
		return nil, err
	}
	// In port order, as the seed's tables are, for people reading them.
	slices.SortStableFunc(rules, func(a, b Rule) int {
		return cmp.Or(cmp.Compare(a.Ports[0].From, b.Ports[0].From), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Proto, b.Proto))
	})
	for _, n := range s.Nodes {
		node := Node{Name: n.Name, Address: n.Address, Role: n.Role}
		for _, r := range rules {
			if r.Nodes == "managers" && n.Role != "manager" {
				continue
			}
			node.Rules = append(node.Rules, r)
		}
		rs.Nodes = append(rs.Nodes, node)
	}
	// The NFS configuration pins the daemons to nfs.ports on every node;
	// nfsconf says which ports those are, and each node must open them to
	// the cluster.
	if s.NFS != nil {
		for _, n := range rs.Nodes {
			err := nfsconf.CheckOpened(s.NFS.Ports, func(port int, proto string) bool {
				for _, r := range n.Rules {
					if r.Proto == proto && r.Allows(port) && slices.Contains(r.From, classCluster) {
						return true
					}
				}
				return false
			})
			if err != nil {
				return nil, errors.Newf(s.Pos("nfs", "ports"), "node %s: %v", n.Name, err)
			}
		}
	}
	rs.Warnings = append(rs.Warnings, overlaps(rs)...)
	return rs, nil
}

func span(p site.FirewallPort) Span {
	if p.To == 0 {
		return Span{p.From, p.From}
	}
	return Span{p.From, p.To}
}

// mergeSpans sorts spans and joins those that overlap or touch.
func mergeSpans(in []Span) []Span {
	s := slices.Clone(in)
	slices.SortFunc(s, func(a, b Span) int { return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To)) })
	var out []Span
	for _, x := range s {
		if n := len(out); n > 0 && x.From <= out[n-1].To+1 {
			out[n-1].To = max(out[n-1].To, x.To)
			continue
		}
		out = append(out, x)
	}
	return out
}

// subtractSpans removes the ports of cut from the merged spans in.
func subtractSpans(in, cut []Span) []Span {
	out := slices.Clone(in)
	for _, c := range mergeSpans(cut) {
		var next []Span
		for _, x := range out {
			if c.To < x.From || c.From > x.To {
				next = append(next, x)
				continue
			}
			if x.From < c.From {
				next = append(next, Span{x.From, c.From - 1})
			}
			if c.To < x.To {
				next = append(next, Span{c.To + 1, x.To})
			}
		}
		out = next
	}
	return out
}

// intersectSpans returns the ports in both merged span lists.
func intersectSpans(a, b []Span) []Span {
	var out []Span
	for _, x := range a {
		for _, y := range b {
			if lo, hi := max(x.From, y.From), min(x.To, y.To); lo <= hi {
				out = append(out, Span{lo, hi})
			}
		}
	}
	return mergeSpans(out)
}

// minimalPrefixes drops prefixes contained in others and sorts the rest, so that
// an nftables interval set never holds overlapping elements.
func minimalPrefixes(in []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for i, p := range in {
		p = p.Masked()
		covered := false
		for j, q := range in {
			q = q.Masked()
			if i != j && q.Bits() <= p.Bits() && q.Contains(p.Addr()) && (q != p || j < i) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
	})
	return out
}

// covers reports whether every address of the prefixes in b lies in a.
func covers(a, b []netip.Prefix) bool {
	for _, q := range b {
		ok := false
		for _, p := range a {
			if p.Bits() <= q.Bits() && p.Contains(q.Addr()) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (rs *Ruleset) sources(classes []string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range classes {
		out = append(out, rs.Groups[c]...)
	}
	return minimalPrefixes(out)
}

// overlaps finds pairs of rules that open the same port on a node, as
// Capirca's shading check does for terms: every port should belong to one
// rule, or one rule's intent (who may connect) is silently widened or made
// redundant by the other. Findings shared by several nodes are reported
// once, naming them.
func overlaps(rs *Ruleset) []Warning {
	type key struct{ a, b, proto, ports string }
	var order []key
	found := map[key][]string{}
	msgs := map[key]Warning{}
	for _, n := range rs.Nodes {
		for i, a := range n.Rules {
			for _, b := range n.Rules[i+1:] {
				if a.Proto != b.Proto || a.Name == b.Name {
					continue
				}
				common := intersectSpans(a.Ports, b.Ports)
				if len(common) == 0 {
					continue
				}
				ports := Rule{Ports: common}.portList()
				k := key{a.Name, b.Name, a.Proto, ports}
				if _, seen := found[k]; !seen {
					order = append(order, k)
					sa, sb := rs.sources(a.From), rs.sources(b.From)
					var what string
					switch {
					case covers(sa, sb) && covers(sb, sa):
						what = fmt.Sprintf("rules %s and %s both open it to the same sources (%s): one is redundant", a.Name, b.Name, strings.Join(a.From, ", "))
					case covers(sa, sb):
						what = fmt.Sprintf("rule %s (from %s) is shadowed there by rule %s, which opens it to %s", b.Name, strings.Join(b.From, ", "), a.Name, strings.Join(a.From, ", "))
					case covers(sb, sa):
						what = fmt.Sprintf("rule %s (from %s) is shadowed there by rule %s, which opens it to %s", a.Name, strings.Join(a.From, ", "), b.Name, strings.Join(b.From, ", "))
					default:
						what = fmt.Sprintf("rule %s opens it to %s and rule %s to %s: each widens what the other intends", a.Name, strings.Join(a.From, ", "), b.Name, strings.Join(b.From, ", "))
					}
					msgs[k] = Warning{Pos: b.Pos, Msg: fmt.Sprintf("site %s: port %s/%s overlaps: %s", rs.Site, ports, a.Proto, what)}
				}
				found[k] = append(found[k], n.Name)
			}
		}
	}
	var out []Warning
	for _, k := range order {
		w := msgs[k]
		w.Msg += fmt.Sprintf(" (nodes %s)", strings.Join(found[k], ", "))
		out = append(out, w)
	}
	return out
}
