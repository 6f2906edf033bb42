// Package diag formats errors for people: one line each, position first
// (file:line:col: message), with paths relative to the working directory.
package diag

import (
	goerrors "errors"
	"fmt"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
)

// Lines formats err as one line per problem. CUE errors carry positions in
// both the site file and the model; the site file's comes first because
// that is where the operator has to look, and the model's rule follows in
// parentheses. cwd makes absolute paths relative where possible.
func Lines(err error, cwd string) []string {
	if err == nil {
		return nil
	}
	list := errors.Errors(err)
	if len(list) == 0 {
		return []string{err.Error()}
	}
	context := wrapContext(err)
	var entries []*entry
	for _, e := range list {
		format, args := e.Msg()
		k := classify(format, args)
		// A disjunction's summary only announces its members, listed next.
		if k.kind == summary {
			continue
		}
		msg := fmt.Sprintf(format, args...)
		if msg == "" {
			msg = e.Error()
		}
		if k.kind == incomplete {
			msg = incompleteMsg(k.constraint)
		}
		en := newEntry(displayPath(e.Path()), context+msg, errors.Positions(e), cwd)
		en.kind, en.alt, en.value = k.kind, k.alt, k.value
		entries = append(entries, en)
	}
	entries = mergeDisjunctions(entries)

	// One problem per field and place: a value failing two constraints,
	// or reached through two references, is one mistake. The reason that
	// names the broken rule beats "conflicting values", which for a field
	// with a default only says the value is not the default.
	var order []string
	best := map[string]*entry{}
	for _, e := range entries {
		key := e.where + "\x00" + e.path
		if e.path == "" {
			// Errors of nuvlagen's own checks carry no path: each is distinct.
			key += "\x00" + e.msg
		}
		cur, ok := best[key]
		switch {
		case !ok:
			order = append(order, key)
			best[key] = e
		case cur.kind == conflict && e.kind != conflict:
			best[key] = e
		}
	}
	// A field whose constraint says in words what it wants (the model's
	// error("...") alternatives) is reported once, in those words: the
	// raw bound it failed on is the same mistake seen from the regex.
	worded := map[string]bool{}
	for _, key := range order {
		if e := best[key]; e.path != "" && e.kind == other {
			worded[e.path] = true
		}
	}
	var lines []string
	for _, key := range order {
		if e := best[key]; (worded[e.path] && e.kind == outOfBound) || repeats(e, order, best) {
			continue
		}
		lines = append(lines, best[key].String())
	}
	if len(lines) == 0 {
		return []string{err.Error()}
	}
	return lines
}

// wrapContext is what fmt.Errorf("site %s, stack %s: %w", ...) wrappers
// said around the CUE error inside err: errors.Errors returns the CUE
// errors alone, and the context would be lost. It goes after the
// position, before each message.
func wrapContext(err error) string {
	if _, ok := err.(errors.Error); ok {
		return ""
	}
	var inner errors.Error
	if !goerrors.As(err, &inner) {
		return ""
	}
	outer, in := err.Error(), inner.Error()
	if !strings.HasSuffix(outer, in) {
		return ""
	}
	return strings.TrimSuffix(outer, in)
}

// repeats reports whether e only repeats another error of the same field
// with what it did to an expression around it ("invalid left-hand value
// to '=~' (type _|_): sites.h.edge: conflicting values ..."): a bad value
// is reported once.
func repeats(e *entry, order []string, best map[string]*entry) bool {
	if e.path == "" {
		return false
	}
	for _, key := range order {
		o := best[key]
		if o != e && o.path == e.path && len(e.msg) > len(o.msg) && strings.Contains(e.msg, o.msg) {
			return true
		}
	}
	return false
}

type entry struct {
	where string // file:line:col, or "" when unknown
	path  string
	msg   string
	kind  kind
	// alt and value are a conflict's operands: the model's alternative
	// and the value given.
	alt, value string
	rule       string // the model's position, when the site's comes first
}

func newEntry(path, msg string, pos []token.Pos, cwd string) *entry {
	e := &entry{path: path, msg: msg}
	var model []string
	for _, p := range pos {
		if !p.IsValid() {
			continue
		}
		if isModel(p.Filename()) {
			model = append(model, posString(p, cwd))
		} else if e.where == "" {
			e.where = posString(p, cwd)
		}
	}
	switch {
	case e.where == "" && len(model) > 0:
		e.where = model[0]
	case len(model) > 0:
		e.rule = model[0]
	}
	return e
}

func (e *entry) String() string {
	var b strings.Builder
	if e.where != "" {
		b.WriteString(e.where + ": ")
	}
	if e.path != "" {
		b.WriteString(e.path + ": ")
	}
	b.WriteString(e.msg)
	if e.rule != "" {
		fmt.Fprintf(&b, " (rule at %s)", e.rule)
	}
	return b.String()
}

// kind is what a CUE error says, told by its format string (errors.Msg),
// which is CUE's code, not by the formatted text.
type kind int

const (
	other      kind = iota
	summary         // "N errors in empty disjunction:", a heading
	conflict        // "conflicting values A and B"
	outOfBound      // "invalid value V (out of bound C)"
	incomplete      // "incomplete value C": nothing set where C is wanted
)

type classified struct {
	kind       kind
	alt, value string // conflict's operands
	constraint string // incomplete's
}

func classify(format string, args []any) classified {
	switch {
	case strings.HasSuffix(format, "errors in empty disjunction:"):
		return classified{kind: summary}
	case strings.HasPrefix(format, "conflicting values %s and %s") && len(args) >= 2:
		return classified{kind: conflict, alt: fmt.Sprint(args[0]), value: fmt.Sprint(args[1])}
	case strings.HasPrefix(format, "invalid value %v (out of bound"):
		return classified{kind: outOfBound}
	case strings.HasPrefix(format, "incomplete value "):
		return classified{kind: incomplete, constraint: strings.TrimPrefix(fmt.Sprintf(format, args...), "incomplete value ")}
	}
	return classified{}
}

// incompleteMsg says CUE's "incomplete value C" in an operator's words.
func incompleteMsg(c string) string {
	if strings.HasPrefix(c, "=~") || strings.HasPrefix(c, "!~") {
		// A pattern says nothing a person can act on: the field's
		// worded constraint speaks when a wrong value is given.
		return "no value set; this field is required"
	}
	return "no value set; it must be " + c
}

// mergeDisjunctions turns CUE's one-conflict-per-alternative reports
// ("conflicting values "host" and "edge"", "... "target" and "edge"") for
// one field into a single line listing the alternatives.
func mergeDisjunctions(entries []*entry) []*entry {
	type group struct {
		first *entry
		alts  []string
		value string
		mixed bool
	}
	groups := map[string]*group{}
	for _, e := range entries {
		if e.kind != conflict {
			continue
		}
		key := e.where + "\x00" + e.path
		g := groups[key]
		if g == nil {
			g = &group{first: e, value: e.value}
			groups[key] = g
		}
		if e.value != g.value {
			g.mixed = true
		}
		if !contains(g.alts, e.alt) {
			g.alts = append(g.alts, e.alt)
		}
	}
	var out []*entry
	for _, e := range entries {
		g := groups[e.where+"\x00"+e.path]
		if g == nil || g.mixed || len(g.alts) < 2 || e.kind != conflict {
			out = append(out, e)
			continue
		}
		if g.first == e {
			e.msg = fmt.Sprintf("%s is not allowed; want one of %s", g.value, strings.Join(g.alts, ", "))
			e.rule = ""
			out = append(out, e)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// isModel reports whether a file is part of the model's schema rather
// than a site (nuvlacue owns how model files are named).
func isModel(name string) bool { return nuvlacue.IsSchemaFile(filepath.ToSlash(name)) }

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
// the author of a site.
func displayPath(path []string) string {
	if len(path) > 0 && path[0] == "#Site" {
		path = path[1:]
	}
	return strings.Join(path, ".")
}
