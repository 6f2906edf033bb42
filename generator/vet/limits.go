package vet

import (
	"fmt"

	"go.yaml.in/yaml/v4"
)

// MaxNesting is how deep a compose file may nest mappings and lists,
// aliases expanded. compose-go's loader costs time quadratic in the depth
// (it splits the path of every node it transforms): 5,000 levels in 10 kB
// took 24 s. Real compose files nest a dozen levels.
const MaxNesting = 100

// TooDeepError says a file nests deeper than MaxNesting: vet does not
// check it.
type TooDeepError struct {
	File         string
	Line, Column int
	// Alias is set when the depth comes from expanding an alias.
	Alias string
}

func (e *TooDeepError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.message())
}

// message is the error without its position.
func (e *TooDeepError) message() string {
	msg := fmt.Sprintf("nesting deeper than %d levels", MaxNesting)
	if e.Alias != "" {
		msg += fmt.Sprintf(" (with alias *%s expanded)", e.Alias)
	}
	return msg + "; not checked"
}

// CheckNesting parses data and reports a *TooDeepError when it nests
// deeper than MaxNesting, and nil otherwise (also when it is not YAML:
// File says so).
func CheckNesting(name string, data []byte) error {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	if e := tooDeep(name, &doc); e != nil {
		return e
	}
	return nil
}

// tooDeep measures the height of every node once (an alias counts as the
// node it names), so the time is linear in the file however the aliases
// are used; then it follows the deepest path down to the level past the
// limit, to point at it.
func tooDeep(name string, doc *yaml.Node) *TooDeepError {
	h := map[*yaml.Node]int{}
	var height func(n *yaml.Node) int
	height = func(n *yaml.Node) int {
		if n == nil {
			return 0
		}
		if v, ok := h[n]; ok {
			return v
		}
		h[n] = 0 // a cycle through an alias: the loaders refuse it
		v := 0
		if n.Kind == yaml.AliasNode {
			v = height(n.Alias)
		} else {
			for _, c := range n.Content {
				v = max(v, height(c))
			}
			if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
				v++
			}
		}
		h[n] = v
		return v
	}
	// The document node's height is the file's nesting depth; its limit
	// is checked before the recursion above could be deep: go-yaml's
	// parser stops at 10,000 levels, a depth Go's stack takes easily.
	if height(doc) <= MaxNesting {
		return nil
	}
	e := &TooDeepError{File: name}
	n, level := doc, 0
	// Each step enters a collection, an alias or a document; the bound
	// only guards against a cycle of aliases.
	for range 4*MaxNesting + 8 {
		if n.Kind == yaml.AliasNode {
			if e.Alias == "" {
				e.Alias, e.Line, e.Column = n.Value, n.Line, n.Column
			}
			n = n.Alias
			continue
		}
		if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
			if level++; level > MaxNesting {
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
	if e.Alias == "" {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}
