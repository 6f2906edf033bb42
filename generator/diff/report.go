package diff

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/diff"
)

// delta is one difference go-cmp found: where, and the two values. A side
// is invalid when the value is absent there (a map key or a slice element
// added or removed).
type delta struct {
	path     []string
	old, new reflect.Value
}

func (d delta) added() bool   { return !present(d.old) && present(d.new) }
func (d delta) removed() bool { return present(d.old) && !present(d.new) }

func present(v reflect.Value) bool {
	if !v.IsValid() {
		return false
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil()
	}
	return true
}

// collector is a cmp.Reporter that records every difference with its path
// spelled the way the data is written: YAML/JSON field names, map keys,
// slice indices.
type collector struct {
	path   cmp.Path
	deltas []delta
}

func (c *collector) PushStep(ps cmp.PathStep) { c.path = append(c.path, ps) }
func (c *collector) PopStep()                 { c.path = c.path[:len(c.path)-1] }

func (c *collector) Report(r cmp.Result) {
	if r.Equal() {
		return
	}
	vx, vy := c.path.Last().Values()
	c.deltas = append(c.deltas, delta{path: spell(c.path), old: vx, new: vy})
}

// deltas compares a and b with opts and returns their differences.
func deltas(a, b any, opts ...cmp.Option) []delta {
	var c collector
	cmp.Equal(a, b, append(opts, cmp.Reporter(&c))...)
	return c.deltas
}

func spell(p cmp.Path) []string {
	var out []string
	for i, st := range p {
		switch s := st.(type) {
		case cmp.StructField:
			out = append(out, fieldName(p[i-1].Type(), s.Name()))
		case cmp.MapIndex:
			out = append(out, fmt.Sprint(s.Key().Interface()))
		case cmp.SliceIndex:
			if n := elementName(s); n != "" {
				out = append(out, "["+n+"]")
				continue
			}
			k := s.Key()
			if k < 0 {
				kx, ky := s.SplitKeys()
				k = max(kx, ky)
			}
			out = append(out, fmt.Sprintf("[%d]", k))
		}
	}
	return out
}

// nameKeys name the elements of YAML lists: Prometheus' scrape jobs,
// Grafana's datasources, Traefik's lists of named things.
var nameKeys = []string{"job_name", "name", "id"}

// elementName names a list element by its name field ("job_name=traefik"),
// which reads better than an index and survives insertions before it.
func elementName(s cmp.SliceIndex) string {
	vx, vy := s.Values()
	v := vy
	if !present(v) {
		v = vx
	}
	m, ok := valueOf[map[string]any](v)
	if !ok {
		return ""
	}
	for _, k := range nameKeys {
		if n, ok := m[k].(string); ok && n != "" {
			return k + "=" + n
		}
	}
	return ""
}

// fieldName is a struct field's YAML name (its json tag when it has no
// yaml tag), or its Go name.
func fieldName(parent reflect.Type, name string) string {
	for parent.Kind() == reflect.Pointer {
		parent = parent.Elem()
	}
	if parent.Kind() != reflect.Struct {
		return name
	}
	f, ok := parent.FieldByName(name)
	if !ok {
		return name
	}
	for _, key := range []string{"yaml", "json"} {
		if tag, _, _ := strings.Cut(f.Tag.Get(key), ","); tag != "" && tag != "-" {
			return tag
		}
	}
	return name
}

// show formats a value compactly for a change line: strings as they are,
// anything else as flow JSON.
func show(v reflect.Value) string {
	if !present(v) {
		return "(none)"
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	if v.Kind() == reflect.String {
		return v.String()
	}
	if v.CanInterface() {
		if b, err := json.Marshal(v.Interface()); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

// unified is a unified diff of two file versions, "" when equal, without
// the "diff a b" line that repeats the ---/+++ names.
func unified(rel string, old, new []byte) string {
	d := string(diff.Diff("old/"+rel, old, "new/"+rel, new))
	if strings.HasPrefix(d, "diff ") {
		_, d, _ = strings.Cut(d, "\n")
	}
	return d
}

// valueOf returns v's value as a T, when v holds one.
func valueOf[T any](v reflect.Value) (T, bool) {
	var zero T
	if !present(v) || !v.CanInterface() {
		return zero, false
	}
	t, ok := v.Interface().(T)
	return t, ok
}
