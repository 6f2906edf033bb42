package vet

import (
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// service is what the rules read of one service, with the nodes that
// findings point at. Every field tolerates a malformed file: a value of
// the wrong type is simply absent here (the schema rules report it).
type service struct {
	name string
	key  *yaml.Node // the service's name under services:
	node *yaml.Node // its mapping

	image        *yaml.Node // the image's value, or nil
	deploy       *yaml.Node
	labels       []kv // service-level (container) labels
	deployLabels []kv
	env          []kv
	networks     []ref // the networks it is attached to
	// global is true for deploy.mode: global.
	global bool
	// replicas is deploy.replicas (1 when absent, -1 when unknown).
	replicas     int
	replicasNode *yaml.Node
	constraints  []*yaml.Node // deploy.placement.constraints, scalars
}

// kv is one entry of a list-or-mapping field (labels, environment). In
// list form ("K=V") key and value both point at the list item.
type kv struct {
	key, value string
	hasValue   bool
	keyNode    *yaml.Node
	valueNode  *yaml.Node
}

// ref names a top-level object (network, volume, secret, config) from a
// service, at a node.
type ref struct {
	name string
	node *yaml.Node
}

// label returns the deploy label with the given key.
func (s *service) label(key string) (kv, bool) {
	for _, l := range s.deployLabels {
		if l.key == key {
			return l, true
		}
	}
	return kv{}, false
}

// constraintStrings returns the placement constraints as text.
func (s *service) constraintStrings() []string {
	out := make([]string, 0, len(s.constraints))
	for _, c := range s.constraints {
		out = append(out, c.Value)
	}
	return out
}

// listOrMap reads a field written either as a list of "K=V" strings or as
// a mapping.
func listOrMap(n *yaml.Node) []kv {
	n = resolve(n)
	if n == nil {
		return nil
	}
	var out []kv
	switch n.Kind {
	case yaml.SequenceNode:
		for _, it := range items(n) {
			s, ok := scalar(it)
			if !ok {
				continue
			}
			k, v, has := strings.Cut(s, "=")
			out = append(out, kv{key: k, value: v, hasValue: has, keyNode: it, valueNode: it})
		}
	case yaml.MappingNode:
		for _, p := range pairs(n) {
			v := resolve(p.Value)
			e := kv{key: p.Key.Value, keyNode: p.Key, valueNode: p.Value}
			if s, ok := scalar(v); ok && !isNull(v) {
				e.value, e.hasValue = s, true
			}
			out = append(out, e)
		}
	}
	return out
}

// names reads a field that is either a list of names or a mapping keyed
// by name (networks, secrets and configs in their short or long forms).
func names(n *yaml.Node, longKey string) []ref {
	n = resolve(n)
	if n == nil {
		return nil
	}
	var out []ref
	switch n.Kind {
	case yaml.SequenceNode:
		for _, it := range items(n) {
			if s, ok := scalar(it); ok {
				out = append(out, ref{s, it})
				continue
			}
			if longKey != "" {
				if v := value(it, longKey); v != nil {
					if s, ok := scalar(v); ok {
						out = append(out, ref{s, v})
					}
				}
			}
		}
	case yaml.MappingNode:
		for _, p := range pairs(n) {
			out = append(out, ref{p.Key.Value, p.Key})
		}
	}
	return out
}

// parseServices reads the services section.
func (f *file) parseServices() {
	for _, p := range pairs(value(f.root, "services")) {
		n := resolve(p.Value)
		s := &service{name: p.Key.Value, key: p.Key, node: n, replicas: 1}
		f.services = append(f.services, s)
		if n == nil || n.Kind != yaml.MappingNode {
			continue
		}
		s.image = value(n, "image")
		s.labels = listOrMap(value(n, "labels"))
		s.env = listOrMap(value(n, "environment"))
		s.networks = names(value(n, "networks"), "")
		d := value(n, "deploy")
		s.deploy = d
		if d == nil {
			continue
		}
		s.deployLabels = listOrMap(value(d, "labels"))
		if m, ok := scalar(value(d, "mode")); ok && m == "global" {
			s.global = true
		}
		if r := value(d, "replicas"); r != nil {
			s.replicasNode = r
			s.replicas = -1
			if v, ok := scalar(r); ok {
				if i, err := strconv.Atoi(v); err == nil {
					s.replicas = i
				}
			}
		}
		for _, c := range items(value(value(d, "placement"), "constraints")) {
			if _, ok := scalar(c); ok {
				s.constraints = append(s.constraints, c)
			}
		}
	}
}

// service returns the service with the given name.
func (f *file) service(name string) *service {
	for _, s := range f.services {
		if s.name == name {
			return s
		}
	}
	return nil
}

// varRef matches a ${VAR...} reference and its modifier, if any, or a
// $VAR reference (in a text where $$, a literal $, is removed).
var varRef = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?|([A-Za-z_][A-Za-z0-9_]*))`)

// lookupEnv builds the environment the loaders interpolate with. vet does
// not know the values a deployment will use, and must not read its own
// environment (output would depend on who runs it), so: a variable with a
// default somewhere (${X:-d}) is unset, and the default applies; any
// other variable gets a placeholder that suits the key it is the value
// of: "1s" for durations, a path for the source of a short-form volume
// ("${DATA}:/data": a named volume cannot come from a variable, since the
// file must declare it), "1" elsewhere (a valid string, number and
// boolean), so that a reference alone does not fail the schema.
func lookupEnv(root *yaml.Node) map[string]string {
	env, _ := lookupVars(root)
	return env
}

// varUse is where a variable is first referenced.
type varUse struct {
	name string
	node *yaml.Node
}

// lookupVars is lookupEnv, and also lists the variables referenced only
// plainly ($X, ${X}: no default, no required message, no alternative),
// each at its first reference, in file order: those a deployment that
// forgets them interpolates as empty.
func lookupVars(root *yaml.Node) (map[string]string, []varUse) {
	env := map[string]string{}
	hasDefault := map[string]bool{}
	notPlain := map[string]bool{}
	var uses []varUse
	seen := map[string]bool{}
	var walk func(n *yaml.Node, key string, depth int)
	walk = func(n *yaml.Node, key string, depth int) {
		if n == nil || depth > 256 {
			return
		}
		switch n.Kind {
		case yaml.ScalarNode:
			text := strings.ReplaceAll(n.Value, "$$", "")
			for _, loc := range varRef.FindAllStringSubmatchIndex(text, -1) {
				m := func(i int) string {
					if loc[2*i] < 0 {
						return ""
					}
					return text[loc[2*i]:loc[2*i+1]]
				}
				name, mod := m(1)+m(3), m(2)
				if mod == "-" || mod == ":-" {
					hasDefault[name] = true
				}
				if mod != "" {
					notPlain[name] = true
				}
				if !seen[name] {
					seen[name] = true
					uses = append(uses, varUse{name, n})
				}
				if _, ok := env[name]; !ok {
					switch {
					case durationKeys[key]:
						env[name] = "1s"
					case key == "volumes" && loc[0] == 0 && strings.Contains(text[loc[1]:], ":"):
						env[name] = "/" + name
					default:
						env[name] = "1"
					}
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i], "", depth+1)
				walk(n.Content[i+1], n.Content[i].Value, depth+1)
			}
		case yaml.SequenceNode, yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, key, depth+1)
			}
		}
	}
	walk(root, "", 0)
	for name := range hasDefault {
		delete(env, name)
	}
	plain := uses[:0]
	for _, u := range uses {
		if !notPlain[u.name] {
			plain = append(plain, u)
		}
	}
	return env, plain
}

// durationKeys are the compose keys whose values are durations.
var durationKeys = map[string]bool{
	"interval": true, "timeout": true, "start_period": true, "start_interval": true, "delay": true,
	"window": true, "monitor": true, "stop_grace_period": true,
}

// defaultRef matches one ${VAR:-default} (or ${VAR-default}) reference.
var defaultRef = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}`)

// expandDefaults replaces each ${VAR:-default} in s by its default, as a
// deployment with the variable unset would see it. ok is false when some
// other reference remains, whose value vet cannot know.
func expandDefaults(s string) (string, bool) {
	s = defaultRef.ReplaceAllString(s, "$1")
	s = strings.ReplaceAll(s, "$$", "\x00")
	ok := !strings.Contains(s, "$")
	return strings.ReplaceAll(s, "\x00", "$"), ok
}
