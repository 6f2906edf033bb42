// Package yamldepth finds where a YAML node tree nests deeper than a
// limit, aliases expanded, in time linear in the tree, and commands longer
// than a limit. vet and diff refuse such files: compose-go's loader costs
// time quadratic in the depth, and go-shellwords in a command's length.
package yamldepth

import "go.yaml.in/yaml/v4"

// Max is the nesting depth vet and diff accept: real compose files nest a
// dozen levels.
const Max = 100

// Find returns the first mapping or sequence more than limit levels deep
// in n, along the deepest path, and the first alias on that path (nil
// when the depth is written out), or nil, nil when n nests limit levels or
// fewer. Each node's height is measured once (an alias counts as the node
// it names), however often aliases repeat it; a cycle of aliases counts
// as nothing (the loaders refuse it).
func Find(n *yaml.Node, limit int) (at, alias *yaml.Node) {
	h := map[*yaml.Node]int{}
	var height func(n *yaml.Node) int
	height = func(n *yaml.Node) int {
		if n == nil {
			return 0
		}
		if v, ok := h[n]; ok {
			return v
		}
		h[n] = 0 // while measuring: a cycle
		v := 0
		if n.Kind == yaml.AliasNode {
			v = height(n.Alias)
		} else {
			for _, c := range n.Content {
				v = max(v, height(c))
			}
			if collection(n) {
				v++
			}
		}
		h[n] = v
		return v
	}
	// go-yaml's parser stops at 10,000 levels, a recursion Go's stack
	// takes easily.
	if height(n) <= limit {
		return nil, nil
	}
	level := 0
	// Each step enters a collection, an alias or a document; the bound
	// only guards against a cycle of aliases.
	for range 4*limit + 8 {
		if n.Kind == yaml.AliasNode {
			if alias == nil {
				alias = n
			}
			n = n.Alias
			continue
		}
		if collection(n) {
			if level++; level > limit {
				break
			}
		}
		var next *yaml.Node
		for _, c := range n.Content {
			if next == nil || h[c] > h[next] {
				next = c
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return n, alias
}

func collection(n *yaml.Node) bool {
	return n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode
}

// LongCommand returns the first string value of a command or entrypoint
// key, at any depth (hooks have commands too), longer than limit, or nil.
// The tree is walked as written: an alias repeats a value already seen.
func LongCommand(n *yaml.Node, limit int) *yaml.Node {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode && len(v.Value) > limit && (k.Value == "command" || k.Value == "entrypoint") {
				return v
			}
		}
	}
	for _, c := range n.Content {
		if found := LongCommand(c, limit); found != nil {
			return found
		}
	}
	return nil
}
