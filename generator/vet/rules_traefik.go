package vet

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

var ruleTraefikV1 = &Rule{
	ID:       "traefik-v1-labels",
	Category: "Traefik",
	Severity: Error,
	Summary: "Traefik v1 label syntax (`traefik.frontend.*`, `traefik.port`, `traefik.backend`, `traefik.<name>.frontend.*`). " +
		"An error when the service also has v2+ labels or the file or site runs Traefik v2+, a warning otherwise.",
	Why: "Traefik v2 and v3 ignore v1 labels without a word: the route the author wrote does not exist, " +
		"and the service answers 404 behind the router.",
	Hint: "rewrite as traefik.http.routers.NAME.* and traefik.http.services.NAME.loadbalancer.server.port",
}

var ruleTraefikContainerLabels = &Rule{
	ID:       "traefik-container-labels",
	Category: "Traefik",
	Severity: Error,
	Summary:  "`traefik.*` labels in the service's `labels:` instead of `deploy.labels:`.",
	Why:      "In Swarm, Traefik reads the labels of the service (`deploy.labels`); `labels:` are put on the containers, where its Swarm provider never looks.",
	Hint:     "move the label under deploy.labels",
}

var ruleTraefikDetached = &Rule{
	ID:       "traefik-network-detached",
	Category: "Traefik",
	Severity: Error,
	Summary:  "A service Traefik routes to is not attached to the router's network (the Traefik service's networks in the file, or the site's public network).",
	Why:      "Traefik reaches a service's tasks over a network they share; without one it has no address to forward to and answers 504 or 502.",
	Hint:     "attach the service to the router's network and name it with traefik.swarm.network",
}

var ruleTraefikNetworkMissing = &Rule{
	ID:       "traefik-network-missing",
	Category: "Traefik",
	Severity: Warning,
	Summary:  "A service Traefik routes to is on several networks and no `traefik.swarm.network` (or `traefik.docker.network`) label says which one Traefik must use.",
	Why:      "Traefik then picks one of the service's addresses at random; when it picks a network it is not on, requests time out, some of the time.",
	Hint:     "add traefik.swarm.network=NETWORK (traefik.docker.network for Traefik v2)",
}

var ruleTraefikNetworkUnknown = &Rule{
	ID:       "traefik-network-unknown",
	Category: "Traefik",
	Severity: Error,
	Summary:  "`traefik.swarm.network` or `traefik.docker.network` names a network the service is not attached to.",
	Why:      "Traefik finds no address of the service on that network and drops the route.",
	Hint:     "name one of the service's networks (its real name: the name: field, or STACK_KEY for a network the stack creates)",
}

var ruleTraefikUndefined = &Rule{
	ID:       "traefik-undefined-reference",
	Category: "Traefik",
	Severity: Error,
	Summary:  "A router (or a chain middleware) names a middleware or a service that no label in the file defines.",
	Why:      "Traefik disables a router whose middleware or service does not exist: the route returns 404.",
	Hint:     "define it in the labels, or name its provider (NAME@file, NAME@swarm) when another provider or stack defines it",
}

var ruleTraefikPort = &Rule{
	ID:       "traefik-port",
	Category: "Traefik",
	Severity: Error,
	Summary:  "A service Traefik routes to has no `traefik.http.services.<name>.loadbalancer.server.port` (or the tcp/udp equivalent).",
	Why: "On Swarm, Traefik cannot detect ports: Swarm gives it no information about the ports the image exposes, " +
		"so the label is required whether the image exposes none, one or several ports. Without it Traefik drops the service.",
	Hint: "add traefik.http.services.NAME.loadbalancer.server.port=PORT (the port the container listens on)",
}

// v1Segments are the second (or, after a service name, third) segments
// of Traefik v1 labels.
var v1Segments = []string{"frontend", "backend", "port", "protocol", "weight"}

// v2Segments are the second segments of Traefik v2+ labels.
var v2Segments = []string{"enable", "http", "tcp", "udp", "docker", "swarm", "tls"}

func isV1Label(key string) bool {
	parts := strings.Split(key, ".")
	if len(parts) < 2 || parts[0] != "traefik" {
		return false
	}
	if slices.Contains(v1Segments, parts[1]) {
		return true
	}
	return len(parts) >= 3 && !slices.Contains(v2Segments, parts[1]) && slices.Contains(v1Segments, parts[2])
}

func isV2Label(key string) bool {
	for _, p := range []string{"traefik.http.", "traefik.tcp.", "traefik.udp."} {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// imageRef splits an image reference into repository, tag and digest.
func imageRef(s string) (repo, tag, digest string) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "@"); i >= 0 {
		s, digest = s[:i], s[i+1:]
	}
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		s, tag = s[:i], s[i+1:]
	}
	return s, tag, digest
}

// traefikMajor returns the major version of a Traefik image, 0 when the
// image is not Traefik or its version cannot be told.
func traefikMajor(image string) int {
	repo, tag, _ := imageRef(image)
	if repo != "traefik" && !strings.HasSuffix(repo, "/traefik") {
		return 0
	}
	if tag == "" || tag == "latest" {
		return 3
	}
	tag = strings.TrimPrefix(tag, "v")
	major, _, _ := strings.Cut(tag, ".")
	if n, err := strconv.Atoi(major); err == nil {
		return n
	}
	// Named releases: v1 "maroilles" … v3 "saintnectaire", v2 others.
	return 2
}

// traefikServices returns the file's services that run Traefik.
func (f *file) traefikServices() []*service {
	var out []*service
	for _, s := range f.services {
		if img, ok := scalar(s.image); ok && traefikMajor(img) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// modernTraefik says whether the file or the site runs Traefik v2+.
func (f *file) modernTraefik() (string, bool) {
	for _, s := range f.traefikServices() {
		img, _ := scalar(s.image)
		if traefikMajor(img) >= 2 {
			return fmt.Sprintf("service %q runs %s", s.name, img), true
		}
	}
	if st := f.opts.Site; st != nil {
		if img := st.Images["traefik"]; traefikMajor(img) >= 2 {
			return fmt.Sprintf("site %s runs %s", st.Name, img), true
		}
	}
	return "", false
}

func checkTraefikV1(f *file) {
	why, modern := f.modernTraefik()
	legacy := ""
	for _, t := range f.traefikServices() {
		if img, _ := scalar(t.image); traefikMajor(img) == 1 {
			legacy = fmt.Sprintf(" (service %q runs %s, end of life since 2021)", t.name, img)
		}
	}
	for _, s := range f.services {
		v2 := slices.ContainsFunc(s.deployLabels, func(l kv) bool { return isV2Label(l.key) })
		for _, l := range append(slices.Clone(s.deployLabels), s.labels...) {
			if !isV1Label(l.key) {
				continue
			}
			switch {
			case v2:
				f.report(ruleTraefikV1, l.keyNode, "service %q: %s is Traefik v1 syntax, next to v2+ labels that ignore it", s.name, l.key)
			case modern:
				f.report(ruleTraefikV1, l.keyNode, "service %q: %s is Traefik v1 syntax, ignored by Traefik v2+ (%s)", s.name, l.key, why)
			default:
				f.reportSev(ruleTraefikV1, Warning, l.keyNode, "service %q: %s is Traefik v1 syntax, ignored by Traefik v2 and v3%s", s.name, l.key, legacy)
			}
		}
	}
}

func checkTraefikContainerLabels(f *file) {
	for _, s := range f.services {
		for _, l := range s.labels {
			if strings.HasPrefix(l.key, "traefik.") {
				f.report(ruleTraefikContainerLabels, l.keyNode, "service %q: label %s is on the containers, where Traefik's Swarm provider does not read it", s.name, l.key)
			}
		}
	}
}

// routed reports whether Traefik routes to the service: traefik.enable is
// true, or it has router or service labels and is not disabled.
func routed(s *service) bool {
	if l, ok := s.label("traefik.enable"); ok {
		return strings.EqualFold(strings.TrimSpace(l.value), "true")
	}
	return slices.ContainsFunc(s.deployLabels, func(l kv) bool { return isV2Label(l.key) })
}

// networkLabel returns the label naming the network Traefik must use.
func networkLabel(s *service) (kv, bool) {
	if l, ok := s.label("traefik.swarm.network"); ok {
		return l, true
	}
	return s.label("traefik.docker.network")
}

// networkMatches reports whether label, the value of a Traefik network
// label, names the file's network key. Labels name networks as the Docker
// engine does: by the name: field, by the key when external, or as
// STACK_KEY (any stack) when the stack creates it.
func (f *file) networkMatches(key, label string) bool {
	n := value(value(f.root, "networks"), key)
	if name, ok := scalar(value(n, "name")); ok {
		return name == label
	}
	if label == key {
		return true
	}
	ext, _ := scalar(value(n, "external"))
	return ext != "true" && strings.HasSuffix(label, "_"+key)
}

// routerNetworks returns the compose keys of the networks Traefik reaches
// services over, and where that knowledge comes from; none when unknown.
func (f *file) routerNetworks() ([]string, string) {
	if st := f.opts.Site; st != nil && st.Networks.Public != "" {
		var keys []string
		for _, p := range pairs(value(f.root, "networks")) {
			if f.networkMatches(p.Key.Value, st.Networks.Public) {
				keys = append(keys, p.Key.Value)
			}
		}
		return keys, fmt.Sprintf("site %s's public network %s", st.Name, st.Networks.Public)
	}
	tr := f.traefikServices()
	if len(tr) == 0 {
		return nil, ""
	}
	var keys []string
	for _, n := range tr[0].networks {
		keys = append(keys, n.name)
	}
	return keys, fmt.Sprintf("service %q's networks", tr[0].name)
}

func checkTraefikNetworks(f *file) {
	routerNets, from := f.routerNetworks()
	for _, s := range f.services {
		if !routed(s) || slices.Contains(f.traefikServices(), s) {
			continue
		}
		label, hasLabel := networkLabel(s)
		// The compose key of the network the label names, if the service
		// is on it.
		chosen := ""
		if hasLabel {
			for _, n := range s.networks {
				if f.networkMatches(n.name, strings.TrimSpace(label.value)) {
					chosen = n.name
				}
			}
			if chosen == "" {
				f.report(ruleTraefikNetworkUnknown, label.valueNode, "service %q: %s names network %q, which the service is not attached to", s.name, label.key, label.value)
			}
		} else if len(s.networks) > 1 {
			f.report(ruleTraefikNetworkMissing, s.key, "service %q is on %d networks and no traefik.swarm.network label says which Traefik uses", s.name, len(s.networks))
		}
		if from == "" {
			continue
		}
		switch {
		case len(routerNets) == 0:
			f.report(ruleTraefikDetached, s.key, "service %q is routed by Traefik but the file does not declare %s", s.name, from)
		case chosen != "" && !slices.Contains(routerNets, chosen):
			f.report(ruleTraefikDetached, label.valueNode, "service %q: Traefik reaches it over %q, which is not one of %s", s.name, chosen, from)
		case !slices.ContainsFunc(s.networks, func(r ref) bool { return slices.Contains(routerNets, r.name) }):
			at := s.key
			if p, ok := get(s.node, "networks"); ok {
				at = p.Key
			}
			f.report(ruleTraefikDetached, at, "service %q is routed by Traefik but not attached to %s (%s)", s.name, strings.Join(routerNets, ", "), from)
		}
	}
}

// traefikDefs holds the middlewares and services the file's labels
// define, as "protocol/name".
type traefikDefs struct {
	middlewares, services map[string]bool // "http/name"
}

func collectDefs(f *file) traefikDefs {
	d := traefikDefs{middlewares: map[string]bool{}, services: map[string]bool{}}
	for _, s := range f.services {
		for _, l := range s.deployLabels {
			parts := strings.Split(l.key, ".")
			if len(parts) < 4 || parts[0] != "traefik" {
				continue
			}
			switch parts[2] {
			case "middlewares":
				d.middlewares[parts[1]+"/"+parts[3]] = true
			case "services":
				d.services[parts[1]+"/"+parts[3]] = true
			}
		}
	}
	return d
}

func checkTraefikUndefined(f *file) {
	defs := collectDefs(f)
	for _, s := range f.services {
		for _, l := range s.deployLabels {
			parts := strings.Split(l.key, ".")
			if len(parts) < 5 || parts[0] != "traefik" {
				continue
			}
			proto, kind, name, field := parts[1], parts[2], parts[3], strings.Join(parts[4:], ".")
			var what string
			var set map[string]bool
			switch {
			case kind == "routers" && field == "middlewares":
				what, set = "middleware", defs.middlewares
			case kind == "routers" && field == "service":
				what, set = "service", defs.services
			case kind == "middlewares" && field == "chain.middlewares":
				what, set = "middleware", defs.middlewares
			default:
				continue
			}
			for _, ref := range strings.Split(l.value, ",") {
				ref = strings.TrimSpace(ref)
				if ref == "" || strings.Contains(ref, "@") || strings.Contains(ref, "$") || set[proto+"/"+ref] {
					continue
				}
				f.report(ruleTraefikUndefined, l.valueNode, "service %q: %s %q names %s %q, which no label in this file defines",
					s.name, strings.TrimSuffix(kind, "s"), name, what, ref)
			}
		}
	}
}

func checkTraefikPort(f *file) {
	for _, s := range f.services {
		if !routed(s) {
			continue
		}
		// Per protocol: the services the labels define, and whether each
		// has a port.
		type svc struct {
			port bool
			node *yaml.Node
		}
		defined := map[string]*svc{}
		protos := map[string]bool{}
		var order []string
		for _, l := range s.deployLabels {
			parts := strings.Split(l.key, ".")
			if len(parts) < 3 || parts[0] != "traefik" || !slices.Contains([]string{"http", "tcp", "udp"}, parts[1]) {
				continue
			}
			protos[parts[1]] = true
			if parts[2] != "services" || len(parts) < 4 {
				continue
			}
			k := parts[1] + "/" + parts[3]
			if defined[k] == nil {
				defined[k] = &svc{node: l.keyNode}
				order = append(order, k)
			}
			if strings.Join(parts[4:], ".") == "loadbalancer.server.port" {
				defined[k].port = true
			}
		}
		if len(defined) == 0 {
			at := s.key
			if l, ok := s.label("traefik.enable"); ok {
				at = l.keyNode
			}
			proto := "http"
			if !protos["http"] && (protos["tcp"] || protos["udp"]) {
				proto = "tcp"
				if !protos["tcp"] {
					proto = "udp"
				}
			}
			f.report(ruleTraefikPort, at, "service %q is routed by Traefik but no traefik.%s.services.NAME.loadbalancer.server.port label gives its port", s.name, proto)
			continue
		}
		for _, k := range order {
			if !defined[k].port {
				proto, name, _ := strings.Cut(k, "/")
				f.report(ruleTraefikPort, defined[k].node, "service %q: Traefik service %q has no traefik.%s.services.%s.loadbalancer.server.port", s.name, name, proto, name)
			}
		}
	}
}
