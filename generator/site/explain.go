package site

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
)

// explain.go turns the errors CUE reports for one site into the errors its
// author reads. CUE reports what the evaluator saw: every branch of a
// failed disjunction (the default the value replaced among them), every
// value that fails because a value it reads is wrong, constraints as the
// schema spells them, and positions in the model as often as in the file.
// The rules below keep the cause and say it in the file's terms. Each
// rule is one function; explain applies them in this order:
//
//  1. headings: "N errors in empty disjunction:" only announces the
//     branches' errors, which follow it.
//  2. branches: at one field, a branch that failed only because another
//     branch was taken is no error of the file: the default the value
//     replaced ("conflicting values <default> and <value>", "incompatible
//     list lengths"), and the message of a definition the value satisfies
//     (its error() is reported because it is a branch that always fails).
//     A conflict with every branch of an enumeration is one error, which
//     lists them.
//  3. one cause per field: a definition's own message (the value is not
//     a domain, not a CIDR...) comes before the relations it also breaks
//     (two networks with one name), and a worded message before CUE's raw
//     terms.
//  4. derived values: an error that points at no token of the file is
//     about a value the model derives (a default built from the domain,
//     ports kept out of the ephemeral range); when an error points at a
//     token of the file, that is its cause. A field the file must set and
//     does not is kept: it has no token.
//  5. unknown fields: a field the schema has for the other kind of site
//     is not an error while the kind is wrong; one the schema never has
//     there is named with the nearest allowed names ("did you mean").
//  6. words: CUE's remaining terms in plain words; no pattern is shown.
//
// (CUE reports nothing inside a value of the wrong kind, so an error
// below a wrong field needs no rule of its own.)
//
// Every error kept points at the file's token (the value, else the field)
// and, when the model has one, at the rule that refused it.

// problem is one explained error: a CUE error whose position is the
// file's token and whose only input position is the model's rule.
type problem struct {
	pos, rule token.Pos
	path      []string
	format    string
	args      []any
}

func (p *problem) Position() token.Pos { return p.pos }
func (p *problem) InputPositions() []token.Pos {
	if p.rule.IsValid() {
		return []token.Pos{p.rule}
	}
	return nil
}
func (p *problem) Path() []string       { return p.path }
func (p *problem) Msg() (string, []any) { return p.format, p.args }
func (p *problem) Error() string {
	msg := fmt.Sprintf(p.format, p.args...)
	if len(p.path) == 0 {
		return msg
	}
	return strings.Join(p.path, ".") + ": " + msg
}

// what an error says, told by its format string (CUE's code), not its text.
type what int

const (
	worded      what = iota // an error("...") of the model, or nuvlagen's own
	heading                 // "N errors in empty disjunction:"
	conflict                // "conflicting values A and B"
	mismatch                // "conflicting values A and B (mismatched types K and L)"
	lengths                 // "incompatible list lengths (M and N)"
	outOfBound              // "invalid value V (out of bound C)"
	unsatisfied             // "invalid value V (does not satisfy F)"
	notAllowed              // "field not allowed"
	incomplete              // "incomplete value C", "no value set"
	evaluator               // any other message of the evaluator
)

// finding is one CUE error as the rules see it.
type finding struct {
	err  errors.Error
	path []string // inside the site, unquoted
	key  string   // path joined, the field it is about
	what what
	args []any
	// inFile is the error's first position in the site's file, rule its
	// first in the model.
	inFile, rule token.Pos
	drop         bool
	msg          string // the message, when a rule rewrote it
}

// explainer holds what the rules consult about one site.
type explainer struct {
	l    *Loader
	site *Site     // for positions and paths
	own  cue.Value // the site as its file writes it, without the model
	in   cue.Value // the site as #SiteInput, when the model has it
	// kind is the site's kind when the file gives a valid one.
	kind string
}

func (l *Loader) explainer(loc *Site, own, in cue.Value) *explainer {
	x := &explainer{l: l, site: loc, own: own, in: in}
	if k, err := own.LookupPath(cue.ParsePath("kind")).String(); err == nil && (k == KindHost || k == KindTarget) {
		x.kind = k
	}
	return x
}

// explain applies the rules to err, a site's CUE errors.
func (x *explainer) explain(err error) errors.Error {
	if err == nil {
		return nil
	}
	var fs []*finding
	for _, e := range errors.Errors(err) {
		fs = append(fs, x.finding(e))
	}
	for _, rule := range []func([]*finding){x.headings, x.branches, x.oneCause, x.derived, x.unknownFields, x.words} {
		rule(fs)
		fs = slices.DeleteFunc(fs, func(f *finding) bool { return f.drop })
	}
	var out errors.Error
	seen := map[string]bool{}
	for _, f := range fs {
		p := x.problem(f)
		// One line per field, place and message.
		k := fmt.Sprint(p.pos, "\x00", f.key, "\x00", p.Error())
		if seen[k] {
			continue
		}
		seen[k] = true
		out = errors.Append(out, p)
	}
	return out
}

func (x *explainer) finding(e errors.Error) *finding {
	format, args := e.Msg()
	f := &finding{err: e, path: x.site.relPath(e.Path()), args: args}
	f.key = strings.Join(f.path, ".")
	switch {
	case strings.HasSuffix(format, "errors in empty disjunction:"):
		f.what = heading
	case strings.HasPrefix(format, "conflicting values %s and %s (mismatched types"):
		f.what = mismatch
	case strings.HasPrefix(format, "conflicting values %s and %s"):
		f.what = conflict
	case strings.HasPrefix(format, "incompatible list lengths"):
		f.what = lengths
	case strings.HasPrefix(format, "invalid value %v (out of bound"):
		f.what = outOfBound
	case strings.HasPrefix(format, "invalid value %s (does not satisfy"), strings.HasPrefix(format, "invalid value %v (does not satisfy"):
		f.what = unsatisfied
	case format == "field not allowed":
		f.what = notAllowed
	case strings.HasPrefix(format, "incomplete value"), strings.HasPrefix(format, "non-concrete value"):
		f.what = incomplete
	case isEvaluatorFormat(format):
		f.what = evaluator
	default:
		// error("...") gives "%s", an interpolated one its own format.
		f.what = worded
	}
	// In CUE's order, not errors.Positions' (sorted by offset): the
	// operands come first, the comprehensions around them after.
	for _, p := range append([]token.Pos{e.Position()}, e.InputPositions()...) {
		switch {
		case p.Filename() == x.site.File:
			if !f.inFile.IsValid() {
				f.inFile = p
			}
		case isModelPos(p):
			if !f.rule.IsValid() {
				f.rule = p
			}
		}
	}
	return f
}

// isEvaluatorFormat tells the evaluator's own messages from the model's
// error("...") ones: those start with the evaluator's words.
func isEvaluatorFormat(format string) bool {
	for _, p := range []string{"invalid ", "incompatible ", "non-concrete ", "cannot ", "undefined ", "reference ", "cycle ", "structural cycle", "value ", "index ", "unsupported "} {
		if strings.HasPrefix(format, p) {
			return true
		}
	}
	return false
}

// isModelPos reports whether p is in one of the model's schema files.
func isModelPos(p token.Pos) bool {
	return p.IsValid() && nuvlacue.IsSchemaFile(filepath.ToSlash(p.Filename()))
}

// byField groups the findings by the field they are about.
func byField(fs []*finding) map[string][]*finding {
	m := map[string][]*finding{}
	for _, f := range fs {
		m[f.key] = append(m[f.key], f)
	}
	return m
}

// Rule 1.
func (x *explainer) headings(fs []*finding) {
	for _, f := range fs {
		f.drop = f.what == heading
	}
}

// Rule 2.
func (x *explainer) branches(fs []*finding) {
	for _, group := range byField(fs) {
		var conflicts []*finding
		other := false
		for _, f := range group {
			switch f.what {
			case conflict, lengths:
				conflicts = append(conflicts, f)
			case worded:
				if x.satisfiesDefinition(f) {
					f.drop = true
				} else {
					other = true
				}
			default:
				other = true
			}
		}
		// A list's length against its default's is no error when an
		// entry is the cause (["rw;x"] for three default options).
		if !other && slices.ContainsFunc(conflicts, func(f *finding) bool { return f.what == lengths }) {
			other = slices.ContainsFunc(fs, func(d *finding) bool {
				return d.what != lengths && d.what != conflict && d.what != heading && len(d.path) > len(group[0].path) && slices.Equal(d.path[:len(group[0].path)], group[0].path)
			})
		}
		if other {
			for _, f := range conflicts {
				f.drop = true
			}
			continue
		}
		// Only conflicts: the value matched none of an enumeration's
		// members (kind, role, tls.mode...), one conflict each.
		var alts []string
		var value string
		for _, f := range conflicts {
			if f.what != conflict || len(f.args) < 2 {
				continue
			}
			alt, v := fmt.Sprint(f.args[0]), fmt.Sprint(f.args[1])
			if value == "" {
				value = v
			}
			if v == value && !slices.Contains(alts, alt) {
				alts = append(alts, alt)
			}
		}
		if len(alts) < 2 {
			continue
		}
		slices.Sort(alts)
		for i, f := range conflicts {
			if i > 0 {
				f.drop = true
				continue
			}
			f.what = worded
			f.msg = fmt.Sprintf("%s is not allowed; want one of %s", value, strings.Join(alts, ", "))
			if s := nearest(unquoteAll([]string{value})[0], unquoteAll(alts)); s != "" {
				f.msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			// The members are listed: no one line of the model is the rule.
			f.rule = token.NoPos
		}
	}
}

// satisfiesDefinition reports whether f is the message of a scalar
// definition of the model (#Domain, #CIDR...) that the file's value at
// f's field satisfies: a branch, not the cause.
func (x *explainer) satisfiesDefinition(f *finding) bool {
	def := x.l.definitionAt(f.err.Position())
	if def == "" {
		return false
	}
	d := x.l.schema.LookupPath(cue.MakePath(cue.Def(def)))
	v := x.ownAt(f.path)
	if !v.Exists() || v.Validate(cue.Concrete(true)) != nil {
		return false
	}
	return d.Unify(v).Validate(cue.Concrete(true)) == nil
}

// Rule 3.
func (x *explainer) oneCause(fs []*finding) {
	for _, group := range byField(fs) {
		var definition, words bool
		for _, f := range group {
			if f.what == worded {
				words = true
				if x.l.definitionAt(f.err.Position()) != "" { // a type's message
					definition = true
				}
			}
		}
		for _, f := range group {
			switch {
			case f.what != worded && f.what != notAllowed && words:
				f.drop = true
			case f.what == worded && definition && x.l.definitionAt(f.err.Position()) == "":
				f.drop = true
			}
		}
	}
}

// Rule 4.
func (x *explainer) derived(fs []*finding) {
	// A field the file writes: CUE may not say where (the branches of
	// a disjunction lose the value's position), the file does.
	written := func(f *finding) bool {
		return f.inFile.IsValid() || valuePos(x.ownAt(f.path), x.site.File).IsValid()
	}
	if !slices.ContainsFunc(fs, written) {
		return
	}
	for _, f := range fs {
		if written(f) || (f.what == incomplete && x.required(f.path)) {
			continue
		}
		f.drop = true
	}
}

// required reports whether the schema requires the field at path with
// nothing to fill it: no default, and no value derived from others.
func (x *explainer) required(path []string) bool {
	for _, kind := range x.kinds() {
		v := lookup(x.l.inputOf(kind), path)
		if !v.Exists() {
			continue
		}
		if _, ok := v.Default(); ok {
			return false
		}
		if op, _ := v.Expr(); op == cue.InterpolationOp || op == cue.SelectorOp {
			return false
		}
		return true
	}
	return false
}

// Rule 5.
func (x *explainer) unknownFields(fs []*finding) {
	kindWrong := false
	for _, f := range fs {
		if f.key == "kind" && f.what != notAllowed {
			kindWrong = true
		}
	}
	for _, f := range fs {
		if f.what != notAllowed || len(f.path) == 0 {
			continue
		}
		parent, name := f.path[:len(f.path)-1], f.path[len(f.path)-1]
		var here []string // allowed for this site's kind (or any, unknown)
		var elsewhere string
		for _, kind := range []string{KindHost, KindTarget} {
			names := x.allowed(kind, parent)
			if x.kind == "" || x.kind == kind {
				here = append(here, names...)
			} else if slices.Contains(names, name) {
				elsewhere = kind
			}
		}
		// The fields the site's own values open (tls.email with mode
		// "acme"), less those refused here.
		if x.kind != "" && x.in.Exists() {
			for _, n := range fieldNames(lookup(x.in, parent)) {
				refused := slices.ContainsFunc(fs, func(o *finding) bool {
					return o.what == notAllowed && slices.Equal(o.path, append(slices.Clip(parent), n))
				})
				if !refused {
					here = append(here, n)
				}
			}
		}
		slices.Sort(here)
		here = slices.Compact(here)
		switch {
		case slices.Contains(here, name) && (kindWrong || x.kind == ""):
			// Allowed for a kind of site: wrong only because kind is.
			f.drop = kindWrong
		case elsewhere != "":
			f.msg = fmt.Sprintf("only a %s site has this field (this site is a %s)", elsewhere, x.kind)
		default:
			if s := nearest(name, here); s != "" {
				f.msg = fmt.Sprintf("unknown field %q; did you mean %q?", name, s)
			} else if len(here) > 0 {
				f.msg = fmt.Sprintf("unknown field %q; the fields here are %s", name, strings.Join(here, ", "))
			} else {
				f.msg = fmt.Sprintf("unknown field %q", name)
			}
		}
	}
}

// allowed lists the fields the schema declares at path of a site of kind,
// following pattern constraints ([Name=string]: #Node) through keys.
func (x *explainer) allowed(kind string, path []string) []string {
	return fieldNames(lookup(x.l.inputOf(kind), path))
}

// fieldNames lists the regular fields of v, optional ones too.
func fieldNames(v cue.Value) []string {
	if !v.Exists() {
		return nil
	}
	iter, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var names []string
	for iter.Next() {
		if s := iter.Selector(); s.IsString() {
			names = append(names, s.Unquoted())
		}
	}
	return names
}

// inputOf is #SiteInput for a site of kind, computed once per loader:
// the rules consult it for every error.
func (l *Loader) inputOf(kind string) cue.Value {
	if v, ok := l.inputs[kind]; ok {
		return v
	}
	if l.inputs == nil {
		l.inputs = map[string]cue.Value{}
	}
	v := l.input.FillPath(cue.ParsePath("kind"), kind)
	l.inputs[kind] = v
	return v
}

// schemaAt is the model's value at path for the site's kind.
func (x *explainer) schemaAt(path []string) cue.Value {
	return lookup(x.l.inputOf(x.kinds()[0]), path)
}

func (x *explainer) kinds() []string {
	if x.kind != "" {
		return []string{x.kind}
	}
	return []string{KindHost, KindTarget}
}

// Rule 6.
func (x *explainer) words(fs []*finding) {
	for _, f := range fs {
		if f.what == worded && f.msg == "" {
			// A number written as a string is a common slip the model's
			// message cannot see: say so.
			if v := x.ownAt(f.path); v.Kind() == cue.StringKind {
				if want := x.schemaAt(f.path).IncompleteKind(); want != cue.BottomKind && want&cue.StringKind == 0 && want&cue.NumberKind != 0 {
					format, args := f.err.Msg()
					f.msg = fmt.Sprintf(format, args...) + " (a number, without quotes)"
				}
			}
		}
		if f.msg != "" {
			continue
		}
		format, args := f.err.Msg()
		switch f.what {
		case mismatch:
			// conflicting values A and B (mismatched types K and L): one
			// is the file's value, the other the model's.
			// Which is the file's is told by its kind.
			if len(args) >= 4 {
				given, gotKind, wantKind := fmt.Sprint(args[0]), fmt.Sprint(args[2]), fmt.Sprint(args[3])
				if v := x.ownAt(f.path); v.Exists() && v.IncompleteKind().String() == wantKind {
					given, gotKind, wantKind = fmt.Sprint(args[1]), wantKind, gotKind
				}
				if gotKind == "struct" || gotKind == "list" {
					given = "" // the file shows it; CUE's rendering is long
				}
				f.msg = strings.TrimSpace(fmt.Sprintf("expected %s, not %s %s", kindWords(wantKind), kindWords(gotKind), given))
			}
		case outOfBound:
			if len(args) >= 2 {
				f.msg = fmt.Sprintf("%v is %s", args[0], boundWords(fmt.Sprint(args[1])))
			}
		case unsatisfied:
			if len(args) >= 2 {
				f.msg = fmt.Sprintf("%v %s", args[0], validatorWords(fmt.Sprint(args[1])))
			}
		case conflict:
			// One operand is the file's, the other the model's: the
			// model fixes this field.
			if len(args) >= 2 {
				model, given := fmt.Sprint(args[0]), fmt.Sprint(args[1])
				if v := x.ownAt(f.path); v.Exists() && fmt.Sprint(v) == model {
					model, given = given, model
				}
				f.msg = fmt.Sprintf("the model sets this field to %s; the file gives %s", model, given)
			}
		case incomplete:
			f.msg = "no value set; this field is required"
		case lengths:
			// incompatible list lengths (0 and 1): empty where the model
			// wants entries ([_, ...]).
			if len(args) >= 1 && fmt.Sprint(args[0]) == "0" {
				f.msg = "is empty: give at least one entry"
			} else {
				f.msg = "the list has the wrong number of entries"
			}
		}
		_ = format
	}
}

func kindWords(k string) string {
	switch k {
	case "int":
		return "a whole number"
	case "number", "float":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct":
		return "a struct {...}"
	case "list":
		return "a list [...]"
	case "null":
		return "null"
	}
	return k
}

// boundWords says a bound (">=1024", "!=\"x\"", "=~\"...\"") in words;
// a pattern is never shown.
func boundWords(b string) string {
	for _, op := range []struct{ op, words string }{
		{">=", "below the lowest allowed, %s"},
		{"<=", "above the highest allowed, %s"},
		{">", "not above %s"},
		{"<", "not below %s"},
		{"!=", "the one value not allowed here, %s"},
	} {
		if strings.HasPrefix(b, op.op) && !strings.HasPrefix(b, "!~") {
			return fmt.Sprintf(op.words, strings.TrimPrefix(b, op.op))
		}
	}
	return "not of the form this field takes"
}

func validatorWords(v string) string {
	var n int
	switch {
	case scan(v, "list.MinItems(%d)", &n):
		if n == 1 {
			return "is empty: give at least one entry"
		}
		return fmt.Sprintf("has too few entries: give at least %d", n)
	case scan(v, "list.MaxItems(%d)", &n):
		return fmt.Sprintf("has too many entries; give at most %d", n)
	case scan(v, "strings.MaxRunes(%d)", &n):
		return fmt.Sprintf("is too long; at most %d characters", n)
	case scan(v, "strings.MinRunes(%d)", &n):
		return fmt.Sprintf("is too short; at least %d characters", n)
	}
	return "is not of the form this field takes"
}

func scan(s, format string, n *int) bool {
	_, err := fmt.Sscanf(s, format, n)
	return err == nil
}

// problem builds the error printed for f: at the file's token, with the
// model's rule.
func (x *explainer) problem(f *finding) *problem {
	p := &problem{path: f.err.Path(), rule: f.rule}
	if f.msg != "" {
		p.format, p.args = "%s", []any{f.msg}
	} else {
		p.format, p.args = f.err.Msg()
	}
	// The rule of a worded error is its error(); of a missing field, the
	// field's declaration.
	if ep := f.err.Position(); f.what == worded && isModelPos(ep) && p.rule != token.NoPos {
		p.rule = ep
	}
	if f.what == incomplete {
		// Where the model declares the field, not the type it refers to.
		for _, pos := range append([]token.Pos{f.err.Position()}, f.err.InputPositions()...) {
			if isModelPos(pos) && x.l.definitionAt(pos) == "" {
				p.rule = pos
				break
			}
		}
		if v := lookup(x.l.inputOf(x.kinds()[0]), f.path); v.Exists() && isModelPos(v.Pos()) {
			p.rule = v.Pos()
		}
	}
	switch {
	case f.what == notAllowed && f.inFile.IsValid():
		// CUE's position of an unknown field is its label.
		p.pos = f.inFile
	default:
		if pos := valuePos(x.ownAt(f.path), x.site.File); pos.IsValid() {
			p.pos = pos
		} else if f.inFile.IsValid() {
			p.pos = f.inFile
		} else {
			p.pos = x.site.Pos(f.path...)
		}
	}
	return p
}

// valuePos is where the file writes v's value: the value after the
// field's label, where a field has one.
func valuePos(v cue.Value, file string) token.Pos {
	if !v.Exists() {
		return token.NoPos
	}
	// A struct is wrong as a whole, or in its key (a pattern constraint
	// on names): its label is the token.
	if v.IncompleteKind() == cue.StructKind {
		return posIn(v, file)
	}
	if f, ok := v.Source().(*ast.Field); ok && f.Value != nil && f.Value.Pos().Filename() == file {
		return f.Value.Pos()
	}
	return posIn(v, file)
}

// ownAt is the file's own value at path: list elements by index.
func (x *explainer) ownAt(path []string) cue.Value { return lookup(x.own, path) }

// lookup follows path from v: a key through a pattern constraint when v
// has no such field ([Name=string]: #Node), an index in a list.
func lookup(v cue.Value, path []string) cue.Value {
	for _, p := range path {
		if !v.Exists() {
			return v
		}
		if v.IncompleteKind() == cue.ListKind {
			if i, err := strconv.Atoi(p); err == nil {
				v = v.LookupPath(cue.MakePath(cue.Index(i)))
				continue
			}
		}
		next := v.LookupPath(cue.MakePath(cue.Str(p)))
		if !next.Exists() {
			next = v.LookupPath(cue.MakePath(cue.AnyString))
		}
		v = next
	}
	return v
}

// nearest returns the name of names closest to s by edit distance, if
// it is close enough to be a slip (one edit in three letters, at least
// one), preferring the first in order on a tie.
func nearest(s string, names []string) string {
	best, bestD := "", 0
	for _, n := range names {
		if n == s {
			continue
		}
		d := distance(strings.ToLower(s), strings.ToLower(n))
		if d <= max(1, len([]rune(s))/3) && (best == "" || d < bestD) {
			best, bestD = n, d
		}
	}
	return best
}

// distance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent letters.
func distance(a, b string) int {
	s, t := []rune(a), []rune(b)
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range t {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			c := 1
			if s[i-1] == t[j-1] {
				c = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+c)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}

func unquoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		if u, err := strconv.Unquote(s); err == nil {
			s = u
		}
		out[i] = s
	}
	return out
}

// definition is where a top-level definition of the model that is a type
// of values (#Domain, #CIDR: not a struct or a list) lies in its file, to
// tell which one an error() belongs to.
type definition struct {
	file       string
	start, end int // offsets
	name       string
}

// indexDefinitions finds the model's value types among its top-level
// definitions, in order of file and offset.
func indexDefinitions(schema cue.Value, files []*ast.File) []definition {
	var defs []definition
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.Field)
			if !ok {
				continue
			}
			id, ok := fd.Label.(*ast.Ident)
			if !ok || !strings.HasPrefix(id.Name, "#") {
				continue
			}
			switch fd.Value.(type) {
			case *ast.StructLit, *ast.ListLit:
				continue
			}
			v := schema.LookupPath(cue.MakePath(cue.Def(id.Name)))
			if k := v.IncompleteKind(); !v.Exists() || k == cue.BottomKind || k&(cue.StructKind|cue.ListKind) != 0 {
				continue
			}
			defs = append(defs, definition{file: f.Filename, start: fd.Pos().Offset(), end: fd.End().Offset(), name: id.Name})
		}
	}
	slices.SortFunc(defs, func(a, b definition) int { return cmp.Or(cmp.Compare(a.file, b.file), cmp.Compare(a.start, b.start)) })
	return defs
}

// definitionAt names the value type of the model (a top-level definition,
// with its #) whose text holds p, or "".
func (l *Loader) definitionAt(p token.Pos) string {
	if !isModelPos(p) {
		return ""
	}
	i, ok := slices.BinarySearchFunc(l.defs, p, func(d definition, p token.Pos) int {
		if c := cmp.Compare(d.file, p.Filename()); c != 0 {
			return c
		}
		switch {
		case d.end < p.Offset():
			return -1
		case d.start > p.Offset():
			return 1
		}
		return 0
	})
	if !ok {
		return ""
	}
	return l.defs[i].name
}
