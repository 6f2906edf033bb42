package firewall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"path"
	"strings"

	"github.com/nuvla/nuvlagen/generator/artifact"
)

// RulesFile is the machine-readable rule table in a site's firewall
// directory: what PORTS.md shows people, as data for programs (nuvlagen
// diff reads it).
const RulesFile = "rules.json"

// RuleTable is the content of rules.json: per node, every rule with its
// ports and the addresses of each class it opens them to. newRuleTable
// builds it, Marshal writes it and ParseRuleTable reads it; no other code
// parses the file.
type RuleTable struct {
	// Generated marks the file as generated, as the header comment of
	// the other files does: JSON has no comments.
	Generated string      `json:"generated"`
	Site      string      `json:"site"`
	Nodes     []TableNode `json:"nodes"`
}

// TableNode is one node of a RuleTable.
type TableNode struct {
	Name    string      `json:"name"`
	Address string      `json:"address"`
	Role    string      `json:"role"`
	Rules   []TableRule `json:"rules"`
}

// TableRule is one rule on one protocol.
type TableRule struct {
	Name      string        `json:"name"`
	Service   string        `json:"service"`
	Proto     string        `json:"proto"`
	Ports     []Span        `json:"ports"`
	From      []TableSource `json:"from"`
	Sensitive bool          `json:"sensitive"`
}

// TableSource is a class a rule opens its ports to, and the class's
// addresses.
type TableSource struct {
	Class string   `json:"class"`
	CIDRs []string `json:"cidrs"`
}

// MarshalJSON writes a span as {"from": N, "to": M}.
func (s Span) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		From int `json:"from"`
		To   int `json:"to"`
	}{s.From, s.To})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Span) UnmarshalJSON(b []byte) error {
	var v struct {
		From *int `json:"from"`
		To   *int `json:"to"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.From == nil || v.To == nil {
		return fmt.Errorf("a port span needs from and to")
	}
	s.From, s.To = *v.From, *v.To
	return nil
}

// newRuleTable builds the rule table of a ruleset, in the ruleset's order:
// nodes by name, rules as each node lists them, classes in classes order.
func newRuleTable(rs *Ruleset) *RuleTable {
	t := &RuleTable{Generated: artifact.Notice(rs.File), Site: rs.Site, Nodes: []TableNode{}}
	for _, n := range rs.Nodes {
		tn := TableNode{Name: n.Name, Address: n.Address.String(), Role: n.Role, Rules: []TableRule{}}
		for _, r := range n.Rules {
			tr := TableRule{Name: r.Name, Service: r.Service, Proto: r.Proto, Ports: r.Ports, From: []TableSource{}, Sensitive: r.Sensitive}
			if tr.Ports == nil {
				tr.Ports = []Span{}
			}
			for _, c := range r.From {
				cidrs := []string{}
				for _, p := range rs.Groups[c] {
					cidrs = append(cidrs, p.String())
				}
				tr.From = append(tr.From, TableSource{Class: c, CIDRs: cidrs})
			}
			tn.Rules = append(tn.Rules, tr)
		}
		t.Nodes = append(t.Nodes, tn)
	}
	return t
}

// Marshal prints the table as indented JSON, ending in a newline.
func (t *RuleTable) Marshal() []byte {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		panic(err) // strings, ints and bools only
	}
	return append(b, '\n')
}

// ParseRuleTable reads a rules.json file. Unknown fields are refused, so a
// table of another format is an error rather than a table without rules.
func ParseRuleTable(data []byte) (*RuleTable, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var t RuleTable
	if err := dec.Decode(&t); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the table")
	}
	if t.Generated == "" || t.Nodes == nil {
		return nil, fmt.Errorf("not a rule table: no generated or nodes field")
	}
	for _, n := range t.Nodes {
		if n.Name == "" {
			return nil, fmt.Errorf("a node without a name")
		}
		for _, r := range n.Rules {
			if r.Proto == "" || len(r.Ports) == 0 {
				return nil, fmt.Errorf("node %s: rule %q needs a protocol and ports", n.Name, r.Name)
			}
		}
	}
	return &t, nil
}

// Backends prints, from the table alone, the files Render prints from the
// ruleset the table was made from, but for PORTS.md and the table itself:
// each node's nft, iptables, ip6tables and ufw files and apply.sh, by the
// same paths. Those files say nothing the table does not, which is what
// lets nuvlagen diff explain them by the table's changes: a file that is
// not what Backends prints (an older nuvlagen's, or edited) is shown as
// it is. An error means the table cannot be a ruleset's: a class with
// different addresses in two rules, an address that does not parse.
func (t *RuleTable) Backends() (map[string][]byte, error) {
	rs, err := t.ruleset()
	if err != nil {
		return nil, err
	}
	header := "# " + t.Generated + "\n" // as artifact.Header writes it
	files := map[string][]byte{}
	for i := range rs.Nodes {
		n := &rs.Nodes[i]
		files[path.Join(Dir, n.Name+".nft")] = printNFT(header, rs, n)
		files[path.Join(Dir, n.Name+".iptables")] = printIPTables(header, rs, n)
		files[path.Join(Dir, n.Name+".ip6tables")] = printIP6Tables(header, rs, n)
		files[path.Join(Dir, n.Name+".ufw.sh")] = printUFW(header, rs, n)
	}
	files[path.Join(Dir, "apply.sh")] = printApply(header, rs)
	return files, nil
}

// ruleset rebuilds what the backends print from: the nodes, their rules
// and each class's addresses. The table has no port names, carve-outs,
// positions or warnings, which only PORTS.md prints.
func (t *RuleTable) ruleset() (*Ruleset, error) {
	rs := &Ruleset{Site: t.Site, Groups: map[string][]netip.Prefix{}}
	seen := map[string]string{} // class → its addresses, as first listed
	for _, tn := range t.Nodes {
		addr, err := netip.ParseAddr(tn.Address)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", tn.Name, err)
		}
		n := Node{Name: tn.Name, Address: addr, Role: tn.Role}
		for _, tr := range tn.Rules {
			r := Rule{Name: tr.Name, Service: tr.Service, Proto: tr.Proto, Ports: tr.Ports, Sensitive: tr.Sensitive}
			for _, src := range tr.From {
				key := strings.Join(src.CIDRs, " ")
				if prev, ok := seen[src.Class]; ok && prev != key {
					return nil, fmt.Errorf("node %s, rule %s: class %s has other addresses than in an earlier rule", tn.Name, tr.Name, src.Class)
				}
				if _, ok := seen[src.Class]; !ok {
					seen[src.Class] = key
					for _, c := range src.CIDRs {
						p, err := netip.ParsePrefix(c)
						if err != nil {
							return nil, fmt.Errorf("node %s, rule %s: %w", tn.Name, tr.Name, err)
						}
						rs.Groups[src.Class] = append(rs.Groups[src.Class], p)
					}
				}
				r.From = append(r.From, src.Class)
			}
			n.Rules = append(n.Rules, r)
		}
		rs.Nodes = append(rs.Nodes, n)
	}
	return rs, nil
}
