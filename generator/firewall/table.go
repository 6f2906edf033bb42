package firewall

import (
	"bytes"
	"encoding/json"
	"fmt"

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
