// Package topology builds the picture of a site from its rendered model:
// the nodes with the services their constraints place on them (a global
// service on every node it matches), the overlay networks and who joins
// them, Traefik's entry points and the routes it serves, and the inbound
// flows the firewall's rule model allows, by address class, with the
// sensitive ports and the rules of firewall.openToWorld marked. It prints
// the graph as DOT, deterministically; generator/graphviz lays it out.
//
// Every element of the graph is also an item, one line that names it
// ("node target-worker-3 (203.0.113.13, worker)"): the DOT carries them
// as comments, so a reviewer's diff can say what a picture gained or lost
// from the graph itself (Items, Compare) rather than from the drawing.
package topology

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/site"
)

// File and DOTFile are the picture of a site and its source, in the
// site's output directory.
const (
	File    = "topology.svg"
	DOTFile = "topology.dot"
)

// Graph is one site's topology.
type Graph struct {
	Site   string
	Kind   string
	Domain string
	// Nodes are in name order, each with the services placed on it.
	Nodes []Node
	// Networks are the overlay networks some service joins, by name.
	Networks []Network
	// Classes are the address classes some rule opens a port to, in the
	// firewall's order.
	Classes []Class
	// EntryPoints are Traefik's, by name; Routes its routers, by name.
	EntryPoints []EntryPoint
	Routes      []Route
}

// Node is one Swarm node and what runs on it.
type Node struct {
	Name    string
	Address string
	Role    string
	Labels  []string // "key=value", sorted
	// Services are the instances placed here, in deployment order of
	// their stacks, then by name.
	Services []Instance
	// Ports are the firewall's rules on the node, in its order.
	Ports []Port
}

// Instance is a service as placed on one node.
type Instance struct {
	Stack, Role, Service string
	Global               bool
	// Candidate marks a replicated service that may run on this node or
	// on others its constraints also match: Swarm picks.
	Candidate bool
	// Published are the ports it publishes ("80/tcp host").
	Published []string
	Networks  []string
}

// Key is the service's name in the site: stack/service.
func (i Instance) Key() string { return i.Stack + "/" + i.Service }

// Network is an overlay network and the services that join it.
type Network struct {
	Name    string
	Members []string // stack/service, sorted
	// Shared says the site creates it for several stacks (public,
	// backend); a stack's own network is not shared.
	Shared bool
}

// Class is an address class the firewall opens ports to.
type Class struct {
	Name  string
	CIDRs []string
}

// Port is one rule of the firewall on one node and protocol.
type Port struct {
	Ports     string // "80, 443"
	Proto     string
	Rule      string
	Service   string
	From      []string // classes
	Sensitive bool
	// World says the rule is listed in firewall.openToWorld.
	World bool
}

// EntryPoint is one of Traefik's.
type EntryPoint struct {
	Name, Address string
	RedirectTo    string // the entry point it redirects to, if any
}

// Route is one of Traefik's routers.
type Route struct {
	Router      string
	EntryPoints []string
	Rule        string
	Hosts       []string
	Paths       []string // "/api*" for a prefix
	// Target is the stack/service it routes to, or Traefik's own
	// ("api@internal"), or "" for none.
	Target string
}

// Build derives the graph of s, with rs its compiled firewall.
func Build(s *site.Site, rs *firewall.Ruleset) (*Graph, error) {
	g := &Graph{Site: s.Name, Kind: s.Kind, Domain: s.Domain}
	world := map[string]bool{}
	if s.Firewall != nil {
		for _, r := range s.Firewall.OpenToWorld {
			world[r] = true
		}
	}
	nodes := map[string]*Node{}
	for _, n := range s.Nodes {
		node := Node{Name: n.Name, Address: n.Address.String(), Role: n.Role}
		for _, k := range slices.Sorted(maps.Keys(n.Labels)) {
			node.Labels = append(node.Labels, k+"="+n.Labels[k])
		}
		g.Nodes = append(g.Nodes, node)
	}
	for i := range g.Nodes {
		nodes[g.Nodes[i].Name] = &g.Nodes[i]
	}
	nets := map[string]*Network{}
	for _, st := range s.Stacks {
		var c composeFile
		if err := json.Unmarshal(st.Compose, &c); err != nil {
			return nil, fmt.Errorf("site %s, stack %s: %w", s.Name, st.Name, err)
		}
		for _, name := range slices.Sorted(maps.Keys(c.Services)) {
			svc := c.Services[name]
			netNames, err := svc.networkNames(st.Name, c.Networks)
			if err != nil {
				return nil, fmt.Errorf("site %s, stack %s, service %s: %w", s.Name, st.Name, name, err)
			}
			key := st.Name + "/" + name
			for _, nn := range netNames {
				n := nets[nn]
				if n == nil {
					n = &Network{Name: nn, Shared: nn == s.Networks.Public || nn == s.Networks.Backend}
					nets[nn] = n
				}
				n.Members = append(n.Members, key)
			}
			placed := s.NodesSatisfying(svc.Deploy.Placement.Constraints)
			global := svc.Deploy.Mode == "global"
			replicas := 1
			if svc.Deploy.Replicas != nil {
				replicas = *svc.Deploy.Replicas
			}
			if !global && replicas == 0 {
				continue
			}
			inst := Instance{
				Stack: st.Name, Role: st.Role, Service: name, Global: global,
				Candidate: !global && len(placed) > replicas,
				Published: svc.published(), Networks: netNames,
			}
			for _, n := range placed {
				nodes[n.Name].Services = append(nodes[n.Name].Services, inst)
			}
			routes, err := labelRoutes(key, svc.Deploy.Labels)
			if err != nil {
				return nil, fmt.Errorf("site %s, stack %s, service %s: %w", s.Name, st.Name, name, err)
			}
			g.Routes = append(g.Routes, routes...)
		}
		if st.Role == "traefik" {
			if err := g.traefikFiles(st); err != nil {
				return nil, fmt.Errorf("site %s, stack %s: %w", s.Name, st.Name, err)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(nets)) {
		n := nets[name]
		slices.Sort(n.Members)
		n.Members = slices.Compact(n.Members)
		g.Networks = append(g.Networks, *n)
	}
	slices.SortFunc(g.Routes, func(a, b Route) int { return strings.Compare(a.Router, b.Router) })
	slices.SortFunc(g.EntryPoints, func(a, b EntryPoint) int { return strings.Compare(a.Name, b.Name) })

	used := map[string]bool{}
	for _, rn := range rs.Nodes {
		n := nodes[rn.Name]
		if n == nil {
			continue
		}
		for _, r := range rn.Rules {
			spans := make([]string, len(r.Ports))
			for i, sp := range r.Ports {
				spans[i] = sp.String()
			}
			n.Ports = append(n.Ports, Port{
				Ports: strings.Join(spans, ", "), Proto: r.Proto, Rule: r.Name, Service: r.Service,
				From: slices.Clone(r.From), Sensitive: r.Sensitive, World: world[r.Name],
			})
			for _, c := range r.From {
				used[c] = true
			}
		}
	}
	for _, c := range firewall.ClassOrder() {
		if !used[c] {
			continue
		}
		cl := Class{Name: c}
		if c != firewall.Cluster {
			// The cluster's addresses are the nodes', drawn as nodes.
			for _, p := range rs.Groups[c] {
				cl.CIDRs = append(cl.CIDRs, p.String())
			}
		}
		g.Classes = append(g.Classes, cl)
	}
	return g, nil
}

// Of builds the graph of s, compiling its firewall.
func Of(s *site.Site) (*Graph, error) {
	rs, err := firewall.Compile(s)
	if err != nil {
		return nil, err
	}
	return Build(s, rs)
}

// Placed counts the service instances placed on nodes: a graph without
// any is not worth a picture.
func (g *Graph) Placed() int {
	n := 0
	for _, node := range g.Nodes {
		n += len(node.Services)
	}
	return n
}

// composeFile is what the graph reads of a stack's compose data.
type composeFile struct {
	Services map[string]composeService `json:"services"`
	Networks map[string]struct {
		Name     string          `json:"name"`
		External json.RawMessage `json:"external"`
	} `json:"networks"`
}

type composeService struct {
	Networks json.RawMessage `json:"networks"`
	Ports    []struct {
		Target    json.Number `json:"target"`
		Published json.Number `json:"published"`
		Protocol  string      `json:"protocol"`
		Mode      string      `json:"mode"`
	} `json:"ports"`
	Deploy struct {
		Mode      string            `json:"mode"`
		Replicas  *int              `json:"replicas"`
		Labels    map[string]string `json:"labels"`
		Placement struct {
			Constraints []string `json:"constraints"`
		} `json:"placement"`
	} `json:"deploy"`
}

// networkNames returns the Swarm names of the networks the service joins:
// an external network by its name, a stack's own as <stack>_<key>.
func (svc composeService) networkNames(stack string, defs map[string]struct {
	Name     string          `json:"name"`
	External json.RawMessage `json:"external"`
}) ([]string, error) {
	var keys []string
	if len(svc.Networks) > 0 {
		if err := json.Unmarshal(svc.Networks, &keys); err != nil {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(svc.Networks, &m); err != nil {
				return nil, fmt.Errorf("networks: neither a list nor a mapping")
			}
			keys = slices.Sorted(maps.Keys(m))
		}
	}
	var out []string
	for _, k := range keys {
		d := defs[k]
		switch {
		case d.Name != "":
			out = append(out, d.Name)
		case string(d.External) == "true":
			out = append(out, k)
		default:
			out = append(out, stack+"_"+k)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (svc composeService) published() []string {
	var out []string
	for _, p := range svc.Ports {
		if p.Published == "" {
			continue
		}
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		mode := p.Mode
		if mode == "" {
			mode = "ingress"
		}
		out = append(out, fmt.Sprintf("%s/%s %s", p.Published, proto, mode))
	}
	return out
}

// labelRoutes reads the routers of a service's Traefik labels.
func labelRoutes(key string, labels map[string]string) ([]Route, error) {
	if labels["traefik.enable"] != "true" {
		return nil, nil
	}
	byName := map[string]*Route{}
	for k, v := range labels {
		rest, ok := strings.CutPrefix(k, "traefik.http.routers.")
		if !ok {
			continue
		}
		name, field, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		r := byName[name]
		if r == nil {
			r = &Route{Router: name, Target: key}
			byName[name] = r
		}
		switch field {
		case "rule":
			r.Rule = v
		case "entrypoints":
			r.EntryPoints = splitList(v)
		case "service":
			if strings.HasSuffix(v, "@internal") {
				r.Target = v
			}
		}
	}
	var out []Route
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		r := byName[name]
		r.Hosts, r.Paths = matchers(r.Rule)
		out = append(out, *r)
	}
	return out, nil
}

// traefikFiles reads Traefik's entry points from its static
// configuration and the routers of its file provider.
func (g *Graph) traefikFiles(st site.Stack) error {
	for _, f := range st.Files {
		var conf struct {
			EntryPoints map[string]struct {
				Address string `yaml:"address"`
				HTTP    struct {
					Redirections struct {
						EntryPoint struct {
							To string `yaml:"to"`
						} `yaml:"entryPoint"`
					} `yaml:"redirections"`
				} `yaml:"http"`
			} `yaml:"entryPoints"`
			HTTP struct {
				Routers map[string]struct {
					EntryPoints []string `yaml:"entryPoints"`
					Rule        string   `yaml:"rule"`
					Service     string   `yaml:"service"`
				} `yaml:"routers"`
			} `yaml:"http"`
		}
		if err := yaml.Unmarshal(f.Data, &conf); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		for _, name := range slices.Sorted(maps.Keys(conf.EntryPoints)) {
			ep := conf.EntryPoints[name]
			g.EntryPoints = append(g.EntryPoints, EntryPoint{Name: name, Address: ep.Address, RedirectTo: ep.HTTP.Redirections.EntryPoint.To})
		}
		for _, name := range slices.Sorted(maps.Keys(conf.HTTP.Routers)) {
			r := conf.HTTP.Routers[name]
			hosts, paths := matchers(r.Rule)
			// A file router's service is defined in the same file: no
			// service of the Swarm receives it.
			g.Routes = append(g.Routes, Route{Router: name, EntryPoints: slices.Clone(r.EntryPoints), Rule: r.Rule, Hosts: hosts, Paths: paths})
		}
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

var matcher = regexp.MustCompile("(Host|PathPrefix|Path)\\(`([^`]*)`\\)")

// matchers returns the hosts and paths a rule matches: a prefix as
// "/api*".
func matchers(rule string) (hosts, paths []string) {
	for _, m := range matcher.FindAllStringSubmatch(rule, -1) {
		switch m[1] {
		case "Host":
			hosts = append(hosts, m[2])
		case "PathPrefix":
			if m[2] == "/" {
				paths = append(paths, "/*")
			} else {
				paths = append(paths, m[2]+"*")
			}
		case "Path":
			paths = append(paths, m[2])
		}
	}
	return hosts, paths
}
