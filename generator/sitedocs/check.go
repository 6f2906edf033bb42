package sitedocs

import (
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/errors"
)

// Minimal are the smallest valid sites of each kind, a field at a time:
// each example is put into one (and into its variant: tls.mode "acme"),
// in place of what the minimal site says there, and the whole is checked
// against #SiteInput.
var Minimal = map[string][][2]string{
	"host": {
		{"name", `"doc-host"`}, {"kind", `"host"`}, {"domain", `"nuvla.example.org"`},
		{"nodes", `{"host-manager-1": {address: "192.0.2.10", role: "manager"}}`},
		{"groups.management", `["198.51.100.0/28"]`},
	},
	"target": {
		{"name", `"doc-target"`}, {"kind", `"target"`}, {"domain", `"target.example.org"`},
		{"nodes", `{"target-manager-1": {address: "203.0.113.10", role: "manager", nfsServer: true}}`},
		{"groups.management", `["198.51.100.0/28"]`}, {"groups.nuvla", `["192.0.2.10/32"]`},
	},
}

// minimalSite is the minimal site of kind, but for the fields on path
// (above or below it).
func minimalSite(input cue.Value, kind string, path cue.Path) cue.Value {
	// A one-off context: values of different contexts combine.
	ctx := cuecontext.New()
	v := input
	for _, kv := range Minimal[kind] {
		p := cue.ParsePath(kv[0])
		if kv[0] != "kind" && len(path.Selectors()) > 0 && (prefix(p, path) || prefix(path, p)) {
			continue
		}
		v = v.FillPath(p, ctx.CompileString(kv[1]))
	}
	return v
}

// inMinimal reports whether the minimal sites write the field at fill.
func inMinimal(fill []cue.Selector) bool {
	path := cue.MakePath(fill...)
	for _, kvs := range Minimal {
		for _, kv := range kvs {
			if p := cue.ParsePath(kv[0]); prefix(p, path) || prefix(path, p) {
				return true
			}
		}
	}
	return false
}

// prefix reports whether a's selectors begin b's.
func prefix(a, b cue.Path) bool {
	as, bs := a.Selectors(), b.Selectors()
	if len(as) > len(bs) {
		return false
	}
	for i := range as {
		if as[i].String() != bs[i].String() {
			return false
		}
	}
	return true
}

// checkExamples puts each field's example into the minimal site of each
// kind the field exists on: the kinds that accept it are the field's
// (smtp exists on a target too, where the model refuses it); one that
// none accepts is an error. A required field that the minimal site
// does not set but that is concrete in it is computed from others
// (minio.s3Domain, from domain).
func checkExamples(input cue.Value, fields []Field) error {
	ctx := cuecontext.New()
	var errs errors.Error
	for _, kind := range Kinds {
		if err := minimalSite(input, kind, cue.Path{}).Validate(cue.Concrete(true)); err != nil {
			return fmt.Errorf("the minimal %s site examples are checked in is not valid: %v", kind, errors.Details(err, nil))
		}
	}
	for i := range fields {
		f := &fields[i]
		if f.Required && !strings.Contains(f.Path, "<name>") && !inMinimal(f.Fill) {
			for _, kind := range f.Kinds {
				base := minimalSite(input, kind, cue.Path{}).Unify(ctx.CompileString(f.variants[kind]))
				if concrete(base.LookupPath(cue.MakePath(f.Fill...))) {
					f.Computed, f.Required = true, false
				}
			}
		}
		if f.Example == "" {
			continue
		}
		ex := ctx.CompileString(f.Example, cue.Filename(f.Path+" example"))
		if err := ex.Err(); err != nil {
			errs = errors.Append(errs, errors.Newf(f.Pos, "field %s: example %s does not parse: %v", f.Path, f.Example, err))
			continue
		}
		var ok []string
		var refused []string
		for _, kind := range f.Kinds {
			base := minimalSite(input, kind, cue.MakePath(f.Fill...))
			if f.When != "" {
				base = base.Unify(ctx.CompileString(f.variants[kind]))
			}
			v := base.FillPath(cue.MakePath(f.Fill...), ex)
			if err := v.Validate(); err != nil {
				refused = append(refused, fmt.Sprintf("%s site: %s", kind, errors.Details(err, nil)))
				continue
			}
			ok = append(ok, kind)
		}
		if len(ok) == 0 {
			errs = errors.Append(errs, errors.Newf(f.Pos, "field %s: the model refuses its example %s: %v", f.Path, f.Example, refused))
			continue
		}
		if f.Path != "kind" { // the one field whose example picks a kind
			f.Kinds = slices.DeleteFunc(f.Kinds, func(k string) bool { return !slices.Contains(ok, k) })
		}
	}
	return errs
}
