package vet

import (
	"fmt"

	"go.yaml.in/yaml/v4"

	"github.com/nuvla/nuvlagen/generator/yamldepth"
)

// vet refuses the files whose shape would make a loader's time grow
// faster than the file: the loaders are libraries nuvlagen cannot change.

// MaxNesting is how deep a compose file may nest mappings and lists,
// aliases expanded. compose-go's loader costs time quadratic in the depth
// (it splits the path of every node it transforms): 5,000 levels in 10 kB
// took 24 s. Real compose files nest a dozen levels.
const MaxNesting = yamldepth.Max

// MaxCommand is the longest command or entrypoint written as one string.
// Both loaders split it into words with go-shellwords, which builds each
// word a character at a time: time quadratic in a word's length (a
// 100 kB word took 3.9 s, a 3 MB one minutes).
const MaxCommand = 16 << 10

// LimitError says vet did not check a file: it nests deeper than
// MaxNesting, or has a command longer than MaxCommand.
type LimitError struct {
	File         string
	Line, Column int
	Msg          string // what, without the position
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// CheckLimits parses data and reports a *LimitError when vet would refuse
// it, and nil otherwise (also when it is not YAML: File says so).
func CheckLimits(name string, data []byte) error {
	_, err := checkLimits(name, data)
	return err
}

// checkLimits is CheckLimits, and also returns the node tree it parsed
// (nil when data is not YAML).
func checkLimits(name string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil, nil
	}
	if e := overLimits(name, &doc); e != nil {
		return nil, e
	}
	return &doc, nil
}

// overLimits reports the first limit doc goes over, or nil.
func overLimits(name string, doc *yaml.Node) *LimitError {
	if at, alias := yamldepth.Find(doc, MaxNesting); at != nil {
		e := &LimitError{File: name, Line: at.Line, Column: at.Column, Msg: fmt.Sprintf("nesting deeper than %d levels; not checked", MaxNesting)}
		if alias != nil {
			e.Line, e.Column = alias.Line, alias.Column
			e.Msg = fmt.Sprintf("nesting deeper than %d levels (with alias *%s expanded); not checked", MaxNesting, alias.Value)
		}
		return e
	}
	if n := yamldepth.LongCommand(doc, MaxCommand); n != nil {
		return &LimitError{File: name, Line: n.Line, Column: n.Column,
			Msg: fmt.Sprintf("a command of %d bytes, longer than the %d the loaders split into words in reasonable time; not checked", len(n.Value), MaxCommand)}
	}
	return nil
}
