package vet

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/scripts"
	"github.com/nuvla/nuvlagen/generator/site"
)

var parseConstraint = site.ParseConstraint

// Firewall says which ports a site's firewall opens to clients on its
// nodes.
type Firewall interface {
	// Opens reports whether some clients can reach port/protocol ("tcp",
	// "udp") on some node.
	Opens(port int, protocol string) bool
	// EntryPoints lists the TCP ports the firewall opens for Traefik.
	EntryPoints() []int
	// String describes the firewall in messages.
	String() string
}

// SiteFirewall compiles a site's firewall with generator/firewall, the
// rules out/<site>/firewall/ applies.
func SiteFirewall(s *site.Site) (Firewall, error) {
	rs, err := firewall.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("compiling site %s's firewall: %w", s.Name, err)
	}
	return compiledFirewall{rs}, nil
}

type compiledFirewall struct{ rs *firewall.Ruleset }

func (fw compiledFirewall) Opens(port int, protocol string) bool {
	for _, n := range fw.rs.Nodes {
		for _, r := range n.Rules {
			if r.Proto == protocol && r.Allows(port) {
				return true
			}
		}
	}
	return false
}

// traefikRules are the rules of cue/firewall.cue that open Traefik's entry
// points: web and websecure, and the dashboard.
var traefikRules = []string{"http", "traefik"}

func (fw compiledFirewall) EntryPoints() []int {
	var out []int
	for _, n := range fw.rs.Nodes {
		for _, r := range n.Rules {
			if r.Proto != "tcp" || !slices.Contains(traefikRules, r.Name) {
				continue
			}
			for _, sp := range r.Ports {
				for p := sp.From; p <= sp.To && p-sp.From < 16; p++ {
					if !slices.Contains(out, p) {
						out = append(out, p)
					}
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func (fw compiledFirewall) String() string {
	return fmt.Sprintf("site %s's firewall", fw.rs.Site)
}

// firewall returns the firewall the options give, or compiles the site's.
// A site whose firewall does not compile has no port rules checked: its
// generation fails with the reason.
func (f *file) firewall() Firewall {
	if f.opts.Firewall != nil {
		return f.opts.Firewall
	}
	if f.opts.Site == nil {
		return nil
	}
	fw, err := SiteFirewall(f.opts.Site)
	if err != nil {
		return nil
	}
	return fw
}

var ruleSitePlacement = &Rule{
	ID:       "site-placement",
	Category: "Topology (--site)",
	Severity: Error,
	Summary:  "Placement constraints (`node.labels.*`, `node.hostname`, `node.role`) that no node of the site satisfies.",
	Why:      "Swarm keeps the service's tasks pending (\"no suitable node\") forever; the deploy command itself succeeds.",
	Hint:     "fix the constraint, or give a node of the site the label it asks for",
}

var ruleSiteNetwork = &Rule{
	ID:       "site-external-network",
	Category: "Topology (--site)",
	Severity: Error,
	Summary:  "An external network the site does not create (those its deploy.sh creates: the public network, and on a host site the backend; or Docker's own host, bridge, ingress, none).",
	Why:      "`docker stack deploy` fails with \"network … not found\": external networks must exist before the stack.",
	Hint:     "name one of the site's networks, or create this one in the site",
}

var ruleSitePort = &Rule{
	ID:       "site-published-port",
	Category: "Topology (--site)",
	Severity: Warning,
	Summary:  "A published port the site's firewall (generator/firewall, from cue/firewall.cue) opens on no node, to no one.",
	Why:      "The port is published on every node (or the task's node) but clients are dropped before reaching it: the service looks up and is unreachable.",
	Hint:     "route the service through Traefik, publish it where the site's firewall opens (a target site's ephemeral range), or open the port in the site's firewall rules",
}

var ruleSiteEntryPoint = &Rule{
	ID:       "site-entrypoint-unpublished",
	Category: "Topology (--site)",
	Severity: Warning,
	Summary:  "The firewall opens a port for Traefik's entry points that the Traefik service in the file does not publish.",
	Why:      "The firewall lets traffic through to a port nothing listens on: either the entry point is missing or the opening is stale.",
	Hint:     "publish the entry point's port on the Traefik service, or close it in the site's firewall",
}

func checkSitePlacement(f *file) {
	st := f.opts.Site
	if st == nil {
		return
	}
	for _, s := range f.services {
		cs := s.constraintStrings()
		if len(cs) == 0 || len(st.NodesSatisfying(cs)) > 0 {
			continue
		}
		// Point at the first constraint that alone excludes every node.
		at := s.constraints[0]
		for _, c := range s.constraints {
			if len(st.NodesSatisfying([]string{c.Value})) == 0 {
				at = c
				break
			}
		}
		hint := ""
		if key, op, val, ok := parseConstraint(at.Value); ok && op == "==" && strings.HasPrefix(key, "node.labels.") {
			hint = fmt.Sprintf("give a node of the site labels: %q: %q, or fix the constraint", strings.TrimPrefix(key, "node.labels."), val)
		}
		f.hinted(ruleSitePlacement, at, hint, "service %q: no node of site %s satisfies %s", s.name, st.Name, strings.Join(cs, " && "))
	}
}

// dockerNetworks are the networks every Swarm node has.
var dockerNetworks = []string{"host", "bridge", "ingress", "none"}

func checkSiteNetworks(f *file) {
	st := f.opts.Site
	if st == nil {
		return
	}
	// What deploy.sh creates, from the code that writes it; a site whose
	// deploy.sh cannot be written fails generation with the reason.
	created, err := scripts.Networks(st)
	if err != nil {
		return
	}
	list := strings.Join(created, ", ")
	if list == "" {
		list = "none"
	}
	for _, p := range pairs(value(f.root, "networks")) {
		n := resolve(p.Value)
		ext := value(n, "external")
		name := p.Key.Value
		if e, ok := scalar(ext); !ok || e != "true" {
			// Compose v3.3 and older spell a renamed external network
			// external: {name: X}.
			if x, ok := scalar(value(ext, "name")); ok {
				name = x
			} else {
				continue
			}
		}
		if x, ok := scalar(value(n, "name")); ok {
			name = x
		}
		if slices.Contains(created, name) || slices.Contains(dockerNetworks, name) {
			continue
		}
		f.report(ruleSiteNetwork, p.Key, "external network %q is not one the site %s creates (%s)", name, st.Name, list)
	}
}

// published is one published port.
type published struct {
	port     int
	protocol string
	host     bool
	node     *yaml.Node
}

// publishedPorts reads a service's ports in short ("8080:80/udp") and
// long form. Ranges and ports whose number vet cannot know are skipped.
func publishedPorts(s *service) []published {
	var out []published
	for _, it := range items(value(s.node, "ports")) {
		if text, ok := scalar(it); ok {
			text, known := expandDefaults(text)
			if !known {
				continue
			}
			proto := "tcp"
			if i := strings.LastIndex(text, "/"); i >= 0 {
				text, proto = text[:i], text[i+1:]
			}
			parts := strings.Split(text, ":")
			if len(parts) < 2 {
				continue // only a target: Swarm picks a port in 30000-32767
			}
			if p, err := strconv.Atoi(parts[len(parts)-2]); err == nil {
				out = append(out, published{p, proto, false, it})
			}
			continue
		}
		pub := value(it, "published")
		text, ok := scalar(pub)
		if !ok {
			continue
		}
		text, known := expandDefaults(text)
		p, err := strconv.Atoi(text)
		if !known || err != nil {
			continue
		}
		proto := "tcp"
		if x, ok := scalar(value(it, "protocol")); ok {
			proto = x
		}
		mode, _ := scalar(value(it, "mode"))
		out = append(out, published{p, proto, mode == "host", pub})
	}
	return out
}

func checkSitePorts(f *file) {
	fw := f.firewall()
	if fw == nil {
		return
	}
	for _, s := range f.services {
		for _, p := range publishedPorts(s) {
			if !fw.Opens(p.port, p.protocol) {
				f.report(ruleSitePort, p.node, "service %q publishes %d/%s, which %s does not open", s.name, p.port, p.protocol, fw)
			}
		}
	}
	for _, t := range f.traefikServices() {
		ports := publishedPorts(t)
		for _, ep := range fw.EntryPoints() {
			if !slices.ContainsFunc(ports, func(p published) bool { return p.port == ep && p.protocol == "tcp" }) {
				at := t.key
				if p, ok := get(t.node, "ports"); ok {
					at = p.Key
				}
				f.report(ruleSiteEntryPoint, at, "service %q does not publish %d/tcp, which %s opens for Traefik", t.name, ep, fw)
			}
		}
	}
}
