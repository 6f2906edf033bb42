package diff

import (
	"bytes"
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/nuvla/nuvlagen/generator/firewall"
)

// A site's firewall is compared by its rule model, firewall/rules.json,
// which generator/firewall writes and parses (firewall.ParseRuleTable):
// per node, a rule for every port, protocol and class, "443/tcp from
// users", reachable from the class's CIDRs. The changes make one section
// per node (FirewallDiff), and a class's addresses that change for every
// rule from it one line for the site. The files printed from the model
// are explained by it and not listed: PORTS.md, and each backend (nft,
// iptables, ip6tables, ufw) and apply.sh that is byte for byte what
// firewall.RuleTable.Backends prints from its side's table; one that is
// not (an older nuvlagen's output, an edit) is listed as text.
//
// A rule is reachable from anywhere when its class is users or a source
// is 0.0.0.0/0 or ::/0, or more than a /8 all together. Such a rule on a
// node is a risk only when it goes beyond the site's policy: when no node
// of the same role had it before, from the same addresses. A node that
// joins with its peers' rules brings no new exposure; a port opened to
// users on every worker is new exposure on each.

// FirewallDiff is a site's firewall change, read from the rule model.
type FirewallDiff struct {
	// Groups are the classes whose addresses changed, for every rule from
	// them: Object is the class.
	Groups []Change        `json:"groups,omitempty"`
	Nodes  []*NodeFirewall `json:"nodes,omitempty"`
	// Files are the files these changes explain, not listed again.
	Files []string `json:"files"`
}

// NodeFirewall is the firewall change of one node.
type NodeFirewall struct {
	Node    string   `json:"node"`
	Status  Status   `json:"status"`
	Role    string   `json:"role"`
	Address string   `json:"address"`
	Changes []Change `json:"changes"`
}

// firewallDiffer reads a rules.json the firewall section could not
// explain: a side's does not parse (shown as text, with why).
var firewallDiffer = differ{
	Kind: "firewall",
	Match: func(rel string) bool {
		return path.Base(rel) == firewall.RulesFile && path.Base(path.Dir(rel)) == firewall.Dir
	},
	Diff: diffFirewall,
}

// portsDiffer explains firewall/PORTS.md by the rule table beside it,
// when the firewall section does not: output of a nuvlagen that did not
// write rules.json yet has no table to compare, and its PORTS.md is shown
// as text, the rules not compared (its prose is not parsed); a PORTS.md
// that changed while the table did not is shown as text too.
var portsDiffer = differ{
	Kind:  "firewall",
	Match: func(rel string) bool { return path.Base(rel) == "PORTS.md" && path.Base(path.Dir(rel)) == firewall.Dir },
	Data:  func(rel string) string { return path.Join(path.Dir(rel), firewall.RulesFile) },
	Diff:  diffFirewall,
}

// fwRule is what one (node, port/proto, class) may be reached from.
type fwRule struct {
	Service string
	Names   map[string]bool // the rules' names, which the backends print
	Sources map[string]bool
}

// fwTable maps node → "PORT/PROTO from CLASS" → rule.
type fwTable map[string]map[string]*fwRule

// readRules reads a rule table, keyed for comparing: rules that open the
// same port and protocol to the same class are one, with the union of
// their sources and names and the first one's service.
func readRules(data []byte) (fwTable, error) {
	t, err := firewall.ParseRuleTable(data)
	if err != nil {
		return nil, err
	}
	return keyed(t), nil
}

func keyed(t *firewall.RuleTable) fwTable {
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
						fr = &fwRule{Service: r.Service, Names: map[string]bool{}, Sources: map[string]bool{}}
						out[n.Name][key] = fr
					}
					fr.Names[r.Name] = true
					for _, c := range src.CIDRs {
						fr.Sources[c] = true
					}
				}
			}
		}
	}
	return out
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

// fwSide is one side's rule model.
type fwSide struct {
	rules fwTable
	nodes map[string]firewall.TableNode // without their rules
	order []string                      // node names, in the table's order
	// printed are the files the table prints (firewall.RuleTable.Backends);
	// nil when it cannot.
	printed map[string][]byte
}

// sideOf reads one side's rule table; an empty side when the file is
// absent.
func sideOf(data []byte) (*fwSide, error) {
	s := &fwSide{rules: fwTable{}, nodes: map[string]firewall.TableNode{}}
	if data == nil {
		return s, nil
	}
	t, err := firewall.ParseRuleTable(data)
	if err != nil {
		return nil, err
	}
	s.rules = keyed(t)
	for _, n := range t.Nodes {
		if _, dup := s.nodes[n.Name]; !dup {
			s.order = append(s.order, n.Name)
		}
		s.nodes[n.Name] = firewall.TableNode{Name: n.Name, Address: n.Address, Role: n.Role}
	}
	if p, err := t.Backends(); err == nil {
		s.printed = p
	}
	return s, nil
}

// compareFirewall compares a site's firewall by its rule tables, and
// returns the files the comparison explains. nil when a side that exists
// has no table or one that does not parse, or the tables are the same or
// differ in nothing the comparison sees: the files are then compared one
// by one.
func compareFirewall(old, new map[string][]byte) (*FirewallDiff, map[string]bool) {
	rules := path.Join(firewall.Dir, firewall.RulesFile)
	od, inOld := old[rules]
	nd, inNew := new[rules]
	if old != nil && !inOld || new != nil && !inNew || bytes.Equal(od, nd) && inOld == inNew {
		return nil, nil
	}
	so, err := sideOf(od)
	if err != nil {
		return nil, nil
	}
	sn, err := sideOf(nd)
	if err != nil {
		return nil, nil
	}
	fd := diffTables(so, sn)
	if len(fd.Groups) == 0 && len(fd.Nodes) == 0 {
		return nil, nil
	}
	explained := map[string]bool{rules: true}
	// PORTS.md is printed from the same rules, with what the table does
	// not hold (port names, warnings): explained when it changed with
	// them, not when it came or went beside a table that stayed.
	ports := path.Join(firewall.Dir, "PORTS.md")
	_, po := old[ports]
	_, pn := new[ports]
	if po == inOld && pn == inNew {
		explained[ports] = true
	}
	for _, rel := range unionKeys(so.printed, sn.printed) {
		if printedAs(old, so, rel) && printedAs(new, sn, rel) && !bytes.Equal(old[rel], new[rel]) {
			explained[rel] = true
		}
	}
	fd.Files = unionKeys(explained, nil)
	return fd, explained
}

// printedAs reports whether a side's file is what its table prints: both
// absent, or both there and equal.
func printedAs(files map[string][]byte, s *fwSide, rel string) bool {
	if files == nil {
		return true // the site is added or removed: the side has no files
	}
	if data := s.printedFile(rel); data != nil {
		b, ok := files[rel]
		return ok && bytes.Equal(b, data)
	}
	_, ok := files[rel]
	return !ok && (s.printed != nil || len(s.nodes) == 0)
}

func (s *fwSide) printedFile(rel string) []byte {
	if s.printed == nil {
		return nil
	}
	return s.printed[rel]
}

// diffTables compares two rule models.
func diffTables(so, sn *fwSide) *FirewallDiff {
	fd := &FirewallDiff{}
	og, ng := groupsOf(so.rules), groupsOf(sn.rules)
	type groupKey struct {
		class string
		op    Op
	}
	groupDelta := map[groupKey]map[string]bool{}
	for _, class := range unionKeys(og, ng) {
		groupDelta[groupKey{class, OpAdd}] = minus(ng[class], og[class])
		groupDelta[groupKey{class, OpRemove}] = minus(og[class], ng[class])
	}
	folded := map[groupKey][]string{} // the nodes whose rules followed a group's change

	var nodes []string
	nodes = append(nodes, sn.order...)
	for _, n := range so.order {
		if _, ok := sn.nodes[n]; !ok {
			nodes = append(nodes, n)
		}
	}
	slices.Sort(nodes)
	for _, name := range nodes {
		on, inOld := so.nodes[name]
		nn, inNew := sn.nodes[name]
		nf := &NodeFirewall{Node: name, Status: Changed, Role: nn.Role, Address: nn.Address}
		switch {
		case !inOld:
			nf.Status = Added
			nf.Changes = addedNode(so, sn, name)
		case !inNew:
			nf.Status, nf.Role, nf.Address = Removed, on.Role, on.Address
			nf.Changes = []Change{{Op: OpRemove, Object: name, Text: fmt.Sprintf("node removed (%s, %s), with its %s", on.Role, on.Address, plural(len(so.rules[name]), "rule"))}}
		default:
			if on.Role != nn.Role {
				nf.Changes = append(nf.Changes, Change{Op: OpChange, Object: name, Text: fmt.Sprintf("role %s → %s", on.Role, nn.Role)})
			}
			if on.Address != nn.Address {
				nf.Changes = append(nf.Changes, Change{Op: OpChange, Object: name, Text: fmt.Sprintf("address %s → %s", on.Address, nn.Address)})
			}
			changes, follows := nodeRules(so, sn, name, func(class string, op Op, src string) bool {
				return groupDelta[groupKey{class, op}][src]
			})
			nf.Changes = append(nf.Changes, changes...)
			for class, ops := range follows {
				for _, op := range ops {
					k := groupKey{class, op}
					folded[k] = append(folded[k], name)
				}
			}
		}
		if len(nf.Changes) > 0 {
			fd.Nodes = append(fd.Nodes, nf)
		}
	}
	for _, class := range unionKeys(og, ng) {
		for _, op := range []Op{OpAdd, OpRemove} {
			k := groupKey{class, op}
			srcs := unionKeys(groupDelta[k], nil)
			ns := slices.Compact(slices.Sorted(slices.Values(folded[k])))
			if len(srcs) == 0 || len(ns) == 0 {
				// No rule that stays followed it: the rules added or
				// removed say it all.
				continue
			}
			c := Change{Op: op, Object: class}
			on := ", on the rules from " + class + " of " + nameList(ns, 6)
			if op == OpAdd {
				c.Text = fmt.Sprintf("now also from %s%s", strings.Join(srcs, ", "), on)
				if exposed(" from "+class, groupDelta[k]) {
					c.Risk = RiskExposure
					c.Text = fmt.Sprintf("%s now also from %s: opens %s on %s", class, strings.Join(srcs, ", "), portsFrom(sn.rules, class), nameList(ns, 6))
				}
			} else {
				c.Text = fmt.Sprintf("no longer from %s%s", strings.Join(srcs, ", "), on)
			}
			fd.Groups = append(fd.Groups, c)
		}
	}
	return fd
}

// addedNode describes a node that joins: its rules are those of a peer
// (a node of the same role, one that stays first) in one line, or listed;
// a rule that exposes it beyond what its role had before is listed as a
// risk either way.
func addedNode(so, sn *fwSide, name string) []Change {
	n := sn.nodes[name]
	rules := sn.rules[name]
	peer := ""
	for _, stays := range []bool{true, false} {
		for _, p := range sn.order {
			_, inOld := so.nodes[p]
			if p == name || inOld != stays || sn.nodes[p].Role != n.Role || peer != "" {
				continue
			}
			if (stays || p < name) && cmp.Equal(rules, sn.rules[p]) {
				peer = p
			}
		}
	}
	head := Change{Op: OpAdd, Object: name, Text: fmt.Sprintf("node added (%s, %s), with %s", n.Role, n.Address, plural(len(rules), "rule"))}
	if peer != "" {
		head.Text += ", those of " + peer
	}
	out := []Change{head}
	for _, k := range unionKeys(rules, nil) {
		r := rules[k]
		risky := exposed(k, r.Sources) && !policy(so, n.Role, k, r.Sources)
		if peer == "" || risky {
			c := Change{Op: OpAdd, Object: name, Text: "now " + r.describe(k)}
			if risky {
				c.Risk = RiskExposure
			}
			out = append(out, c)
		}
	}
	return out
}

// policy reports whether a node of role had rule key from every one of
// srcs before: the site's policy for the role.
func policy(so *fwSide, role, key string, srcs map[string]bool) bool {
	for _, p := range so.order {
		if so.nodes[p].Role != role {
			continue
		}
		if r := so.rules[p][key]; r != nil && len(minus(srcs, r.Sources)) == 0 {
			return true
		}
	}
	return false
}

// nodeRules compares the rules of a node on both sides. Sources that
// follow a change of their class's addresses (follows reports them) are
// left to that change's line; the classes and ops they followed are
// returned.
func nodeRules(so, sn *fwSide, node string, follows func(class string, op Op, src string) bool) ([]Change, map[string][]Op) {
	to, tn := so.rules[node], sn.rules[node]
	role := sn.nodes[node].Role
	var out []Change
	followed := map[string][]Op{}
	for _, k := range unionKeys(to, tn) {
		o, n := to[k], tn[k]
		switch {
		case o == nil:
			c := Change{Op: OpAdd, Object: node, Text: "now " + n.describe(k)}
			if exposed(k, n.Sources) && !policy(so, role, k, n.Sources) {
				c.Risk = RiskExposure
			}
			out = append(out, c)
		case n == nil:
			out = append(out, Change{Op: OpRemove, Object: node, Text: "no longer " + o.describe(k)})
		default:
			if o.Service != n.Service {
				out = append(out, Change{Op: OpChange, Object: node, Text: fmt.Sprintf("%s: service %s → %s", k, o.Service, n.Service)})
			}
			if !sameSet(o.Names, n.Names) {
				out = append(out, Change{Op: OpChange, Object: node, Text: fmt.Sprintf("%s: rule %s → %s", k, strings.Join(unionKeys(o.Names, nil), ", "), strings.Join(unionKeys(n.Names, nil), ", "))})
			}
		}
	}
	// Sources added to or removed from rules that stay are grouped per
	// source: a joining node adds its address to every cluster rule.
	type srcKey struct {
		op    Op
		class string
		src   string
	}
	var order []srcKey
	srcPorts := map[srcKey][]string{}
	for _, k := range unionKeys(to, tn) {
		o, n := to[k], tn[k]
		if o == nil || n == nil {
			continue
		}
		port, class, _ := strings.Cut(k, " from ")
		for _, d := range []struct {
			op       Op
			from, to map[string]bool
		}{{OpRemove, o.Sources, n.Sources}, {OpAdd, n.Sources, o.Sources}} {
			for _, src := range unionKeys(minus(d.from, d.to), nil) {
				if follows(class, d.op, src) {
					if !slices.Contains(followed[class], d.op) {
						followed[class] = append(followed[class], d.op)
					}
					continue
				}
				sk := srcKey{d.op, class, src}
				if _, seen := srcPorts[sk]; !seen {
					order = append(order, sk)
				}
				srcPorts[sk] = append(srcPorts[sk], port)
			}
		}
	}
	for _, k := range order {
		what := strings.Join(srcPorts[k], ", ")
		if k.class != "" {
			what += " from " + k.class
		}
		c := Change{Op: k.op, Object: node}
		if k.op == OpAdd {
			c.Text = fmt.Sprintf("%s: now also from %s", what, k.src)
			one := map[string]bool{k.src: true}
			if exposed(" from "+k.class, one) && !all(srcPorts[k], func(port string) bool { return policy(so, role, port+" from "+k.class, one) }) {
				c.Risk = RiskExposure
			}
		} else {
			c.Text = fmt.Sprintf("%s: no longer from %s", what, k.src)
		}
		out = append(out, c)
	}
	return out, followed
}

func all[T any](s []T, f func(T) bool) bool {
	for _, x := range s {
		if !f(x) {
			return false
		}
	}
	return true
}

func sameSet(a, b map[string]bool) bool { return cmp.Equal(a, b) }

// groupsOf maps each class to the sources of all its rules.
func groupsOf(t fwTable) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, rules := range t {
		for k, r := range rules {
			_, class, _ := strings.Cut(k, " from ")
			if out[class] == nil {
				out[class] = map[string]bool{}
			}
			for s := range r.Sources {
				out[class][s] = true
			}
		}
	}
	return out
}

// portsFrom lists the ports open to a class, on any node.
func portsFrom(t fwTable, class string) string {
	set := map[string]bool{}
	for _, rules := range t {
		for k := range rules {
			if port, c, _ := strings.Cut(k, " from "); c == class {
				set[port] = true
			}
		}
	}
	ports := unionKeys(set, nil)
	slices.SortStableFunc(ports, func(a, b string) int { return firstPort(a) - firstPort(b) })
	return nameList(ports, 8)
}

func firstPort(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// nameList joins names, at most max of them and how many more.
func nameList(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:max], ", "), len(names)-max)
}

// minus is the set a without b.
func minus(a, b map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		if !b[k] {
			out[k] = true
		}
	}
	return out
}

// diffFirewall lists a rule table's changes as a file's, for the differs:
// the firewall section and its nodes, flattened.
func diffFirewall(rel string, old, new []byte) ([]Change, error) {
	so, err := sideOf(old)
	if err != nil {
		return nil, fmt.Errorf("old %s: %w", rel, err)
	}
	sn, err := sideOf(new)
	if err != nil {
		return nil, fmt.Errorf("new %s: %w", rel, err)
	}
	fd := diffTables(so, sn)
	out := slices.Clone(fd.Groups)
	for _, n := range fd.Nodes {
		out = append(out, n.Changes...)
	}
	return out, nil
}

// Explains says which files the section explains, for its heading:
// "rules.json, PORTS.md, apply.sh and 18 backend files".
func (f *FirewallDiff) Explains() string {
	var named []string
	backends := 0
	for _, rel := range f.Files {
		switch b := path.Base(rel); {
		case strings.HasSuffix(b, ".nft"), strings.HasSuffix(b, ".iptables"), strings.HasSuffix(b, ".ip6tables"), strings.HasSuffix(b, ".ufw.sh"):
			backends++
		default:
			named = append(named, b)
		}
	}
	if backends > 0 {
		named = append(named, plural(backends, "backend file"))
	}
	switch len(named) {
	case 0:
		return ""
	case 1:
		return named[0]
	}
	return strings.Join(named[:len(named)-1], ", ") + " and " + named[len(named)-1]
}
