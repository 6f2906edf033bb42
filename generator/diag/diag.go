// Package diag formats errors for people: one line each, position first
// (file:line:col: message), with paths relative to the working directory.
package diag

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"
)

// Lines formats err as one line per error. CUE errors carry positions in
// both the site file and the model; the site file's comes first because
// that is where the operator has to look, and the model's rule follows
// in parentheses. cwd makes absolute paths relative where possible.
func Lines(err error, cwd string) []string {
	if err == nil {
		return nil
	}
	list := errors.Errors(err)
	if len(list) == 0 {
		return []string{err.Error()}
	}
	type entry struct {
		path, msg string
		pos       []token.Pos
	}
	var entries []entry
	for _, e := range list {
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		// A disjunction's summary repeats its members, listed separately.
		if strings.HasSuffix(msg, "errors in empty disjunction:") || strings.HasSuffix(msg, "errors in empty disjunction") {
			continue
		}
		entries = append(entries, entry{path: displayPath(e.Path()), msg: msg, pos: errors.Positions(e)})
	}
	// Where a value fails its constraint, CUE also reports it conflicting
	// with the field's default: noise next to the real reason.
	byPath := map[string]bool{}
	for _, e := range entries {
		if !strings.HasPrefix(e.msg, "conflicting values") {
			byPath[e.path] = true
		}
	}
	var lines []string
	for _, e := range entries {
		if strings.HasPrefix(e.msg, "conflicting values") && byPath[e.path] && len(entries) > 1 {
			continue
		}
		lines = append(lines, format(e.path, e.msg, e.pos, cwd))
	}
	lines = slices.Compact(lines)
	if len(lines) == 0 {
		return []string{err.Error()}
	}
	return lines
}

func format(path, msg string, pos []token.Pos, cwd string) string {
	var primary token.Pos
	var model []string
	for _, p := range pos {
		if !p.IsValid() {
			continue
		}
		if isModel(p.Filename()) {
			model = append(model, posString(p, cwd))
			continue
		}
		if !primary.IsValid() {
			primary = p
		}
	}
	var b strings.Builder
	switch {
	case primary.IsValid():
		b.WriteString(posString(primary, cwd))
		b.WriteString(": ")
	case len(model) > 0:
		b.WriteString(model[0])
		b.WriteString(": ")
		model = model[1:]
	}
	if path != "" {
		b.WriteString(path)
		b.WriteString(": ")
	}
	b.WriteString(msg)
	if len(model) > 0 {
		fmt.Fprintf(&b, " (rule at %s)", strings.Join(slices.Compact(model), ", "))
	}
	return b.String()
}

// isModel reports whether a file is part of the embedded model's schema
// (cue/*.cue) rather than a site: the examples in cue/sites are sites.
func isModel(name string) bool {
	dir, _ := filepath.Split(filepath.ToSlash(name))
	return dir == "cue/"
}

func posString(p token.Pos, cwd string) string {
	name := p.Filename()
	if filepath.IsAbs(name) && cwd != "" {
		if rel, err := filepath.Rel(cwd, name); err == nil && !strings.HasPrefix(rel, "..") {
			name = rel
		}
	}
	return fmt.Sprintf("%s:%d:%d", name, p.Line(), p.Column())
}

// displayPath drops the schema's definition name, which means nothing to
// the author of a site, and quotes only what needs quoting.
func displayPath(path []string) string {
	if len(path) > 0 && path[0] == "#Site" {
		path = path[1:]
	}
	return strings.Join(path, ".")
}
