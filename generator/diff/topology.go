package diff

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// Topology kinds, in the order a site's headline lists them.
const (
	TopoNodeRemoved = "node-removed"
	TopoNodeAdded   = "node-added"
	TopoRole        = "role"
	TopoAddress     = "address"
	TopoLabel       = "label" // edge or nfs-server moves, a node's type changes
	TopoStack       = "stack-rename"
	TopoNetwork     = "network-rename"
	TopoImage       = "image"
)

var topoOrder = []string{TopoNodeRemoved, TopoNodeAdded, TopoRole, TopoAddress, TopoLabel, TopoStack, TopoNetwork, TopoImage}

// TopologyChange is one change of a site's shape, for the headline the
// report starts with. It is read from the models the output carries (the
// nodes of firewall/rules.json, the labels deploy.sh sets, the compose
// files' stacks, services and networks), never from a file's text.
type TopologyChange struct {
	Op   Op     `json:"op"`
	Kind string `json:"kind"`
	// Subject is what changed: a node, a label's key, a stack's or a
	// network's old name, an image's old reference.
	Subject string `json:"subject"`
	// To is the new value, when the change has one: the node a label
	// moved to, a renamed stack's or network's new name, an image's new
	// reference, a node's new role or address.
	To   string `json:"to,omitempty"`
	Text string `json:"text"`
}

// StackRename is a stack that changed name: its files are compared under
// the new name.
type StackRename struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// topology compares the shape of a site on both sides (one nil for a site
// added or removed): its Swarm (nodes,
// roles, addresses, the labels deploy.sh sets), its stack and network
// renames and, when a compose file changed (composed), the images of the
// services on both.
func topology(old, new map[string][]byte, stacks []StackRename, renames []Rename, composed bool) []TopologyChange {
	var out []TopologyChange
	o, okOld := readSwarm(old)
	n, okNew := readSwarm(new)
	// A site added or removed whole: its nodes come or go with it.
	okOld = okOld || old == nil
	okNew = okNew || new == nil
	if okOld && okNew {
		out = append(out, nodeChanges(o, n)...)
	}
	for _, s := range stacks {
		out = append(out, TopologyChange{Op: OpChange, Kind: TopoStack, Subject: s.Old, To: s.New, Text: fmt.Sprintf(
			"stack %s renamed to %s", s.Old, s.New)})
	}
	for _, r := range renames {
		out = append(out, TopologyChange{Op: OpChange, Kind: TopoNetwork, Subject: r.Old, To: r.New, Text: r.Text()})
	}
	if composed {
		out = append(out, imageChanges(composeImages(old), composeImages(new))...)
	}
	slices.SortStableFunc(out, func(a, b TopologyChange) int {
		return slices.Index(topoOrder, a.Kind) - slices.Index(topoOrder, b.Kind)
	})
	return out
}

// nodeChanges compares two states of a Swarm: nodes, roles, addresses,
// where the edge and the NFS server are, the nodes' types.
func nodeChanges(o, n swarmState) []TopologyChange {
	var out []TopologyChange
	for _, name := range slices.Sorted(maps.Keys(o.roles)) {
		if _, ok := n.roles[name]; !ok {
			out = append(out, TopologyChange{Op: OpRemove, Kind: TopoNodeRemoved, Subject: name, Text: fmt.Sprintf("node %s removed (%s, %s)", name, o.roles[name], o.addresses[name])})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(n.roles)) {
		role, ok := o.roles[name]
		switch {
		case !ok:
			out = append(out, TopologyChange{Op: OpAdd, Kind: TopoNodeAdded, Subject: name, Text: fmt.Sprintf("node %s added (%s, %s)", name, n.roles[name], n.addresses[name])})
			continue
		case role != n.roles[name]:
			out = append(out, TopologyChange{Op: OpChange, Kind: TopoRole, Subject: name, To: n.roles[name], Text: fmt.Sprintf("node %s: role %s → %s", name, role, n.roles[name])})
		}
		if a, b := o.addresses[name], n.addresses[name]; a != b {
			out = append(out, TopologyChange{Op: OpChange, Kind: TopoAddress, Subject: name, To: b, Text: fmt.Sprintf("node %s: address %s → %s", name, a, b)})
		}
	}
	for _, key := range []string{"edge", "nfs-server"} {
		from, to := holders(o.labels[key]), holders(n.labels[key])
		if len(from) > 0 && len(to) > 0 && !slices.Equal(from, to) {
			out = append(out, TopologyChange{Op: OpChange, Kind: TopoLabel, Subject: key, To: strings.Join(to, ", "), Text: fmt.Sprintf(
				"%s moves from %s to %s", key, strings.Join(from, ", "), strings.Join(to, ", "))})
		}
	}
	ot, nt := o.labels["type"], n.labels["type"]
	for _, name := range slices.Sorted(maps.Keys(ot)) {
		_, stays := n.roles[name]
		if v, ok := nt[name]; stays && ok && v != ot[name] {
			out = append(out, TopologyChange{Op: OpChange, Kind: TopoLabel, Subject: "type", To: name, Text: fmt.Sprintf("type of %s: %s → %s", name, ot[name], v)})
		}
	}
	return out
}

// composeImages maps each service of a site's compose files,
// "stack/service", to its image.
func composeImages(files map[string][]byte) map[string]string {
	out := map[string]string{}
	for rel, b := range files {
		if !isCompose(rel) {
			continue
		}
		p, err := safeProject(rel, b)
		if err != nil {
			continue // shown as text by the compose differ
		}
		for name, s := range p.Services {
			out[stackOf(rel)+"/"+name] = s.Image
		}
	}
	return out
}

// imageChanges lists the images that changed for services on both sides,
// one line per change with the services it applies to.
func imageChanges(old, new map[string]string) []TopologyChange {
	type change struct{ from, to string }
	var order []change
	services := map[change][]string{}
	for _, svc := range slices.Sorted(maps.Keys(new)) {
		from, ok := old[svc]
		if !ok || from == new[svc] {
			continue
		}
		c := change{from, new[svc]}
		if _, seen := services[c]; !seen {
			order = append(order, c)
		}
		services[c] = append(services[c], svc)
	}
	var out []TopologyChange
	for _, c := range order {
		text, _ := imageChange(c.from, c.to)
		out = append(out, TopologyChange{Op: OpChange, Kind: TopoImage, Subject: c.from, To: c.to, Text: fmt.Sprintf("%s: %s", strings.Join(services[c], ", "), text)})
	}
	return out
}

// Headline says in one line what changed in a site's shape: "node
// tgt-wrk-3 removed; nodes tgt-wrk-4 and tgt-wrk-5 added". Empty when
// its topology did not change.
func (s *SiteDiff) Headline() string {
	byKind := map[string][]TopologyChange{}
	for _, c := range s.Topology {
		byKind[c.Kind] = append(byKind[c.Kind], c)
	}
	subjects := func(cs []TopologyChange) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.Subject
		}
		return out
	}
	var parts []string
	for _, k := range topoOrder {
		cs := byKind[k]
		if len(cs) == 0 {
			continue
		}
		switch k {
		case TopoNodeRemoved:
			parts = append(parts, fmt.Sprintf("%s %s removed", nouns(len(cs), "node"), andList(subjects(cs), 8)))
		case TopoNodeAdded:
			parts = append(parts, fmt.Sprintf("%s %s added", nouns(len(cs), "node"), andList(subjects(cs), 8)))
		case TopoRole:
			for _, c := range cs {
				parts = append(parts, fmt.Sprintf("%s now a %s", c.Subject, c.To))
			}
		case TopoAddress:
			what := "address"
			if len(cs) > 1 {
				what = "addresses"
			}
			parts = append(parts, fmt.Sprintf("%s of %s changed", what, andList(subjects(cs), 8)))
		case TopoLabel:
			var typed []string
			for _, c := range cs {
				if c.Subject == "type" {
					typed = append(typed, c.To)
				} else {
					parts = append(parts, fmt.Sprintf("%s moves to %s", c.Subject, c.To))
				}
			}
			switch len(typed) {
			case 0:
			case 1:
				parts = append(parts, fmt.Sprintf("type of %s changed", typed[0]))
			default:
				parts = append(parts, fmt.Sprintf("types of %s changed", andList(typed, 8)))
			}
		case TopoStack:
			for _, c := range cs {
				parts = append(parts, fmt.Sprintf("stack %s renamed to %s", c.Subject, c.To))
			}
		case TopoNetwork:
			for _, c := range cs {
				parts = append(parts, fmt.Sprintf("network %s renamed to %s", c.Subject, c.To))
			}
		case TopoImage:
			if len(cs) == 1 {
				text, _ := imageChange(cs[0].Subject, cs[0].To)
				parts = append(parts, text)
			} else {
				parts = append(parts, plural(len(cs), "image")+" changed")
			}
		}
	}
	return strings.Join(parts, "; ")
}

// andList joins names as "a, b and c", at most max of them.
func andList(names []string, max int) string {
	if len(names) > max {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:max], ", "), len(names)-max)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// findStackRenames pairs the stacks whose compose file is only on the
// old side with those only on the new: one of each, or, when several
// changed, the ones with the same services.
func findStackRenames(old, new map[string][]byte) []StackRename {
	var out []StackRename
	for _, pr := range pairBySignature(stackServices(old), stackServices(new)) {
		out = append(out, StackRename{pr[0], pr[1]})
	}
	return out
}

// stackServices maps each stack with a compose file to its services'
// names, sorted and joined: its signature.
func stackServices(files map[string][]byte) map[string]string {
	out := map[string]string{}
	for rel, b := range files {
		if !isCompose(rel) {
			continue
		}
		p, err := safeProject(rel, b)
		if err != nil {
			out[stackOf(rel)] = ""
			continue
		}
		out[stackOf(rel)] = strings.Join(slices.Sorted(maps.Keys(p.Services)), " ")
	}
	return out
}

// moveStacks puts the old side's files of renamed stacks under their new
// names, so that they are compared with the new side's.
func moveStacks(files map[string][]byte, renames []StackRename) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for rel, b := range files {
		for _, r := range renames {
			if stackOf(rel) == r.Old {
				rel = path.Join("stacks", r.New, strings.TrimPrefix(rel, "stacks/"+r.Old+"/"))
				break
			}
		}
		out[rel] = b
	}
	return out
}
