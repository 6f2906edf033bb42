package topology

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// itemPrefix starts the comment that carries an item in the DOT.
const itemPrefix = "// item "

// itemComment prints an item as a DOT comment, quoted as a Go string so
// that it stays one line whatever the site's values hold.
func itemComment(item string) string { return itemPrefix + strconv.Quote(item) }

// ParseItems reads back the items of a DOT that DOT printed, in order.
func ParseItems(dot []byte) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(dot))
	sc.Buffer(nil, len(dot)+1)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(t, itemPrefix)
		if !ok {
			continue
		}
		item, err := strconv.Unquote(rest)
		if err != nil {
			return nil, fmt.Errorf("line %d: item: %w", line, err)
		}
		out = append(out, item)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Change is an item a picture gained (Added) or lost.
type Change struct {
	Added bool
	Item  string
}

// Compare lists the items of new not in old (added) and of old not in new
// (removed), removed first, each in its picture's order.
func Compare(old, new []string) []Change {
	var out []Change
	for _, it := range old {
		if !slices.Contains(new, it) {
			out = append(out, Change{Item: it})
		}
	}
	for _, it := range new {
		if !slices.Contains(old, it) {
			out = append(out, Change{Added: true, Item: it})
		}
	}
	return out
}

// Items lists the graph's elements as DOT prints them.
func (g *Graph) Items() []string {
	var out []string
	for _, c := range g.Classes {
		out = append(out, c.item())
	}
	for _, n := range g.Nodes {
		out = append(out, n.item())
		out = append(out, n.portItems()...)
		for _, s := range n.Services {
			out = append(out, s.item(n.Name))
		}
	}
	for _, nw := range g.Networks {
		out = append(out, nw.items()...)
	}
	for _, ep := range g.EntryPoints {
		out = append(out, ep.item())
	}
	for _, r := range g.Routes {
		out = append(out, r.item())
	}
	return out
}

func (ep EntryPoint) item() string {
	s := fmt.Sprintf("traefik entry point %s on %s", ep.Name, ep.Address)
	if ep.RedirectTo != "" {
		s += ", redirecting to " + ep.RedirectTo
	}
	return s
}

func (r Route) item() string {
	target := r.Target
	if target == "" {
		target = "no service"
	}
	return fmt.Sprintf("route %s (%s): %s to %s", r.Router, strings.Join(r.EntryPoints, ", "), r.where(), target)
}

func (c Class) item() string {
	if c.Name == "cluster" {
		return "class cluster (the site's nodes)"
	}
	return fmt.Sprintf("class %s (%s)", c.Name, strings.Join(c.CIDRs, ", "))
}

func (n Node) item() string {
	s := fmt.Sprintf("node %s (%s, %s", n.Name, n.Address, n.Role)
	if len(n.Labels) > 0 {
		s += ", " + strings.Join(n.Labels, " ")
	}
	return s + ")"
}

// portItems are the node's flows: one per rule, protocol and class.
func (n Node) portItems() []string {
	var out []string
	for _, p := range n.Ports {
		mark := ""
		switch {
		case p.World:
			mark = ", sensitive, open to the world by firewall.openToWorld"
		case p.Sensitive:
			mark = ", sensitive"
		}
		for _, c := range p.From {
			out = append(out, fmt.Sprintf("%s may reach %s/%s on %s (rule %s%s)", c, p.Ports, p.Proto, n.Name, p.Rule, mark))
		}
	}
	return out
}

func (s Instance) item(node string) string {
	it := fmt.Sprintf("service %s on %s", s.Key(), node)
	switch {
	case s.Global:
		it += " (global)"
	case s.Candidate:
		it += " (may run here)"
	}
	if len(s.Published) > 0 {
		it += ", publishing " + strings.Join(s.Published, ", ")
	}
	return it
}

// items are the network and each service that joins it.
func (nw Network) items() []string {
	kind := "the stack's own"
	if nw.Shared {
		kind = "shared by the stacks"
	}
	out := []string{fmt.Sprintf("network %s (overlay, %s)", nw.Name, kind)}
	for _, m := range nw.Members {
		out = append(out, fmt.Sprintf("service %s joins network %s", m, nw.Name))
	}
	return out
}

// Fold folds into each node added or removed the changes of what is on
// it (its flows and services), so that a new worker is one line, "node
// w4 (203.0.113.44, worker), with 12 flows and 2 services", and not
// fourteen.
func Fold(changes []Change) []Change {
	type counts struct{ flows, services int }
	nodes := map[string]*counts{}
	key := func(added bool, name string) string { return fmt.Sprint(added, " ", name) }
	for _, c := range changes {
		if rest, ok := strings.CutPrefix(c.Item, "node "); ok {
			name, _, _ := strings.Cut(rest, " ")
			nodes[key(c.Added, name)] = &counts{}
		}
	}
	var out []Change
	for _, c := range changes {
		if strings.HasPrefix(c.Item, "node ") {
			out = append(out, c)
			continue
		}
		folded := false
		for _, marker := range []string{" may reach ", " on "} {
			_, after, ok := strings.Cut(c.Item, marker)
			if !ok {
				continue
			}
			if marker == " may reach " {
				// "CLASS may reach PORTS on NODE (rule ...)"
				_, after, ok = strings.Cut(after, " on ")
				if !ok {
					continue
				}
			}
			name, _, _ := strings.Cut(after, " ")
			n := nodes[key(c.Added, name)]
			if n == nil {
				continue
			}
			if marker == " may reach " {
				n.flows++
			} else {
				n.services++
			}
			folded = true
			break
		}
		if !folded {
			out = append(out, c)
		}
	}
	for i, c := range out {
		rest, ok := strings.CutPrefix(c.Item, "node ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, " ")
		if n := nodes[key(c.Added, name)]; n != nil && n.flows+n.services > 0 {
			out[i].Item += fmt.Sprintf(", with %s and %s", plural(n.flows, "flow"), plural(n.services, "service"))
		}
	}
	return out
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
