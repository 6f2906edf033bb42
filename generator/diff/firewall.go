package diff

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"
)

// firewallDiffer compares a site's firewall summary, firewall/PORTS.md:
// every Markdown table in it whose header names the columns below is read
// as rules, one row each; other text and tables are ignored (a change
// there still shows, as text).
//
//	| node | port | proto | service | from | sources |
//	|---|---|---|---|---|---|
//	| target-manager-1 | 443 | tcp | https | users | 0.0.0.0/0 |
//	| all | 2377 | tcp | swarm-manager | cluster | 203.0.113.10/32, 203.0.113.11/32 |
//
// Column names are matched without case, backticks or emphasis; the
// order of columns is free. Required: node (or nodes), port (or ports),
// and sources (or source, cidrs). Optional: proto (or protocol; without
// it the port cell carries it: "443/tcp"), service, from (or group: the
// address class, e.g. management, cluster, nuvla, users). Cells may list
// several values separated by commas: every combination is a rule. Ports
// are single ("443") or ranges ("32768-60999"). A rule is reachable from
// anywhere when a source is 0.0.0.0/0 or ::/0. A non-empty PORTS.md
// without a rule table is shown as text, with a note saying so.
var firewallDiffer = Differ{
	Kind:  "firewall",
	Match: func(rel string) bool { return rel == "firewall/PORTS.md" || path.Base(rel) == "PORTS.md" },
	Diff:  diffFirewall,
}

// fwRule is what one (node, port/proto, class) may be reached from.
type fwRule struct {
	Service string
	Sources map[string]bool
}

// fwTable maps node → "PORT/PROTO from CLASS" → rule.
type fwTable map[string]map[string]*fwRule

var fwColumns = map[string]string{
	"node": "node", "nodes": "node", "host": "node",
	"port": "port", "ports": "port", "port/proto": "port", "port/protocol": "port",
	"proto": "proto", "protocol": "proto", "protocols": "proto",
	"service": "service",
	"from":    "from", "group": "from", "class": "from",
	"sources": "sources", "source": "sources", "cidrs": "sources", "cidr": "sources",
}

func cell(s string) string {
	return strings.TrimSpace(strings.NewReplacer("`", "", "*", "").Replace(s))
}

func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	line = strings.TrimSuffix(line, "|")
	parts := strings.Split(line, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func list(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '<' || r == '>' }) {
		if p == "br" || p == "br/" {
			continue
		}
		if p = strings.Trim(cell(p), "`"); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parsePorts(data []byte) (fwTable, error) {
	out := fwTable{}
	found := false          // a rule table, even an empty one
	var cols map[string]int // column kind → index, for the current table
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "|") {
			cols = nil
			continue
		}
		row := splitRow(t)
		if cols == nil {
			// A header when the next line is the delimiter row.
			if i+1 < len(lines) && strings.Contains(lines[i+1], "---") {
				c := map[string]int{}
				for j, h := range row {
					if k, ok := fwColumns[strings.ToLower(strings.TrimSpace(strings.NewReplacer("`", "", "*", "").Replace(h)))]; ok {
						c[k] = j
					}
				}
				_, node := c["node"]
				_, port := c["port"]
				_, src := c["sources"]
				if node && port && src {
					cols = c
					found = true
				} else {
					cols = map[string]int{} // a table of something else
				}
			}
			continue
		}
		if len(cols) == 0 || strings.Contains(t, "---") {
			continue
		}
		get := func(k string) string {
			if j, ok := cols[k]; ok && j < len(row) {
				return row[j]
			}
			return ""
		}
		nodes, ports := list(get("node")), list(get("port"))
		protos := list(get("proto"))
		class := cell(get("from"))
		sources := list(get("sources"))
		if len(nodes) == 0 || len(ports) == 0 {
			return nil, fmt.Errorf("line %d: a rule row needs a node and a port", i+1)
		}
		for _, n := range nodes {
			for _, p := range ports {
				ps := []string{p}
				if !strings.Contains(p, "/") {
					if len(protos) == 0 {
						return nil, fmt.Errorf("line %d: port %s has no protocol", i+1, p)
					}
					ps = ps[:0]
					for _, pr := range protos {
						ps = append(ps, p+"/"+pr)
					}
				}
				for _, pp := range ps {
					key := pp
					if class != "" {
						key += " from " + class
					}
					if out[n] == nil {
						out[n] = map[string]*fwRule{}
					}
					r := out[n][key]
					if r == nil {
						r = &fwRule{Service: cell(get("service")), Sources: map[string]bool{}}
						out[n][key] = r
					}
					for _, s := range sources {
						r.Sources[s] = true
					}
				}
			}
		}
	}
	if !found && len(strings.TrimSpace(string(data))) > 0 {
		// Without this, a table in another format would read as "no
		// rules" on both sides, and its changes as no change at all.
		return nil, fmt.Errorf("no rule table (columns node, port and sources) found")
	}
	return out, nil
}

func anywhere(cidr string) bool { return cidr == "0.0.0.0/0" || cidr == "::/0" }

// worldAddresses is how many IPv4 addresses count as anywhere: more than
// a /8, as generator/firewall judges a sensitive port's sources (so
// 0.0.0.0/1 with 128.0.0.0/1 is anywhere too).
const worldAddresses = 1 << 24

// exposed reports whether a rule opens to users or to anywhere.
func exposed(key string, sources map[string]bool) bool {
	if _, class, ok := strings.Cut(key, " from "); ok && (class == "users" || class == "anywhere" || class == "world") {
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
	// The union's size: prefixes inside another count once.
	var n uint64
	for i, p := range v4 {
		inside := false
		for j, q := range v4 {
			if i != j && q.Bits() <= p.Bits() && q.Contains(p.Addr()) && (q != p || j < i) {
				inside = true
				break
			}
		}
		if !inside {
			n += 1 << (32 - p.Bits())
		}
	}
	return n > worldAddresses
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

func diffFirewall(rel string, old, new []byte) ([]Change, error) {
	to, err := parsePorts(old)
	if err != nil {
		return nil, fmt.Errorf("old %s: %w", rel, err)
	}
	tn, err := parsePorts(new)
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
