package vet

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	dockertypes "github.com/docker/cli/cli/compose/types"
	"go.yaml.in/yaml/v4"
)

var ruleForbidden = &Rule{
	ID:       "swarm-forbidden",
	Category: "Swarm",
	Severity: Error,
	Summary:  "A service option the docker CLI's stack loader forbids (its ForbiddenProperties: `extends`, `volumes_from`, `mem_limit`, …).",
	Why:      "`docker stack deploy` refuses the whole file with \"Configuration contains forbidden properties\".",
}

var ruleIgnored = &Rule{
	ID:       "swarm-ignored",
	Category: "Swarm",
	Severity: Warning,
	Summary:  "A service option `docker stack deploy` ignores (its UnsupportedProperties: `build`, `restart`, `privileged`, `network_mode`, …).",
	Why:      "The stack deploys without it and only prints a warning: a restart policy, a privilege or a network mode the author relies on is silently not there.",
}

var ruleDeprecated = &Rule{
	ID:       "swarm-deprecated",
	Category: "Swarm",
	Severity: Warning,
	Summary:  "A service option the docker CLI's stack loader deprecates (its DeprecatedProperties: `container_name`, `expose`).",
	Why:      "It has no effect in a stack; readers believe it does something.",
	Hint:     "remove it",
}

var ruleDependsOn = &Rule{
	ID:       "swarm-depends-on",
	Category: "Swarm",
	Severity: Warning,
	Summary:  "`depends_on`, which Swarm does not honour.",
	Why:      "Swarm starts every service of a stack at once and restarts failed tasks; `depends_on` orders nothing, so a service that needs another must wait for it itself.",
	Hint:     "remove depends_on; make the service retry until its dependencies answer, with deploy.restart_policy",
}

var ruleNoImage = &Rule{
	ID:       "swarm-no-image",
	Category: "Swarm",
	Severity: Error,
	Summary:  "A service without `image`.",
	Why:      "Swarm does not build images: `docker stack deploy` fails on a service that names none, `build` or not.",
	Hint:     "build and push the image, then name it with image: REPOSITORY:TAG",
}

var ruleHostPortReplicas = &Rule{
	ID:       "swarm-host-port-replicas",
	Category: "Swarm",
	Severity: Error,
	Summary:  "A service publishing a port in `mode: host` with more replicas than the nodes it may run on.",
	Why: "Two tasks cannot bind the same host port on one node, so Swarm places at most one such task per node; " +
		"the replicas beyond the number of eligible nodes stay pending forever. Without --site, vet only " +
		"knows of placements that allow a single node (node.hostname or node.id ==).",
	Hint: "use deploy.mode: global with a placement constraint, or lower replicas to the number of eligible nodes",
}

var rulePortHostIP = &Rule{
	ID:       "swarm-port-host-ip",
	Category: "Swarm",
	Severity: Warning,
	Summary:  "A host IP in a short-form published port (`127.0.0.1:8080:80`).",
	Why: "`docker stack deploy` drops the address without a word and publishes the port on every address of every node: " +
		"a port meant for localhost is open to the network. (The long form's `host_ip` is refused outright: stack-schema.)",
	Hint: "remove the address; to keep a port private, do not publish it (reach the service over an overlay network) or filter it in the firewall",
}

// ignoredHints says what to write instead of each option Swarm ignores.
var ignoredHints = map[string]string{
	"build":          "build and push the image, and name it with image:",
	"cgroupns_mode":  "no stack equivalent; remove it",
	"cgroup_parent":  "no stack equivalent; remove it",
	"devices":        "no stack equivalent; run the workload outside Swarm or use a device plugin",
	"domainname":     "no stack equivalent; remove it",
	"external_links": "attach both services to a shared overlay network and use the service name",
	"ipc":            "no stack equivalent; remove it",
	"links":          "services on a shared network reach each other by service name; remove links",
	"mac_address":    "no stack equivalent; remove it",
	"network_mode":   "attach the service to an overlay network, or to the predefined host network declared external",
	"pid":            "no stack equivalent; remove it",
	"privileged":     "grant only what is needed with cap_add",
	"restart":        "use deploy.restart_policy (condition: on-failure | any | none)",
	"security_opt":   "no stack equivalent; remove it",
	"shm_size":       "mount a tmpfs at /dev/shm with a size (volumes: type: tmpfs)",
	"userns_mode":    "configure user namespaces on the daemon instead",
}

// serviceOptions yields each top-level option of each service that is in
// set, in file order.
func serviceOptions(f *file, set func(string) bool, fn func(s *service, p pair)) {
	for _, s := range f.services {
		for _, p := range pairs(s.node) {
			if set(p.Key.Value) {
				fn(s, p)
			}
		}
	}
}

func checkForbidden(f *file) {
	serviceOptions(f, func(k string) bool { _, ok := dockertypes.ForbiddenProperties[k]; return ok }, func(s *service, p pair) {
		why := dockertypes.ForbiddenProperties[p.Key.Value]
		f.hinted(ruleForbidden, p.Key, why, "service %q: %s is forbidden by docker stack deploy", s.name, p.Key.Value)
	})
}

func checkIgnored(f *file) {
	serviceOptions(f, func(k string) bool { return slices.Contains(dockertypes.UnsupportedProperties, k) }, func(s *service, p pair) {
		hint := ignoredHints[p.Key.Value]
		f.hinted(ruleIgnored, p.Key, hint, "service %q: %s is ignored by docker stack deploy", s.name, p.Key.Value)
	})
}

func checkDeprecated(f *file) {
	serviceOptions(f, func(k string) bool { _, ok := dockertypes.DeprecatedProperties[k]; return ok }, func(s *service, p pair) {
		why := dockertypes.DeprecatedProperties[p.Key.Value]
		f.report(ruleDeprecated, p.Key, "service %q: %s is deprecated in stacks: %s", s.name, p.Key.Value, strings.TrimSuffix(why, "."))
	})
}

func checkDependsOn(f *file) {
	serviceOptions(f, func(k string) bool { return k == "depends_on" }, func(s *service, p pair) {
		f.report(ruleDependsOn, p.Key, "service %q: depends_on does not order startup in Swarm", s.name)
	})
}

// anyRef matches any ${...} reference.
var anyRef = regexp.MustCompile(`\$\{[^}]*\}`)

func checkPortHostIP(f *file) {
	for _, s := range f.services {
		for _, it := range items(value(s.node, "ports")) {
			text, ok := scalar(it)
			if !ok {
				continue
			}
			// Variables stand for a port or an address; what matters is
			// how many colons are written around them.
			text, _ = expandDefaults(text)
			text = anyRef.ReplaceAllString(text, "1")
			text, _, _ = strings.Cut(text, "/")
			// IPv6 addresses come in brackets: [::1]:8080:80.
			addr := ""
			if rest, ok := strings.CutPrefix(text, "["); ok {
				addr, _, _ = strings.Cut(rest, "]")
			} else if strings.Count(text, ":") == 2 {
				addr, _, _ = strings.Cut(text, ":")
			}
			// The unspecified address is what Swarm uses anyway.
			if addr != "" && addr != "0.0.0.0" && addr != "::" {
				f.report(rulePortHostIP, it, "service %q: port %s binds address %s, which Swarm ignores: it listens on every address", s.name, it.Value, addr)
			}
		}
	}
}

func checkNoImage(f *file) {
	for _, s := range f.services {
		if s.node == nil || s.node.Kind != yaml.MappingNode {
			continue
		}
		if img, ok := scalar(s.image); ok && strings.TrimSpace(img) != "" {
			continue
		}
		at := s.key
		if p, ok := get(s.node, "image"); ok {
			at = p.Key
		}
		f.report(ruleNoImage, at, "service %q has no image", s.name)
	}
}

// hostPorts returns the service's ports published in host mode.
func hostPorts(s *service) []*yaml.Node {
	var out []*yaml.Node
	for _, p := range items(value(s.node, "ports")) {
		if m, ok := scalar(value(p, "mode")); ok && m == "host" {
			out = append(out, p)
		}
	}
	return out
}

func checkHostPortReplicas(f *file) {
	for _, s := range f.services {
		ports := hostPorts(s)
		if len(ports) == 0 || s.global || s.replicas <= 1 {
			continue
		}
		eligible, where := -1, ""
		if st := f.opts.Site; st != nil {
			eligible = len(st.NodesSatisfying(s.constraintStrings()))
			where = fmt.Sprintf("%d node(s) of site %s satisfy its placement", eligible, st.Name)
		} else {
			for _, c := range s.constraints {
				key, op, _, ok := parseConstraint(c.Value)
				if ok && op == "==" && (key == "node.hostname" || key == "node.id") {
					eligible, where = 1, "its placement ("+strings.TrimSpace(c.Value)+") allows one node"
				}
			}
		}
		if eligible < 0 || s.replicas <= eligible {
			continue
		}
		at := s.replicasNode
		if at == nil {
			at = ports[0]
		}
		f.report(ruleHostPortReplicas, at, "service %q: %d replicas publish a host-mode port but %s; %d will stay pending",
			s.name, s.replicas, where, s.replicas-eligible)
	}
}

var ruleMemlock = &Rule{
	ID:       "memlock-ulimit",
	Category: "Swarm",
	Severity: Error,
	Summary:  "Elasticsearch's `bootstrap.memory_lock=true` on a service without a memlock ulimit.",
	Why: "Elasticsearch can lock its heap only if the memlock limit allows it, and its production bootstrap check then refuses to start. " +
		"A Swarm service gets a memlock limit only from `ulimits:` (honoured by Docker 23 and later); without it the node's default applies, a few kilobytes.",
	Hint: "add ulimits: {memlock: {soft: -1, hard: -1}} (Docker 23+ engines), or set bootstrap.memory_lock=false",
}

func checkMemlock(f *file) {
	for _, s := range f.services {
		for _, e := range s.env {
			if e.key != "bootstrap.memory_lock" || !e.hasValue || !strings.EqualFold(strings.TrimSpace(e.value), "true") {
				continue
			}
			if value(value(s.node, "ulimits"), "memlock") != nil {
				continue
			}
			f.report(ruleMemlock, e.valueNode, "service %q sets bootstrap.memory_lock=true without a memlock ulimit: Elasticsearch will refuse to start", s.name)
		}
	}
}
