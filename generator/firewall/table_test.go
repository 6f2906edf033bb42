package firewall_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nuvla/nuvlagen/generator/firewall"
)

// TestRuleTable: rules.json reads back as the table it was printed from,
// and holds every rule of every node with its classes' addresses.
func TestRuleTable(t *testing.T) {
	for _, s := range loadEmbedded(t) {
		rs, files := render(t, s)
		want := firewall.NewRuleTable(rs)
		got, err := firewall.ParseRuleTable(files["firewall/"+firewall.RulesFile])
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: rules.json does not read back (-want +got):\n%s", s.Name, d)
		}
		for i, n := range rs.Nodes {
			if len(got.Nodes[i].Rules) != len(n.Rules) {
				t.Errorf("%s/%s: %d rules in rules.json, %d in the model", s.Name, n.Name, len(got.Nodes[i].Rules), len(n.Rules))
				continue
			}
			for j, r := range n.Rules {
				for k, c := range r.From {
					if src := got.Nodes[i].Rules[j].From[k]; src.Class != c || len(src.CIDRs) != len(rs.Groups[c]) {
						t.Errorf("%s/%s: rule %s from %s: %+v", s.Name, n.Name, r.Name, c, src)
					}
				}
			}
		}
	}
}

func TestParseRuleTableErrors(t *testing.T) {
	for _, bad := range []string{
		``,
		`[]`,
		`{"generated": "x", "site": "s"}`,
		`{"generated": "x", "nodes": [{"name": "n", "rules": [{"proto": "tcp", "ports": []}]}]}`,
		`{"generated": "x", "nodes": [{"name": "n", "rules": [{"proto": "tcp", "ports": [{"from": 22}]}]}]}`,
		`{"generated": "x", "nodes": [], "other": 1}`,
		`{"generated": "x", "nodes": []} {}`,
	} {
		if _, err := firewall.ParseRuleTable([]byte(bad)); err == nil {
			t.Errorf("ParseRuleTable(%q): no error", bad)
		}
	}
}

// TestBackendsFromTable: the backends and apply.sh printed from rules.json
// alone are Render's, byte for byte, so diff may explain them by the
// table's changes; a table whose class has two sets of addresses is not
// a ruleset's.
func TestBackendsFromTable(t *testing.T) {
	for _, s := range loadEmbedded(t) {
		_, files := render(t, s)
		table, err := firewall.ParseRuleTable(files["firewall/"+firewall.RulesFile])
		if err != nil {
			t.Fatal(err)
		}
		got, err := table.Backends()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(files)-2 {
			t.Errorf("%s: %d files from the table, want all %d but PORTS.md and rules.json", s.Name, len(got), len(files)-2)
		}
		for p, b := range got {
			if d := cmp.Diff(string(files[p]), string(b)); d != "" {
				t.Errorf("%s: %s printed from the table differs (-Render +table):\n%s", s.Name, p, d)
			}
		}
		table.Nodes[0].Rules[0].From[0].CIDRs = []string{"192.0.2.99/32"}
		if _, err := table.Backends(); err == nil {
			t.Errorf("%s: a class with two sets of addresses: no error", s.Name)
		}
	}
}
