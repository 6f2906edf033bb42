package diff

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"

	"github.com/nuvla/nuvlagen/generator/firewall"
)

// swarmLabels are what the placement of the stacks rests on, with why a
// move is a risk: Swarm stops the tasks on a node that no longer meets
// their constraints and starts them on the new one, but what they kept
// on the old node's local volumes stays there.
var swarmLabels = map[string]string{
	"edge":       "Traefik (its ACME certificates) and Prometheus and Grafana (their data) keep local volumes on the edge, which do not follow them to the new one (copy them first); the site's DNS must point at the new edge",
	"nfs-server": "Minio's data and the NFS share stay on the old server: copy them to the new one and re-run its prepare script before deploying",
	"type":       "the services placed by type move to other nodes; what they keep on local volumes (Elasticsearch's, Zookeeper's data on worker-db) stays behind",
}

// swarmState is what deploy.sh and the firewall's rule table say of a
// site's Swarm: each node's role and the labels deploy.sh sets.
type swarmState struct {
	roles     map[string]string            // node → manager or worker
	addresses map[string]string            // node → its address
	labels    map[string]map[string]string // key → node → value
}

// readSwarm reads a site's Swarm from its files (relative to the site);
// ok is false when a side lacks one of them or it does not parse.
func readSwarm(files map[string][]byte) (swarmState, bool) {
	st := swarmState{roles: map[string]string{}, addresses: map[string]string{}, labels: map[string]map[string]string{}}
	rules, inRules := files["firewall/rules.json"]
	script, inScript := files["deploy.sh"]
	if !inRules || !inScript {
		return st, false
	}
	t, err := firewall.ParseRuleTable(rules)
	if err != nil {
		return st, false
	}
	for _, n := range t.Nodes {
		st.roles[n.Name] = n.Role
		st.addresses[n.Name] = n.Address
	}
	f, err := syntax.NewParser().Parse(bytes.NewReader(script), "deploy.sh")
	if err != nil {
		return st, false
	}
	ok := true
	syntax.Walk(f, func(n syntax.Node) bool {
		call, isCall := n.(*syntax.CallExpr)
		if !isCall || len(call.Args) != 4 || call.Args[0].Lit() != "label_node" {
			return true
		}
		var args [3]string
		for i, w := range call.Args[1:] {
			v, err := expand.Literal(nil, w)
			if err != nil {
				ok = false
				return false
			}
			args[i] = v
		}
		if st.labels[args[1]] == nil {
			st.labels[args[1]] = map[string]string{}
		}
		st.labels[args[1]][args[0]] = args[2]
		return true
	})
	return st, ok
}

// managers counts a state's managers.
func (s swarmState) managers() int {
	n := 0
	for _, r := range s.roles {
		if r == "manager" {
			n++
		}
	}
	return n
}

// swarmRisks are the changes of a site's Swarm that deploy.sh does not
// make safe by itself: a label that pins services with local data moving
// to another node, a change in the number of managers (nodes are promoted
// and demoted by hand) and the fault tolerance Raft loses with it.
func swarmRisks(site string, old, new map[string][]byte) []Risk {
	o, okOld := readSwarm(old)
	n, okNew := readSwarm(new)
	if !okOld || !okNew {
		return nil
	}
	return swarmChanges(site, o, n)
}

// swarmChanges compares two states of a site's Swarm.
func swarmChanges(site string, o, n swarmState) []Risk {
	var out []Risk
	for _, key := range slices.Sorted(maps.Keys(swarmLabels)) {
		out = append(out, labelRisks(site, key, o.labels[key], n.labels[key])...)
	}
	om, nm := o.managers(), n.managers()
	if om != nm {
		out = append(out, Risk{Kind: RiskManagers, Site: site, Text: fmt.Sprintf(
			"managers: %d → %d; deploy.sh does not change roles: promote or demote nodes with docker node promote/demote, one at a time, keeping a majority of the managers up", om, nm)})
		switch {
		case om >= 3 && nm < 3:
			out = append(out, Risk{Kind: RiskQuorum, Site: site, Text: fmt.Sprintf(
				"managers: %d → %d: the Swarm no longer survives the loss of a manager (Raft needs a majority up; 3 tolerate one loss)", om, nm)})
		case nm > 0 && nm%2 == 0:
			out = append(out, Risk{Kind: RiskQuorum, Site: site, Text: fmt.Sprintf(
				"managers: %d → %d, an even number: it tolerates no more lost managers than %d (%d), with one more that can fail", om, nm, nm-1, (nm-1)/2)})
		}
	}
	return out
}

// labelRisks compares where label key is set, by node: a value that leaves
// a node for another, or changes on a node that stays.
func labelRisks(site, key string, old, new map[string]string) []Risk {
	var out []Risk
	why := swarmLabels[key]
	if key != "type" {
		// A marker ("true"): one holder moving to another.
		from, to := holders(old), holders(new)
		if len(from) > 0 && len(to) > 0 && !slices.Equal(from, to) {
			out = append(out, Risk{Kind: RiskPlacement, Site: site, Where: strings.Join(to, ", "), Text: fmt.Sprintf(
				"%s moves from %s to %s: %s", key, strings.Join(from, ", "), strings.Join(to, ", "), why)})
		}
		return out
	}
	for _, node := range slices.Sorted(maps.Keys(old)) {
		nv, still := new[node]
		switch {
		case still && nv == old[node]:
		case !still: // the node keeps no type, or left the site
			out = append(out, Risk{Kind: RiskPlacement, Site: site, Where: node, Text: fmt.Sprintf(
				"type %s removed from %s: %s", old[node], node, why)})
		default:
			out = append(out, Risk{Kind: RiskPlacement, Site: site, Where: node, Text: fmt.Sprintf(
				"type of %s: %s → %s: %s", node, old[node], nv, why)})
		}
	}
	return out
}

// holders lists the nodes a marker label is "true" on.
func holders(m map[string]string) []string {
	var out []string
	for _, node := range slices.Sorted(maps.Keys(m)) {
		if m[node] == "true" {
			out = append(out, node)
		}
	}
	return out
}
