package vet

import (
	"fmt"

	"go.yaml.in/yaml/v4"

	"github.com/nuvla/nuvlagen/generator/yamldepth"
)

// MaxNesting is how deep a compose file may nest mappings and lists,
// aliases expanded. compose-go's loader costs time quadratic in the depth
// (it splits the path of every node it transforms): 5,000 levels in 10 kB
// took 24 s. Real compose files nest a dozen levels.
const MaxNesting = yamldepth.Max

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

// tooDeep reports where doc nests deeper than MaxNesting, or nil.
func tooDeep(name string, doc *yaml.Node) *TooDeepError {
	at, alias := yamldepth.Find(doc, MaxNesting)
	if at == nil {
		return nil
	}
	e := &TooDeepError{File: name, Line: at.Line, Column: at.Column}
	if alias != nil {
		e.Alias, e.Line, e.Column = alias.Value, alias.Line, alias.Column
	}
	return e
}
