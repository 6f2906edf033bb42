package firewall

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"github.com/nuvla/nuvlagen/generator/site"
)

// WorldAddresses is how many addresses a sensitive port's sources may
// cover at most. More than a /8 (2^24 addresses, the largest block ever
// assigned to one organisation) is no longer a set of known hosts but a
// share of the Internet, and is judged as the whole of it. The count is
// over the union of the prefixes, so 0.0.0.0/1 with 128.0.0.0/1, or
// thousands of /24s, are caught as surely as 0.0.0.0/0.
const WorldAddresses = 1 << 24

// Addresses counts the addresses of the union of ps (saturating).
func Addresses(ps []netip.Prefix) uint64 {
	var n uint64
	for _, p := range minimalPrefixes(ps) {
		host := p.Addr().BitLen() - p.Bits()
		if host >= 64 {
			return math.MaxUint64
		}
		add := uint64(1) << host
		if n+add < n {
			return math.MaxUint64
		}
		n += add
	}
	return n
}

// sensitivePort is a port, or a number, that only some classes may reach.
type sensitivePort struct {
	what   string // for messages: `port docker-api` or `firewall.sensitiveNumbers docker-api`
	span   Span
	protos []string // nil: both
	from   []string
}

func (sp sensitivePort) allowed() string {
	if len(sp.from) == 0 {
		return "for no class"
	}
	return "for " + strings.Join(sp.from, ", ") + " only"
}

// checkSensitive judges every rule that opens a sensitive port, by name
// or by number: it may open it only to the classes the port allows, and
// the union of those classes' addresses may not cover more than
// WorldAddresses. A rule listed in firewall.openToWorld may do either,
// and is reported as a warning. It marks the rules that open a
// sensitive port.
func (rs *Ruleset) checkSensitive(s *site.Site, raw *site.Firewall, rules []Rule, world map[string]bool) error {
	var sens []sensitivePort
	for _, pn := range slices.Sorted(maps.Keys(raw.Ports)) {
		p := raw.Ports[pn]
		if p.Sensitive {
			sens = append(sens, sensitivePort{what: "port " + pn, span: span(p), protos: p.Protocols, from: p.Allowed})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(raw.SensitiveNumbers)) {
		n := raw.SensitiveNumbers[k]
		sens = append(sens, sensitivePort{what: "firewall.sensitiveNumbers " + k, span: Span{n.Port, n.Port}, from: n.From})
	}

	// A violation is one sensitive port a rule opens beyond what it allows.
	type violation struct {
		ports string // "2376/tcp"
		desc  string // "port docker-api, for nuvla only"
	}
	type finding struct {
		pos  token.Pos
		bad  []string // the classes it should not open them to
		list []violation
	}
	var ruleOrder []string
	classFindings := map[string]*finding{}
	// A port's sources are the addresses of the allowed classes that rules
	// not listed in openToWorld open it to; ports with the same sources and
	// rules are reported together.
	type wide struct {
		classes, openers []string
		ports            []string
	}
	var wideOrder []string
	wides := map[string]*wide{}
	listed := map[string]bool{} // rules openToWorld lets go wider: warnings

	for _, sp := range sens {
		var classes, openers []string
		var ports []string
		for i := range rules {
			r := &rules[i]
			if sp.protos != nil && !slices.Contains(sp.protos, r.Proto) {
				continue
			}
			common := intersectSpans(r.Ports, []Span{sp.span})
			if len(common) == 0 {
				continue
			}
			r.Sensitive = true
			pp := Rule{Ports: common}.portList() + "/" + r.Proto
			var bad []string
			for _, c := range r.From {
				if !slices.Contains(sp.from, c) {
					bad = append(bad, c)
				}
			}
			if world[r.Name] {
				if len(bad) > 0 || Addresses(rs.sources(r.From)) > WorldAddresses {
					listed[r.Name] = true
				}
				continue
			}
			if len(bad) > 0 {
				f := classFindings[r.Name]
				if f == nil {
					f = &finding{pos: sensitivePos(s, raw, r, common)}
					classFindings[r.Name] = f
					ruleOrder = append(ruleOrder, r.Name)
				}
				for _, c := range bad {
					if !slices.Contains(f.bad, c) {
						f.bad = append(f.bad, c)
					}
				}
				if !slices.ContainsFunc(f.list, func(v violation) bool { return v.ports == pp }) {
					f.list = append(f.list, violation{pp, sp.what + ", " + sp.allowed()})
				}
			}
			for _, c := range r.From {
				if slices.Contains(sp.from, c) && !slices.Contains(classes, c) {
					classes = append(classes, c)
				}
			}
			if !slices.Contains(openers, r.Name) {
				openers = append(openers, r.Name)
			}
			if !slices.Contains(ports, pp) {
				ports = append(ports, pp)
			}
		}
		if Addresses(rs.sources(classes)) <= WorldAddresses {
			continue
		}
		slices.Sort(classes)
		key := strings.Join(classes, ",") + "\x00" + strings.Join(openers, ",")
		w := wides[key]
		if w == nil {
			w = &wide{classes: classes, openers: openers}
			wides[key] = w
			wideOrder = append(wideOrder, key)
		}
		for _, p := range ports {
			if !slices.Contains(w.ports, p) {
				w.ports = append(w.ports, p)
			}
		}
	}

	var errs errors.Error
	for _, name := range ruleOrder {
		f := classFindings[name]
		slices.SortStableFunc(f.list, func(a, b violation) int { return cmp.Compare(leadingPort(a.ports), leadingPort(b.ports)) })
		items := make([]string, len(f.list))
		for i, v := range f.list {
			items[i] = fmt.Sprintf("%s (%s)", v.ports, v.desc)
		}
		errs = errors.Append(errs, errors.Newf(f.pos, "firewall rule %s opens sensitive ports to %s: %s; narrow the rule, or list %q in firewall.openToWorld",
			name, strings.Join(f.bad, ", "), strings.Join(items, ", "), name))
	}
	for _, key := range wideOrder {
		w := wides[key]
		// Point at the widest group: that is the one to narrow.
		widest := w.classes[0]
		var groups []string
		for _, c := range w.classes {
			if Addresses(rs.Groups[c]) > Addresses(rs.Groups[widest]) {
				widest = c
			}
			g := "groups." + c
			if c == classCluster {
				g = "the nodes"
			}
			groups = append(groups, fmt.Sprintf("%s (%s)", g, prefixList(rs.Groups[c])))
		}
		quoted := make([]string, len(w.openers))
		for i, o := range w.openers {
			quoted[i] = fmt.Sprintf("%q", o)
		}
		errs = errors.Append(errs, errors.Newf(rs.GroupPos[widest], "%s would open sensitive %s (rule %s) to %d addresses, more than a /8 holds: that is the whole Internet; narrow the group, or list %s in firewall.openToWorld",
			strings.Join(groups, " and "), strings.Join(w.ports, ", "), strings.Join(w.openers, ", "), Addresses(rs.sources(w.classes)), strings.Join(quoted, " and ")))
	}
	for _, name := range slices.Sorted(maps.Keys(listed)) {
		rs.Warnings = append(rs.Warnings, Warning{Pos: raw.Rules[name].Pos, Msg: fmt.Sprintf("site %s, rule %s: opens sensitive ports beyond what they allow (other classes, or more addresses than a /8): firewall.openToWorld lets it", rs.Site, name)})
	}
	return errs
}

func leadingPort(s string) int {
	n, _ := strconv.Atoi(strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' })[0])
	return n
}

// sensitivePos is where to look at a rule that opens a sensitive port:
// the rule in the site file, or else a port of it the site file numbers
// onto the sensitive one, or else the nearest field the site file sets
// (a model rule over a sensitive port is the site's doing: its
// ephemeralPorts, say).
func sensitivePos(s *site.Site, raw *site.Firewall, r *Rule, common []Span) token.Pos {
	if r.Pos.Filename() == s.File {
		return r.Pos
	}
	for _, pn := range r.PortNames {
		if p, ok := raw.Ports[pn]; ok && len(intersectSpans([]Span{span(p)}, common)) > 0 {
			if pos := p.Pos; pos.Filename() == s.File {
				return pos
			}
		}
	}
	return s.Pos("firewall", "rules", r.Name)
}
