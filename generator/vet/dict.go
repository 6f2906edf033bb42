package vet

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	dockerloader "github.com/docker/cli/cli/compose/loader"
	yaml3 "go.yaml.in/yaml/v3"
	"go.yaml.in/yaml/v4"
)

// parseDict reads the file data as the docker CLI's loader.ParseYAML
// does, from doc, the node tree vet has already parsed, in time linear in
// the file.
// ParseYAML decodes with go-yaml v3, whose duplicate-key check compares
// every key of a mapping with every other: a 4 MB mapping took 20 s.
// Here the duplicates are found with a map, then the tree is decoded with
// go-yaml's v3 defaults but without its own check. TestParseDict proves
// the result equal to ParseYAML's on every file of the tests and corpus.
func parseDict(data []byte, doc *yaml.Node) (map[string]any, error) {
	return parseDictWith(data, doc, widestMapping(doc) <= maxV3Keys)
}

// parseDictWith is parseDict; small says whether the mappings of the file
// are small enough for v3's decoder.
func parseDictWith(data []byte, doc *yaml.Node, small bool) (map[string]any, error) {
	// go-yaml v3's parser accepts less than v4's (":" alone, say), and
	// words its errors its own way: its verdict on the syntax is the one
	// docker stack deploy gives. Parsing into a node is linear; the cost
	// was in decoding.
	var syntax yaml3.Node
	if err := yaml3.Unmarshal(data, &syntax); err != nil {
		return nil, err
	}
	// Where v4 cannot stand in for v3 (the parsers read the file
	// differently; explicit tags, which the decoders do not all read
	// alike; or decoding fails, and the decoders do not fail in the same
	// order), v3's decoder itself answers, when the file's mappings are
	// small enough for it: its time is the sum of the squares of their
	// sizes.
	if !standsIn(&syntax, doc, map[*yaml3.Node]*yaml.Node{}) {
		if small {
			return dockerloader.ParseYAML(data)
		}
		return nil, fmt.Errorf("yaml: a mapping of over %d keys, in a file go-yaml v4 cannot read as v3 does (explicit tags, or syntax they parse differently): too large for v3's decoder, which docker stack deploy uses", maxV3Keys)
	}
	if msgs := duplicateKeys(doc); len(msgs) > 0 {
		if small {
			return dockerloader.ParseYAML(data)
		}
		return nil, errors.New("yaml: unmarshal errors:\n  " + strings.Join(msgs, "\n  "))
	}
	var cfg any
	if err := doc.Load(&cfg, yaml.WithV3Defaults(), yaml.WithUniqueKeys(false)); err != nil {
		if small {
			return dockerloader.ParseYAML(data)
		}
		return nil, v3Error(err)
	}
	if _, ok := cfg.(map[string]any); !ok {
		return nil, errors.New("top-level object must be a mapping")
	}
	return stringKeys(cfg).(map[string]any), nil
}

var (
	v4Line   = regexp.MustCompile(`^yaml: line \d+: `)
	v4MapKey = regexp.MustCompile(`^yaml: cannot use '(.*)' as a map key; try decoding into yaml.Node$`)
)

// v3Error words a decoding error as go-yaml v3 does: without a line (the
// node tree is parsed already, so these are errors of decoding, which v3
// does not position), and with v3's message for a key that is a list or
// a mapping.
func v3Error(err error) error {
	msg := v4Line.ReplaceAllString(err.Error(), "yaml: ")
	msg = v4MapKey.ReplaceAllString(msg, "yaml: invalid map key: $1")
	return errors.New(msg)
}

// maxV3Keys bounds the mappings of a file go-yaml v3's decoder reads.
const maxV3Keys = 1000

// standsIn reports whether go-yaml v3 and v4 parsed a file into the same
// tree, without explicit tags: kinds, resolved tags, values and anchors
// (an alias names the node that corresponds to its target; seen maps
// v3's nodes to v4's). Aliases are not followed, so the time is linear.
func standsIn(a *yaml3.Node, b *yaml.Node, seen map[*yaml3.Node]*yaml.Node) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if int(a.Kind) != int(b.Kind) || a.Value != b.Value || a.ShortTag() != b.ShortTag() || len(a.Content) != len(b.Content) ||
		a.Style&yaml3.TaggedStyle != 0 || b.Style&yaml.TaggedStyle != 0 {
		return false
	}
	seen[a] = b
	if a.Kind == yaml3.AliasNode {
		return a.Alias != nil && b.Alias != nil && seen[a.Alias] == b.Alias
	}
	for i := range a.Content {
		// A "<<" that is not a key (a value, or an item) is a string
		// to v3's decoder, and a merge to v4's, which drops its key.
		if b.Kind != yaml.MappingNode || i%2 == 1 {
			if c := b.Content[i]; c.Kind == yaml.ScalarNode && c.Value == "<<" && isMergeKey(c) {
				return false
			}
		}
		if !standsIn(a.Content[i], b.Content[i], seen) {
			return false
		}
	}
	return true
}

// widestMapping returns the number of keys of the largest mapping of n.
func widestMapping(n *yaml.Node) int {
	w := 0
	if n.Kind == yaml.MappingNode {
		w = len(n.Content) / 2
	}
	for _, c := range n.Content {
		w = max(w, widestMapping(c))
	}
	return w
}

// stringKeys copies maps and lists as ParseYAML's conversion does; an
// empty list becomes a nil one.
func stringKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = stringKeys(e)
		}
		return out
	case []any:
		var out []any
		for _, e := range t {
			out = append(out, stringKeys(e))
		}
		return out
	}
	return v
}

// maxDuplicateMessages bounds the messages about duplicate keys: go-yaml
// names every pair, a number quadratic in the copies of one key.
const maxDuplicateMessages = 100

// duplicateKeys lists go-yaml v3's messages about duplicate mapping keys,
// in its order: the pairs of each mapping as it decodes them (a mapping
// with duplicates is not decoded further; an aliased one is decoded
// wherever it is used). Subtrees without duplicates are skipped, so the
// time is linear in the file plus the messages.
func duplicateKeys(doc *yaml.Node) []string {
	d := &dupFinder{has: map[*yaml.Node]bool{}, active: map[*yaml.Node]bool{}}
	if len(doc.Content) > 0 && d.hasDup(doc.Content[0]) {
		d.walk(doc.Content[0])
	}
	return d.msgs
}

type dupFinder struct {
	has    map[*yaml.Node]bool // memo of hasDup
	active map[*yaml.Node]bool // nodes being visited, to stop at cycles
	msgs   []string
}

// keyID is what go-yaml v3 compares keys by.
type keyID struct {
	kind  yaml.Kind
	value string
}

// ownDups reports whether mapping n repeats a key.
func ownDups(n *yaml.Node) bool {
	seen := make(map[keyID]bool, len(n.Content)/2)
	for i := 0; i < len(n.Content); i += 2 {
		k := keyID{n.Content[i].Kind, n.Content[i].Value}
		if seen[k] {
			return true
		}
		seen[k] = true
	}
	return false
}

// hasDup reports whether decoding n meets a duplicate key.
func (d *dupFinder) hasDup(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	if h, ok := d.has[n]; ok {
		return h
	}
	if d.active[n] {
		return false // a cycle: the decoder reports it
	}
	d.active[n] = true
	h := false
	switch n.Kind {
	case yaml.AliasNode:
		h = d.hasDup(n.Alias)
	case yaml.MappingNode:
		h = ownDups(n)
		fallthrough
	default:
		for _, c := range n.Content {
			if h {
				break
			}
			h = d.hasDup(c)
		}
	}
	delete(d.active, n)
	d.has[n] = h
	return h
}

// walk records the messages of the duplicates under n, in decoding
// order.
func (d *dupFinder) walk(n *yaml.Node) {
	if n == nil || len(d.msgs) >= maxDuplicateMessages || !d.hasDup(n) || d.active[n] {
		return
	}
	d.active[n] = true
	defer delete(d.active, n)
	switch n.Kind {
	case yaml.AliasNode:
		d.walk(n.Alias)
	case yaml.SequenceNode:
		for _, c := range n.Content {
			d.walk(c)
		}
	case yaml.MappingNode:
		if ownDups(n) {
			d.pairs(n)
			return
		}
		var merge *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if isMergeKey(n.Content[i]) {
				merge = n.Content[i+1]
				continue
			}
			d.walk(n.Content[i])
			d.walk(n.Content[i+1])
		}
		d.walk(merge)
	}
}

// pairs records go-yaml v3's message for every pair of equal keys of
// mapping n: for each key, each later copy of it.
func (d *dupFinder) pairs(n *yaml.Node) {
	later := map[keyID][]*yaml.Node{}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		later[keyID{k.Kind, k.Value}] = append(later[keyID{k.Kind, k.Value}], k)
	}
	for i := 0; i < len(n.Content); i += 2 {
		ni := n.Content[i]
		id := keyID{ni.Kind, ni.Value}
		copies := later[id][1:]
		later[id] = copies
		for _, nj := range copies {
			if len(d.msgs) >= maxDuplicateMessages {
				return
			}
			d.msgs = append(d.msgs, fmt.Sprintf("line %d: mapping key %#v already defined at line %d", nj.Line, nj.Value, ni.Line))
		}
	}
}

// isMergeKey is go-yaml v3's test for a merge key.
func isMergeKey(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && (n.Tag == "" || n.Tag == "!" || n.Tag == "!!merge" || n.Tag == "tag:yaml.org,2002:merge")
}
