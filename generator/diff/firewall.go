package diff

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"

	"github.com/nuvla/nuvlagen/generator/firewall"
)

// firewallDiffer compares a site's firewall by its rule table,
// firewall/rules.json, which generator/firewall writes and parses
// (firewall.ParseRuleTable): per node, a rule for every port, protocol
// and class, "443/tcp from users", reachable from the class's CIDRs. A
// rule is reachable from anywhere when its class is users or a source is
// 0.0.0.0/0 or ::/0, or more than a /8 all together.
var firewallDiffer = differ{
	Kind: "firewall",
	Match: func(rel string) bool {
		return path.Base(rel) == firewall.RulesFile && path.Base(path.Dir(rel)) == firewall.Dir
	},
	Diff: diffFirewall,
}

// portsDiffer explains firewall/PORTS.md, the firewall's rules for
// people, by the rule table beside it, printed from the same rules: the
// rules' changes are listed under PORTS.md, as reviewers know the file,
// and rules.json is then not listed again. Output of a nuvlagen that did
// not write rules.json yet has no table to compare: its PORTS.md is shown
// as text, the rules not compared (its prose is not parsed).
var portsDiffer = differ{
	Kind:  "firewall",
	Match: func(rel string) bool { return path.Base(rel) == "PORTS.md" && path.Base(path.Dir(rel)) == firewall.Dir },
	Data:  func(rel string) string { return path.Join(path.Dir(rel), firewall.RulesFile) },
	Diff:  diffFirewall,
}

// fwRule is what one (node, port/proto, class) may be reached from.
type fwRule struct {
	Service string
	Sources map[string]bool
}

// fwTable maps node → "PORT/PROTO from CLASS" → rule.
type fwTable map[string]map[string]*fwRule

// readRules reads a rule table, keyed for comparing: rules that open the
// same port and protocol to the same class are one, with the union of
// their sources and the first one's service.
func readRules(data []byte) (fwTable, error) {
	t, err := firewall.ParseRuleTable(data)
	if err != nil {
		return nil, err
	}
	out := fwTable{}
	for _, n := range t.Nodes {
		if out[n.Name] == nil {
			out[n.Name] = map[string]*fwRule{}
		}
		for _, r := range n.Rules {
			for _, p := range r.Ports {
				for _, src := range r.From {
					key := p.String() + "/" + r.Proto + " from " + src.Class
					fr := out[n.Name][key]
					if fr == nil {
						fr = &fwRule{Service: r.Service, Sources: map[string]bool{}}
						out[n.Name][key] = fr
					}
					for _, c := range src.CIDRs {
						fr.Sources[c] = true
					}
				}
			}
		}
	}
	return out, nil
}

func anywhere(cidr string) bool { return cidr == "0.0.0.0/0" || cidr == "::/0" }

// exposed reports whether a rule opens to users or to anywhere: to more
// than a /8 of IPv4 addresses together, as generator/firewall judges a
// sensitive port's sources (so 0.0.0.0/1 with 128.0.0.0/1 is anywhere
// too).
func exposed(key string, sources map[string]bool) bool {
	if _, class, ok := strings.Cut(key, " from "); ok && class == firewall.Users {
		return true
	}
	var v4 []netip.Prefix
	for s := range sources {
		if anywhere(s) {
			return true
		}
		if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Is4() {
			v4 = append(v4, p.Masked())
		}
	}
	return firewall.Addresses(v4) > firewall.WorldAddresses
}

func (r *fwRule) describe(key string) string {
	srcs := unionKeys(r.Sources, nil)
	s := "allows " + key
	if len(srcs) > 0 {
		s += " (" + strings.Join(srcs, ", ") + ")"
	}
	if r.Service != "" {
		s += ": " + r.Service
	}
	return s
}

// readSide reads one side's table: none when the file is absent.
func readSide(data []byte) (fwTable, error) {
	if data == nil {
		return fwTable{}, nil
	}
	return readRules(data)
}

func diffFirewall(rel string, old, new []byte) ([]Change, error) {
	to, err := readSide(old)
	if err != nil {
		return nil, fmt.Errorf("old %s: %w", rel, err)
	}
	tn, err := readSide(new)
	if err != nil {
		return nil, fmt.Errorf("new %s: %w", rel, err)
	}
	var out []Change
	rules := func(op Op, node string, t fwTable, keys []string) {
		for _, k := range keys {
			r := t[node][k]
			c := Change{Op: op, Object: node}
			if op == OpAdd {
				c.Text = "now " + r.describe(k)
				if exposed(k, r.Sources) {
					c.Risk = RiskExposure
				}
			} else {
				c.Text = "no longer " + r.describe(k)
			}
			out = append(out, c)
		}
	}
	// Sources added to or removed from existing rules are grouped per node
	// and source: a new node adds its address to every cluster rule.
	type srcKey struct {
		node  string
		op    Op
		class string
		src   string
	}
	var order []srcKey
	srcPorts := map[srcKey][]string{}
	for _, d := range deltas(to, tn, dataOpts...) {
		node := d.path[0]
		switch len(d.path) {
		case 1:
			if d.added() {
				rules(OpAdd, node, tn, unionKeys(tn[node], nil))
			} else {
				rules(OpRemove, node, to, unionKeys(to[node], nil))
			}
			continue
		case 2:
			if d.added() {
				rules(OpAdd, node, tn, []string{d.path[1]})
			} else {
				rules(OpRemove, node, to, []string{d.path[1]})
			}
			continue
		}
		key, field := d.path[1], d.path[2]
		switch {
		case field == "Service":
			out = append(out, Change{Op: OpChange, Object: node, Text: fmt.Sprintf("%s: service %s → %s", key, show(d.old), show(d.new))})
		case field == "Sources" && len(d.path) == 4:
			port, class, _ := strings.Cut(key, " from ")
			k := srcKey{node, OpRemove, class, d.path[3]}
			if d.added() {
				k.op = OpAdd
			}
			if _, seen := srcPorts[k]; !seen {
				order = append(order, k)
			}
			srcPorts[k] = append(srcPorts[k], port)
		default:
			out = append(out, Change{Op: OpChange, Object: node, Text: fmt.Sprintf("%s: %s → %s", key, show(d.old), show(d.new))})
		}
	}
	for _, k := range order {
		what := strings.Join(srcPorts[k], ", ")
		if k.class != "" {
			what += " from " + k.class
		}
		c := Change{Op: k.op, Object: k.node}
		if k.op == OpAdd {
			c.Text = fmt.Sprintf("%s: now also from %s", what, k.src)
			if exposed(" from "+k.class, map[string]bool{k.src: true}) {
				c.Risk = RiskExposure
			}
		} else {
			c.Text = fmt.Sprintf("%s: no longer from %s", what, k.src)
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b Change) int { return strings.Compare(a.Object, b.Object) })
	return out, nil
}
