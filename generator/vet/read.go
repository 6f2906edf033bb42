package vet

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/nuvla/nuvlagen/generator/inputfile"
)

// DefaultPatterns are the file names vet looks for in a directory (glob
// patterns of a base name, as path.Match reads them): the names Compose
// looks for (compose.yaml, docker-compose.yml, their overrides) and
// those stacks are commonly given (stack.yml, docker-stack.yml,
// prod-stack.yaml).
var DefaultPatterns = []string{"*compose*.yml", "*compose*.yaml", "*stack*.yml", "*stack*.yaml"}

// Read reads what vet checks: the files named, and the files under the
// directories named whose base name matches one of patterns
// (DefaultPatterns when empty), each named relative to cwd, at most max
// bytes. It returns those it read and vet accepts, and, in order, why
// others are not checked: directories not searched
// (*inputfile.DirError), files that cannot be read or that vet refuses
// (see CheckLimits).
func Read(cwd string, paths, patterns []string, max int64) ([]Input, []error) {
	if len(patterns) == 0 {
		patterns = DefaultPatterns
	}
	files, errs := inputfile.Collect(paths, describePatterns(patterns), func(name string) bool {
		return slices.ContainsFunc(patterns, func(p string) bool { ok, _ := path.Match(p, name); return ok })
	}, max)
	var inputs []Input
	kept := 0
	for _, f := range files {
		name := inputfile.DisplayName(cwd, f.Path)
		err := f.Err
		var doc *yaml.Node
		if err == nil {
			doc, err = checkLimits(name, f.Data)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		in := Input{Name: name, Data: f.Data}
		// The tree parsed for the limits is the one File would parse
		// again: it is kept for Files, up to a total of maxKept bytes of
		// files (a tree takes some ten times its file's size).
		if doc != nil && kept+len(f.Data) <= maxKept {
			in.doc = doc
			kept += len(f.Data)
		}
		inputs = append(inputs, in)
	}
	return inputs, errs
}

// maxKept bounds the size of the files whose node trees Read keeps.
const maxKept = 32 << 20

// describePatterns lists patterns for a message: "a, b or c".
func describePatterns(patterns []string) string {
	if len(patterns) == 1 {
		return patterns[0]
	}
	return strings.Join(patterns[:len(patterns)-1], ", ") + " or " + patterns[len(patterns)-1]
}

// ParsePatterns parses the values of --match, glob patterns of a file's
// base name separated by commas.
func ParsePatterns(lists []string) ([]string, error) {
	var out []string
	for _, list := range lists {
		for _, p := range strings.Split(list, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if strings.Contains(p, "/") {
				return nil, fmt.Errorf("pattern %q: a pattern matches a file's base name, without a directory", p)
			}
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("pattern %q: %w", p, err)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// ParseDisabled parses the values of --disable, rule ids separated by
// commas, into Options.Disabled; an unknown rule is an error.
func ParseDisabled(lists []string) (map[string]bool, error) {
	disabled := map[string]bool{}
	for _, list := range lists {
		for _, id := range strings.Split(list, ",") {
			id = strings.TrimSpace(id)
			if _, ok := Lookup(id); !ok {
				return nil, fmt.Errorf("unknown rule %q (docs/rules.md lists them)", id)
			}
			disabled[id] = true
		}
	}
	return disabled, nil
}
