package site

import (
	"fmt"
	"net/netip"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/errors"
)

// check enforces the rules that span several fields, which CUE's
// field-by-field constraints cannot say with a useful message.
func check(s *Site, composes []cue.Value) error {
	var errs errors.Error
	add := func(err errors.Error) { errs = errors.Append(errs, err) }

	if len(s.Nodes) == 0 {
		add(errors.Newf(s.Pos("nodes"), "site %s has no nodes", s.Name))
	}
	seen := map[string]string{}
	managers, nfsServers := 0, []string{}
	for _, n := range s.Nodes {
		a := n.Address.String()
		if other, dup := seen[a]; dup {
			add(errors.Newf(s.Pos("nodes", n.Name, "address"), "node %s: address %s is already node %s's", n.Name, a, other))
		}
		seen[a] = n.Name
		if n.Role == "manager" {
			managers++
		}
		if n.NFSServer {
			nfsServers = append(nfsServers, n.Name)
		}
	}
	if len(s.Nodes) > 0 && managers == 0 {
		add(errors.Newf(s.Pos("nodes"), "site %s has no manager node: a Swarm needs at least one (role: \"manager\")", s.Name))
	}
	if s.Kind == KindTarget {
		switch len(nfsServers) {
		case 0:
			add(errors.Newf(s.Pos("nodes"), "target site %s has no NFS server: mark one node with nfsServer: true", s.Name))
		case 1:
		default:
			add(errors.Newf(s.Pos("nodes", nfsServers[1], "nfsServer"), "target site %s has %d NFS servers (%s): mark exactly one", s.Name, len(nfsServers), strings.Join(nfsServers, ", ")))
		}
	}

	for _, g := range []struct {
		name string
		list []netip.Prefix
	}{
		{"management", s.Groups.Management},
		{"users", s.Groups.Users},
		{"nuvla", s.Groups.Nuvla},
	} {
		// A prefix with host bits set is ambiguous: the firewall would
		// silently widen it, and a reviewer cannot tell what was meant.
		for _, p := range g.list {
			if m := p.Masked(); m != p {
				add(errors.Newf(s.Pos("groups", g.name), "groups.%s: %s has host bits set; write %s", g.name, p, m))
			}
		}
	}

	// Without nodes or a manager every placement fails: saying so for each
	// service would bury the one error that matters.
	if len(s.Nodes) == 0 || managers == 0 {
		return errs
	}
	for i, st := range s.Stacks {
		for _, c := range placements(composes[i]) {
			if !s.satisfiable(c.constraints) {
				add(errors.Newf(s.Pos("nodes"), "stack %s, service %s: no node satisfies %s%s", st.Name, c.service, strings.Join(c.constraints, " && "), hint(c.constraints)))
			}
		}
	}
	return errs
}

type placement struct {
	service     string
	constraints []string
}

// placements lists each service's placement constraints, in the order
// of the compose file's services.
func placements(compose cue.Value) []placement {
	var out []placement
	iter, err := compose.LookupPath(cue.ParsePath("services")).Fields()
	if err != nil {
		return nil
	}
	for iter.Next() {
		var cs []string
		cv := iter.Value().LookupPath(cue.ParsePath("deploy.placement.constraints"))
		if !cv.Exists() {
			continue
		}
		if err := cv.Decode(&cs); err != nil || len(cs) == 0 {
			continue
		}
		out = append(out, placement{service: iter.Selector().Unquoted(), constraints: cs})
	}
	return out
}

// satisfiable reports whether one node meets all constraints. Only the
// forms the stacks use are understood; any other is assumed satisfiable,
// because a false error would block generation.
func (s *Site) satisfiable(constraints []string) bool {
	for _, n := range s.Nodes {
		if nodeMatches(n, constraints) {
			return true
		}
	}
	return false
}

// NodesSatisfying returns the nodes that meet all Swarm placement
// constraints, in name order. Constraint forms it does not understand are
// taken as met, as for the satisfiability check.
func (s *Site) NodesSatisfying(constraints []string) []Node {
	var out []Node
	for _, n := range s.Nodes {
		if nodeMatches(n, constraints) {
			out = append(out, n)
		}
	}
	return out
}

func nodeMatches(n Node, constraints []string) bool {
	for _, c := range constraints {
		key, op, val, ok := ParseConstraint(c)
		if !ok {
			continue
		}
		var have string
		var present bool
		switch {
		case key == "node.role":
			have, present = n.Role, true
		case key == "node.hostname":
			have, present = n.Name, true
		case strings.HasPrefix(key, "node.labels."):
			have, present = n.Labels[strings.TrimPrefix(key, "node.labels.")]
		default:
			continue
		}
		if (op == "==") != (present && have == val) {
			return false
		}
	}
	return true
}

// ParseConstraint splits a Swarm constraint "key == value" or "key != value".
func ParseConstraint(c string) (key, op, val string, ok bool) {
	for _, op := range []string{"==", "!="} {
		if k, v, found := strings.Cut(c, op); found {
			return strings.TrimSpace(k), op, strings.TrimSpace(v), true
		}
	}
	return "", "", "", false
}

func hint(constraints []string) string {
	for _, c := range constraints {
		key, op, val, ok := ParseConstraint(c)
		if ok && op == "==" && strings.HasPrefix(key, "node.labels.") {
			return fmt.Sprintf(" (give a node labels: %q: %q)", strings.TrimPrefix(key, "node.labels."), val)
		}
	}
	return ""
}
