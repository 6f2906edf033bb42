package vet

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/nuvla/nuvlagen/generator/inputfile"
)

// Read reads what vet checks: the files named, and the compose files
// (*compose*.yml, *compose*.yaml) under the directories named, each
// named relative to cwd, at most max bytes. It returns those it read and
// vet accepts, and, in order, why others are not checked: directories
// not searched (*inputfile.DirError), files that cannot be read or that
// vet refuses (see CheckLimits).
func Read(cwd string, paths []string, max int64) ([]Input, []error) {
	files, errs := inputfile.Collect(paths, "*compose*.yml or *compose*.yaml", isComposeName, max)
	var inputs []Input
	for _, f := range files {
		name := inputfile.DisplayName(cwd, f.Path)
		err := f.Err
		if err == nil {
			err = CheckLimits(name, f.Data)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		inputs = append(inputs, Input{Name: name, Data: f.Data})
	}
	return inputs, errs
}

// isComposeName matches *compose*.yml and *compose*.yaml.
func isComposeName(name string) bool {
	ext := filepath.Ext(name)
	return (ext == ".yml" || ext == ".yaml") && strings.Contains(strings.TrimSuffix(name, ext), "compose")
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
