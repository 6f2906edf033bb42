package vet

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// The helpers below read the YAML node tree, which keeps the line and
// column of every key and value. They resolve aliases and merge keys
// (`<<: *defaults`) the way the loaders do, and never follow more than
// maxDepth aliases in a row, so a self-referencing document cannot loop.

const maxDepth = 64

// resolve follows documents and aliases to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < maxDepth; i++ {
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		case yaml.AliasNode:
			n = n.Alias
		default:
			return n
		}
	}
	return nil
}

// pair is one entry of a mapping.
type pair struct {
	Key, Value *yaml.Node
}

// Name is the entry's key as text.
func (p pair) Name() string { return p.Key.Value }

// pairs lists a mapping's entries with merge keys expanded: keys written
// in the mapping itself win over merged ones, earlier merges over later
// ones, as YAML 1.1 says. A node that is not a mapping has no entries.
func pairs(n *yaml.Node) []pair {
	return pairsDepth(n, 0, nil)
}

// pairsDepth expands each merged mapping once per call: a document that
// merges anchors that merge anchors (an "alias bomb") costs linear time.
func pairsDepth(n *yaml.Node, depth int, seen map[*yaml.Node]bool) []pair {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > maxDepth || seen[n] {
		return nil
	}
	if depth > 0 {
		seen[n] = true
	}
	var own, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag != "!!str" {
			if seen == nil {
				seen = map[*yaml.Node]bool{}
			}
			src := resolve(v)
			if src == nil {
				continue
			}
			if src.Kind == yaml.SequenceNode {
				for _, m := range src.Content {
					merged = append(merged, pairsDepth(m, depth+1, seen)...)
				}
			} else {
				merged = append(merged, pairsDepth(src, depth+1, seen)...)
			}
			continue
		}
		own = append(own, pair{k, v})
	}
	if len(merged) == 0 {
		return own
	}
	keys := make(map[string]bool, len(own)+len(merged))
	out := make([]pair, 0, len(own)+len(merged))
	for _, p := range own {
		keys[p.Key.Value] = true
		out = append(out, p)
	}
	for _, p := range merged {
		if !keys[p.Key.Value] {
			keys[p.Key.Value] = true
			out = append(out, p)
		}
	}
	return out
}

// get returns the entry of mapping n with the given key.
func get(n *yaml.Node, key string) (pair, bool) {
	for _, p := range pairs(n) {
		if p.Key.Value == key {
			return p, true
		}
	}
	return pair{}, false
}

// value returns the resolved value at key of mapping n, or nil.
func value(n *yaml.Node, key string) *yaml.Node {
	p, ok := get(n, key)
	if !ok {
		return nil
	}
	return resolve(p.Value)
}

// items lists a sequence's elements, resolved. A node that is not a
// sequence has none.
func items(n *yaml.Node) []*yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		if c = resolve(c); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// scalar returns n's text when it is a scalar.
func scalar(n *yaml.Node) (string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return "", false
	}
	return n.Value, true
}

// isNull reports whether n is absent or an explicit null.
func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// locate finds the node a dotted loader path names, as far as it can be
// followed: "services.a.ports.0.published" ends at the value of
// `published`. Keys may themselves contain dots (labels, environment), so
// at each mapping the longest run of segments that is a key wins. It
// returns the key node of the last mapping entry followed (where the
// offending option is written) or, for a sequence element, the element.
// Segments the loaders use for "any element" ("[]", "*") match the first
// element whose text contains hint, or else stop the walk. The second
// result is the value reached.
func locate(root *yaml.Node, path []string, hint string) (at, n *yaml.Node) {
	n = resolve(root)
	at = n
	for i := 0; i < len(path) && n != nil; {
		switch n.Kind {
		case yaml.MappingNode:
			ps := pairs(n)
			found := false
			for j := len(path); j > i && !found; j-- {
				key := strings.Join(path[i:j], ".")
				for _, p := range ps {
					if p.Key.Value == key {
						at, n, i, found = p.Key, resolve(p.Value), j, true
						break
					}
				}
			}
			if !found {
				return at, n
			}
		case yaml.SequenceNode:
			seg := path[i]
			idx, err := strconv.Atoi(seg)
			el := items(n)
			switch {
			case err == nil && idx >= 0 && idx < len(el):
				at, n = el[idx], el[idx]
			case (seg == "[]" || seg == "*") && hint != "":
				var hit *yaml.Node
				for _, e := range el {
					if s, ok := scalar(e); ok && strings.Contains(s, hint) {
						hit = e
						break
					}
				}
				if hit == nil {
					return at, n
				}
				at, n = hit, hit
			default:
				return at, n
			}
			i++
		default:
			return at, n
		}
	}
	return at, n
}
