package diff

import (
	"bytes"
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/yamldepth"
)

// Files are compared semantically only within limits that keep the time
// linear in their size; beyond them, a file is shown as text, with a note
// saying why.

// maxComposeKeys bounds the keys of any one mapping of a compose file
// read with compose-go: its YAML decoding checks for duplicate keys by
// comparing every key of a mapping with every other, 55 s for a 1 MB
// mapping, and offers no way around it. Real compose files have tens.
const maxComposeKeys = 1000

// maxCommand is the longest command or entrypoint string of a compose
// file read with compose-go: it splits them into words with
// go-shellwords, in time quadratic in a word's length.
const maxCommand = 16 << 10

// loadCompose loads a compose file with compose-go, within the limits.
func loadCompose(rel string, data []byte) (*types.Project, error) {
	for _, doc := range parseNodes(data) {
		if err := checkLimits(doc, maxComposeKeys); err != nil {
			return nil, fmt.Errorf("not compared as a compose file: %v", err)
		}
		if n := yamldepth.LongCommand(doc, maxCommand); n != nil {
			return nil, fmt.Errorf("not compared as a compose file: line %d, column %d: a command of %d bytes, longer than the %d compose-go splits into words in reasonable time", n.Line, n.Column, len(n.Value), maxCommand)
		}
	}
	p, err := compose.Project(stackOf(rel), data)
	if err != nil {
		return nil, fmt.Errorf("not a valid compose file: %v", err)
	}
	return p, nil
}

// parseNodes parses the documents of data, as compose-go reads them, up
// to the end or to a syntax error, which is left for the loader to report.
func parseNodes(data []byte) []*yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return docs
		}
		docs = append(docs, &doc)
	}
}

// checkLimits reports a document nested deeper than yamldepth.Max or, if
// maxKeys > 0, holding a mapping of more than maxKeys keys.
func checkLimits(doc *yaml.Node, maxKeys int) error {
	if at, alias := yamldepth.Find(doc, yamldepth.Max); at != nil {
		if alias != nil {
			return fmt.Errorf("line %d, column %d: nesting deeper than %d levels with alias *%s expanded", alias.Line, alias.Column, yamldepth.Max, alias.Value)
		}
		return fmt.Errorf("line %d, column %d: nesting deeper than %d levels", at.Line, at.Column, yamldepth.Max)
	}
	if maxKeys <= 0 {
		return nil
	}
	// The tree as written: aliases repeat mappings it holds.
	var big *yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if big != nil {
			return
		}
		if n.Kind == yaml.MappingNode && len(n.Content)/2 > maxKeys {
			big = n
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(doc)
	if big != nil {
		return fmt.Errorf("line %d, column %d: a mapping of %d keys, more than the %d compose-go reads in reasonable time", big.Line, big.Column, len(big.Content)/2, maxKeys)
	}
	return nil
}

// firstDuplicate returns go-yaml's message for the first duplicate key
// of any mapping under n, found with a map per mapping: go-yaml's own
// check compares every pair of keys.
func firstDuplicate(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		type key struct {
			kind  yaml.Kind
			value string
		}
		seen := make(map[key]*yaml.Node, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if first, ok := seen[key{k.Kind, k.Value}]; ok {
				return fmt.Errorf("unmarshal errors:\n  line %d: mapping key %q already defined at line %d", k.Line, k.Value, first.Line)
			}
			seen[key{k.Kind, k.Value}] = k
		}
	}
	for _, c := range n.Content {
		if err := firstDuplicate(c); err != nil {
			return err
		}
	}
	return nil
}
