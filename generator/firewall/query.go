package firewall

import (
	"fmt"
	"maps"
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
	// Sources are the addresses the decision holds for, when the question
	// was asked of a prefix (QueryPrefix): the part of it whose addresses
	// are in the same groups as From.
	Sources []netip.Prefix
	// Narrowest are the source's classes whose groups hold it in the
	// longest prefix: what an operator takes the source to be.
	Narrowest []string
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
	longest := -1
	for _, c := range d.Classes {
		d.Groups[c] = rs.Groups[c]
		bits := -1
		for _, p := range rs.Groups[c] {
			if p.Contains(from) {
				bits = max(bits, p.Bits())
			}
		}
		switch {
		case bits > longest:
			longest, d.Narrowest = bits, []string{c}
		case bits == longest:
			d.Narrowest = append(d.Narrowest, c)
		}
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
	fmt.Fprintf(&b, "%s: %s -> %s %d/%s (site %s)\n", d.verdict(), d.source(), d.Node, d.Number, d.Proto, d.Site)
	d.explainBody(&b, "  ")
	return b.String()
}

func (d Decision) verdict() string {
	if d.Allowed {
		return "allowed"
	}
	return "blocked"
}

// source is the address asked about, or the prefixes a part of a
// prefix's answer holds for.
func (d Decision) source() string {
	if len(d.Sources) == 0 || len(d.Sources) == 1 && d.Sources[0].IsSingleIP() {
		return d.From.String()
	}
	return prefixList(d.Sources)
}

func (d Decision) explainBody(b *strings.Builder, indent string) {
	w := func(format string, a ...any) { b.WriteString(indent); fmt.Fprintf(b, format, a...) }
	if len(d.Classes) == 0 {
		w("source: in no address group\n")
	} else {
		var cls []string
		for _, c := range d.Classes {
			cls = append(cls, fmt.Sprintf("%s (%s)", c, prefixList(d.Groups[c])))
		}
		w("source: %s\n", strings.Join(cls, ", "))
	}
	if by := d.overlapDecides(); by != nil {
		w("note: the groups overlap: let in as %s, not as %s (its narrowest group)\n", strings.Join(by, ", "), strings.Join(d.Narrowest, ", "))
	}
	switch {
	case d.Allowed:
		w("rule: %s\n", d.Rule.describe())
		for _, r := range d.Also {
			w("also (overlapping): %s\n", r.describe())
		}
	case d.Port:
		for _, r := range d.Others {
			w("not from here: %s\n", r.describe())
		}
	default:
		w("no rule opens %d/%s on %s: new connections are dropped\n", d.Number, d.Proto, d.Node)
	}
}

// overlapDecides returns the classes that let the source in when they
// are not its narrowest ones: the groups overlap, and the overlap is the
// answer (a nuvla address inside management's prefix reaching SSH, a
// management address reaching the users' ports). Being in more groups only
// ever opens more, so a blocked answer never depends on it, nor does one
// that the narrowest group gives too; nil then.
func (d Decision) overlapDecides() []string {
	if !d.Allowed || len(d.Classes) < 2 {
		return nil
	}
	var by []string
	for _, r := range append([]Rule{*d.Rule}, d.Also...) {
		for _, c := range r.From {
			if slices.Contains(d.Narrowest, c) {
				return nil
			}
			// A group of every address (users by default) is no overlap:
			// the port is open to anyone, whatever else the source is.
			if slices.Contains(d.Classes, c) && Addresses(d.Groups[c]) >= 1<<32 {
				return nil
			}
			if slices.Contains(d.Classes, c) && !slices.Contains(by, c) {
				by = append(by, c)
			}
		}
	}
	return by
}

// Answer is the model's answer for new connections from every address of
// a prefix: one decision per part of it with the same
// outcome (verdict, rules, the overlap's note), in address order of its
// first prefix.
type Answer struct {
	From  netip.Prefix
	Parts []Decision
}

// Allowed reports whether every address of the prefix is let in.
func (a Answer) Allowed() bool {
	for _, d := range a.Parts {
		if !d.Allowed {
			return false
		}
	}
	return true
}

// Explain says the answer in words: as Decision.Explain for a prefix
// whose addresses are all in the same groups, otherwise a headline
// counting the addresses let in, then each part.
func (a Answer) Explain() string {
	if len(a.Parts) == 1 {
		d := a.Parts[0]
		d.Sources = []netip.Prefix{a.From}
		return d.Explain()
	}
	var allowed uint64
	for _, d := range a.Parts {
		if d.Allowed {
			allowed += Addresses(d.Sources)
		}
	}
	d0 := a.Parts[0]
	verdict := "partly allowed"
	switch {
	case allowed == 0:
		verdict = "blocked"
	case a.Allowed():
		verdict = "allowed"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s -> %s %d/%s (site %s): %d of %d addresses let in\n", verdict, a.From, d0.Node, d0.Number, d0.Proto, d0.Site, allowed, Addresses([]netip.Prefix{a.From}))
	for _, d := range a.Parts {
		from := prefixList(d.Sources)
		if n := len(d.Sources); n > 4 {
			// The rest of a wide prefix, around the groups' pieces.
			from = fmt.Sprintf("%s and %d more prefixes (%d addresses in all)", prefixList(d.Sources[:3]), n-3, Addresses(d.Sources))
		}
		fmt.Fprintf(&b, "  from %s: %s\n", from, d.verdict())
		d.explainBody(&b, "    ")
	}
	return b.String()
}

// QueryPrefix decides for every address of from (an IPv4 prefix; a /32
// is one address): the prefix is cut where a group's prefix starts or
// ends (the addresses between two cuts are in the same groups), each piece
// is asked, and pieces with the same outcome are one part.
func (rs *Ruleset) QueryPrefix(from netip.Prefix, node, proto string, port int) (Answer, error) {
	from = from.Masked()
	if !from.Addr().Is4() {
		return Answer{}, fmt.Errorf("%s: want an IPv4 address or prefix", from)
	}
	lo, hi := span4(from)
	cuts := []uint64{lo, hi + 1}
	for _, c := range classes {
		for _, p := range rs.Groups[c] {
			plo, phi := span4(p)
			if plo > lo && plo <= hi {
				cuts = append(cuts, plo)
			}
			if phi >= lo && phi < hi {
				cuts = append(cuts, phi+1)
			}
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	a := Answer{From: from}
	parts := map[string]int{} // the part of each outcome
	for i := 0; i+1 < len(cuts); i++ {
		d, err := rs.Query(addr4(cuts[i]), node, proto, port)
		if err != nil {
			return Answer{}, err
		}
		key := d.outcome()
		k, seen := parts[key]
		if !seen {
			k = len(a.Parts)
			parts[key] = k
			a.Parts = append(a.Parts, d)
		} else {
			// Parts of one outcome in other groups too: the groups all
			// of its addresses are in.
			p := &a.Parts[k]
			p.Classes = slices.DeleteFunc(p.Classes, func(c string) bool { return !slices.Contains(d.Classes, c) })
			maps.DeleteFunc(p.Groups, func(c string, _ []netip.Prefix) bool { return !slices.Contains(p.Classes, c) })
		}
		a.Parts[k].Sources = append(a.Parts[k].Sources, rangePrefixes(cuts[i], cuts[i+1]-1)...)
	}
	for i := range a.Parts {
		a.Parts[i].Sources = minimalPrefixes(a.Parts[i].Sources)
	}
	return a, nil
}

// outcome is what an answer for d's source says, beyond its groups: the
// verdict, the rules named, and whether the overlap decided it.
func (d Decision) outcome() string {
	names := func(rs []Rule) string {
		var n []string
		for _, r := range rs {
			n = append(n, r.Name)
		}
		return strings.Join(n, ",")
	}
	rule := ""
	if d.Rule != nil {
		rule = d.Rule.Name
	}
	return fmt.Sprintf("%v|%s|%s|%s|%v|%v", d.Allowed, rule, names(d.Also), names(d.Others), d.Port, d.overlapDecides())
}

// span4 is the first and last address of an IPv4 prefix, as numbers.
func span4(p netip.Prefix) (lo, hi uint64) {
	b := p.Masked().Addr().As4()
	lo = uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	return lo, lo + 1<<(32-p.Bits()) - 1
}

func addr4(n uint64) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// rangePrefixes covers lo..hi with the fewest prefixes, in order.
func rangePrefixes(lo, hi uint64) []netip.Prefix {
	var out []netip.Prefix
	for lo <= hi {
		bits := 32
		for bits > 0 {
			size := uint64(1) << (32 - bits + 1)
			if lo%size != 0 || lo+size-1 > hi {
				break
			}
			bits--
		}
		out = append(out, netip.PrefixFrom(addr4(lo), bits))
		lo += 1 << (32 - bits)
	}
	return out
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
