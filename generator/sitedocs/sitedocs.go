// Package sitedocs writes docs/site.md, the reference of every field a
// site file writes, from the model itself: the fields of #SiteInput on
// each kind of site, with their type, default and allowed values read
// from the schema, and their description and example from the field's
// doc comment. A doc comment ends with its example, a CUE value on the
// last lines:
//
//	// share is the exported directory on the NFS server node.
//	// Example: "/srv/nfs"
//	share: #AbsPath | *"/nfs-root"
//
// Fields reports every field without a description or an example, and
// Check every example the schema refuses, in its place in a minimal site:
// a field added to the model is documented, or the test fails.
package sitedocs

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

// Field is one field of a site file.
type Field struct {
	// Path is the field's path, a map's keys written <name>:
	// "nodes.<name>.address".
	Path string
	// Fill is the path with each map's key taken from the map's own
	// example: where the example goes in a site, to check it.
	Fill []cue.Selector
	// Depth is the number of selectors in Path.
	Depth int
	// Kinds are the site kinds that have it; When, a condition on other
	// fields it exists under (`tls.mode: "acme"`).
	Kinds []string
	When  string
	// Type says what it holds; Refs are the model's definitions its
	// value is constrained by (#CIDR).
	Type string
	Refs []string
	// Default is its default per kind, as CUE; Computed marks a default
	// derived from other fields, Fixed the kinds whose value the model
	// sets (a host's nodes are no NFS servers).
	Default  map[string]string
	Computed bool
	Fixed    map[string]bool
	// Allowed lists the values of an enumeration, as CUE.
	Allowed []string
	// Optional is a field that may be left out (no default: absent);
	// Required one a site must write.
	Optional, Required bool
	// Map is a struct keyed by names (nodes, firewall.rules): its fields
	// are those of each entry.
	Map bool
	// Doc is the description; Example the example's CUE source.
	Doc, Example string
	// Pos is where the field is declared (its first declaration).
	Pos token.Pos

	// variants are, by kind, the source of the site the field exists in
	// (the kind, and When).
	variants map[string]string
}

// Type is a definition of the model that fields refer to for their
// values' form (#CIDR, #Domain).
type Type struct {
	Name, Doc string
}

// A variant is a site the fields are read from: a kind, and for fields
// that exist only under a condition, the condition.
type variant struct {
	kind, when, src string
}

var variants = []variant{
	{"host", "", `kind: "host"`},
	{"target", "", `kind: "target"`},
	{"host", `tls.mode: "acme"`, `kind: "host", tls: mode: "acme"`},
	{"target", `tls.mode: "acme"`, `kind: "target", tls: mode: "acme"`},
}

// Kinds are the site kinds, in the order the reference names them.
var Kinds = []string{"host", "target"}

// Fields reads the fields of #SiteInput from schema, the compiled model,
// in declaration order, parents before their fields. The error lists
// every field without a description or an example, positioned.
func Fields(schema cue.Value) ([]Field, error) {
	input := schema.LookupPath(cue.MakePath(cue.Def("SiteInput")))
	if !input.Exists() {
		return nil, fmt.Errorf("the model has no #SiteInput")
	}
	byPath := map[string]*Field{}
	var order []*Field
	ctx := cuecontext.New()
	for _, va := range variants {
		v := input.Unify(ctx.CompileString(va.src))
		if err := v.Err(); err != nil {
			return nil, fmt.Errorf("variant %s: %w", va.src, err)
		}
		w := walker{kind: va.kind, when: va.when, src: va.src, byPath: byPath, order: &order}
		if err := w.walk(v, "", nil, 0, nil); err != nil {
			return nil, err
		}
	}
	// Kind is what the variants set: its values are the kinds.
	if f := byPath["kind"]; f != nil {
		f.Allowed = nil
		for _, k := range Kinds {
			f.Allowed = append(f.Allowed, strconv.Quote(k))
		}
		f.Default = map[string]string{}
	}
	for _, f := range order {
		if !f.Pos.IsValid() {
			// Set by every variant (kind): its declaration in the schema.
			f.Pos = input.LookupPath(cue.MakePath(f.Fill...)).Pos()
		}
	}
	fields := sortTree(order)
	var errs errors.Error
	if err := checkExamples(input, fields); err != nil {
		errs = errors.Append(errs, errors.Promote(err, ""))
	}
	for _, f := range fields {
		if f.Doc == "" {
			errs = errors.Append(errs, errors.Newf(f.Pos, "field %s has no doc comment: say what it is for, before it", f.Path))
		}
		if f.Example == "" {
			errs = errors.Append(errs, errors.Newf(f.Pos, "field %s has no example: end its doc comment with \"Example: VALUE\"", f.Path))
		}
	}
	if errs != nil {
		return fields, errs
	}
	return fields, nil
}

type walker struct {
	kind, when, src string
	byPath          map[string]*Field
	order           *[]*Field
}

// walk reads the fields of v, a struct at prefix (fill in a site),
// leaving out those named in skip.
func (w walker) walk(v cue.Value, prefix string, fill []cue.Selector, depth int, skip map[string]bool) error {
	iter, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil // not a struct
	}
	for iter.Next() {
		sel := iter.Selector()
		label := sel.Unquoted()
		if sel.IsDefinition() || strings.HasPrefix(label, "_") || skip[label] {
			continue
		}
		fv := iter.Value()
		if a := fv.Attribute("nuvlagen"); a.Err() == nil && a.Contents() == "derived" {
			continue
		}
		path := label
		if prefix != "" {
			path = prefix + "." + label
		}
		fillHere := append(slices.Clone(fill), cue.Str(label))
		f := w.byPath[path]
		if f == nil {
			f = &Field{Path: path, Fill: fillHere, Depth: depth, When: w.when, Default: map[string]string{}, Fixed: map[string]bool{}, variants: map[string]string{}}
			w.byPath[path] = f
			*w.order = append(*w.order, f)
		}
		w.read(f, fv, iter.IsOptional())
		if !f.Map {
			if err := w.walk(fv, path, fillHere, depth+1, nil); err != nil {
				return err
			}
			continue
		}
		// A map's entries: the fields of one entry, keyed as the map's
		// example is. A field set to the key itself (a node's name) is
		// the model's, not the file's.
		key := firstLabel(f.Example)
		if key == "" {
			key = "name"
		}
		entry := fv.FillPath(cue.MakePath(cue.Str(key)), struct{}{}).LookupPath(cue.MakePath(cue.Str(key)))
		keyed := map[string]bool{}
		if ei, err := entry.Fields(cue.Optional(true)); err == nil {
			for ei.Next() {
				if s, err := ei.Value().String(); err == nil && s == key {
					keyed[ei.Selector().Unquoted()] = true
				}
			}
		}
		if err := w.walk(entry, path+".<name>", append(fillHere, cue.Str(key)), depth+1, keyed); err != nil {
			return err
		}
	}
	return nil
}

// read adds what variant w says of field f, value v.
func (w walker) read(f *Field, v cue.Value, optional bool) {
	if !slices.Contains(f.Kinds, w.kind) {
		f.Kinds = append(f.Kinds, w.kind)
		f.variants[w.kind] = w.src
	}
	if w.when == "" {
		f.When = "" // it exists without the condition on some kind
	}
	// Where its doc comment is, or its first declaration. (A variant's
	// own fields have no file.)
	p := v.Pos()
	if docs := v.Doc(); len(docs) > 0 {
		p = docs[0].Pos()
	}
	if p.Filename() != "" && (!f.Pos.IsValid() || before(p, f.Pos)) {
		f.Pos = p
	}
	if f.Doc == "" {
		f.Doc, f.Example = docOf(v)
	}
	if f.Type == "" {
		f.Type = typeOf(v)
	}
	for _, r := range refs(v, 0) {
		if !slices.Contains(f.Refs, r) {
			f.Refs = append(f.Refs, r)
		}
	}
	if f.Allowed == nil {
		f.Allowed = enum(v)
		if e, ok := elem(v); ok && kindOf(v, 0) == cue.ListKind {
			f.Allowed = enum(e) // a list of an enumeration's values
		}
	}
	f.Optional = f.Optional || optional
	kind := kindOf(v, 0)
	f.Map = f.Map || kind == cue.StructKind && isMap(v)
	if kind == cue.StructKind || w.when != "" && f.When == "" {
		return // a struct's fields have defaults; a condition's variant repeats the kind's
	}
	op, _ := v.Expr()
	d, ok := v.Default()
	switch {
	case ok && concrete(d):
		f.Default[w.kind] = cueString(d)
	case op == cue.OrOp && concrete(v):
		// A choice whose other branches fail without input (a
		// non-empty list of CIDRs): the default is what is left.
		f.Default[w.kind] = cueString(v)
	case kind == cue.ListKind && concrete(v):
		f.Default[w.kind] = "[]" // an open list: none
	case concrete(v) && !optional:
		f.Fixed[w.kind] = true // a value the model fixes (rpcbind's 111)
		f.Default[w.kind] = cueString(v)
	case !optional:
		f.Required = true
	}
}

func concrete(v cue.Value) bool { return v.Validate(cue.Concrete(true)) == nil }

// isMap reports whether v is keyed by any name: a pattern constraint for
// every string, and no fields of its own.
func isMap(v cue.Value) bool {
	if !v.LookupPath(cue.MakePath(cue.AnyString)).Exists() {
		return false
	}
	iter, err := v.Fields(cue.Optional(true))
	return err == nil && !iter.Next()
}

func before(a, b token.Pos) bool {
	return cmp.Or(cmp.Compare(fileRank(a.Filename()), fileRank(b.Filename())), cmp.Compare(a.Offset(), b.Offset())) < 0
}

// fileRank orders the schema's files: site.cue first, as it is the
// site's outline; the files adding to it after, by name.
func fileRank(name string) string {
	if strings.HasSuffix(name, "/site.cue") || name == "site.cue" {
		return ""
	}
	return name
}

// sortTree orders fields by declaration, each parent before its fields.
func sortTree(all []*Field) []Field {
	children := map[string][]*Field{}
	for _, f := range all {
		children[parentPath(f.Path)] = append(children[parentPath(f.Path)], f)
	}
	var out []Field
	var visit func(string)
	visit = func(p string) {
		c := children[p]
		slices.SortStableFunc(c, func(a, b *Field) int {
			if before(a.Pos, b.Pos) {
				return -1
			}
			if before(b.Pos, a.Pos) {
				return 1
			}
			return 0
		})
		for _, f := range c {
			out = append(out, *f)
			visit(f.Path)
			visit(f.Path + ".<name>")
		}
	}
	visit("")
	return out
}

func parentPath(p string) string {
	i := strings.LastIndex(p, ".")
	if i < 0 {
		return ""
	}
	return p[:i]
}

var exampleLine = regexp.MustCompile(`(?m)^Example:\s*`)

// docOf splits v's doc comments into the description and the example
// (from "Example:" to the end of its comment).
func docOf(v cue.Value) (doc, example string) {
	var docs []string
	for _, g := range v.Doc() {
		text := g.Text()
		if loc := exampleLine.FindStringIndex(text); loc != nil {
			if example == "" {
				example = strings.TrimSpace(text[loc[1]:])
			}
			text = text[:loc[0]]
		}
		if t := strings.TrimSpace(text); t != "" && !slices.Contains(docs, t) {
			docs = append(docs, t)
		}
	}
	return strings.Join(docs, "\n\n"), example
}

// typeOf says what v holds: its kind, a list's elements, a map's entries.
func typeOf(v cue.Value) string {
	switch k := kindOf(v, 0); {
	case k == cue.ListKind:
		e, ok := elem(v)
		if !ok {
			// A list the model fills ([...] in a choice): its elements.
			if e = v.LookupPath(cue.MakePath(cue.Index(0))); !e.Exists() {
				return "list"
			}
		}
		return "list of " + plural(typeOf(e))
	case k == cue.StructKind:
		if isMap(v) {
			return "map of names to structs"
		}
		return "struct"
	case k == cue.IntKind, k == cue.NumberKind && v.IncompleteKind() == cue.IntKind:
		return "integer"
	case k == cue.NumberKind:
		return "number"
	case k == cue.StringKind:
		return "string"
	case k == cue.BoolKind:
		return "boolean"
	case k&cue.StringKind != 0 && k&cue.ListKind != 0:
		return "string or list"
	default:
		return k.String()
	}
}

func plural(s string) string {
	switch s {
	case "string", "integer", "number", "boolean", "struct":
		return s + "s"
	}
	return s
}

// kindOf is v's kind, or, for a value whose validators leave it
// undecided, the kinds of the values it is made of.
func kindOf(v cue.Value, depth int) cue.Kind {
	k := v.IncompleteKind()
	if k != cue.BottomKind || depth > 8 {
		return k
	}
	_, args := v.Expr()
	var out cue.Kind
	for _, a := range args {
		if ak := kindOf(a, depth+1); ak != cue.BottomKind {
			if out == 0 {
				out = ak
			} else {
				out &= ak
			}
		}
	}
	if out == 0 {
		return k
	}
	return out
}

// refs are the definitions of the model v's value is built from: the
// ones at the package's top, by name.
func refs(v cue.Value, depth int) []string {
	if depth > 8 {
		return nil
	}
	if _, p := v.ReferencePath(); len(p.Selectors()) == 1 && p.Selectors()[0].IsDefinition() {
		// The model's value types are capitalised (#CIDR); its own
		// tables (#swarmPublished) and the site's definitions are not
		// types a site writes to.
		name := p.String()
		if !typeName.MatchString(name) || name == "#SiteInput" || name == "#Site" || v.IncompleteKind() == cue.StructKind {
			return nil
		}
		return []string{name}
	}
	op, args := v.Expr()
	if op == cue.NoOp && len(args) == 1 && args[0].Equals(v) {
		return nil
	}
	var out []string
	for _, a := range args {
		for _, r := range refs(a, depth+1) {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	if out == nil && kindOf(v, 0) == cue.ListKind {
		if e, ok := elem(v); ok {
			out = refs(e, depth+1)
		}
	}
	return out
}

var typeName = regexp.MustCompile(`^#[A-Z]`)

// elem is the value of a list's elements, through the validators a
// list may be combined with (list.MinItems).
func elem(v cue.Value) (cue.Value, bool) {
	if e := v.LookupPath(cue.MakePath(cue.AnyIndex)); e.Exists() {
		return e, true
	}
	_, args := v.Expr()
	for _, a := range args {
		if e := a.LookupPath(cue.MakePath(cue.AnyIndex)); e.Exists() {
			return e, true
		}
	}
	return cue.Value{}, false
}

// enum lists v's values when it is a choice of concrete ones (through
// the definitions it names: #MinioStorage | *"fs").
func enum(v cue.Value) []string {
	var out []string
	if !choices(v, &out, 0) || len(out) < 2 {
		return nil
	}
	return out
}

func choices(v cue.Value, out *[]string, depth int) bool {
	op, args := v.Expr()
	if op == cue.AndOp && depth <= 4 {
		// A choice narrowed by a type ("frontend" | ... & #LabelValue).
		for _, a := range args {
			var c []string
			if choices(a, &c, depth+1) {
				*out = append(*out, c...)
				return true
			}
		}
		return false
	}
	if op != cue.OrOp || depth > 4 {
		return false
	}
	for _, a := range args {
		switch {
		case a.Err() != nil:
			// an error("...") disjunct: the message of the others
		case a.IsConcrete() && a.IncompleteKind()&(cue.StringKind|cue.IntKind|cue.BoolKind) != 0:
			if s := cueString(a); !slices.Contains(*out, s) {
				*out = append(*out, s)
			}
		case !choices(a, out, depth+1):
			return false
		}
	}
	return true
}

// cueString prints a concrete value as CUE on one line.
func cueString(v cue.Value) string {
	b, err := json.Marshal(v)
	if err == nil {
		return strings.ReplaceAll(string(b), `","`, `", "`)
	}
	n := v.Syntax(cue.Final(), cue.Concrete(true))
	out, ferr := format.Node(n)
	if ferr != nil {
		return fmt.Sprint(v)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// Types returns the definitions fields refer to, with their doc comments,
// by name.
func Types(schema cue.Value, fields []Field) []Type {
	var names []string
	for _, f := range fields {
		for _, r := range f.Refs {
			if !slices.Contains(names, r) {
				names = append(names, r)
			}
		}
	}
	slices.Sort(names)
	var out []Type
	for _, n := range names {
		d := schema.LookupPath(cue.ParsePath(n))
		doc, _ := docOf(d)
		out = append(out, Type{Name: n, Doc: doc})
	}
	return out
}

// firstLabel is the first field label of a CUE struct literal.
func firstLabel(src string) string {
	if src == "" {
		return ""
	}
	e, err := parser.ParseExpr("example", src)
	if err != nil {
		return ""
	}
	s, ok := e.(*ast.StructLit)
	if !ok || len(s.Elts) == 0 {
		return ""
	}
	f, ok := s.Elts[0].(*ast.Field)
	if !ok {
		return ""
	}
	name, _, err := ast.LabelName(f.Label)
	if err != nil {
		return ""
	}
	return name
}
