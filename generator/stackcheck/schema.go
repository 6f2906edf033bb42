package stackcheck

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	_ "unsafe" // for go:linkname

	interp "github.com/docker/cli/cli/compose/interpolation"
	dockerloader "github.com/docker/cli/cli/compose/loader"
	"github.com/docker/cli/cli/compose/schema"
	"github.com/docker/cli/cli/compose/template"
	dockertypes "github.com/docker/cli/cli/compose/types"
	"github.com/docker/go-connections/nat"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The docker CLI compiles its JSON schema on every schema.Validate call,
// which costs about 4ms: most of the time vet spends on a file. The
// schemas and the interpolation casts it applies first are unexported, so
// they are reached with go:linkname (allowed for packages outside the
// standard library; a rename upstream fails the build, not silently).

//go:linkname dockerSchemas github.com/docker/cli/cli/compose/schema.schemas
var dockerSchemas embed.FS

//go:linkname dockerCasts github.com/docker/cli/cli/compose/loader.interpolateTypeCastMapping
var dockerCasts map[interp.Path]interp.Cast

var compiled sync.Map // version -> *compiledSchema

type compiledSchema struct {
	once   sync.Once
	schema *jsonschema.Schema
	err    error
}

func stackSchema(version string) (*jsonschema.Schema, error) {
	v, _ := compiled.LoadOrStore(version, &compiledSchema{})
	c := v.(*compiledSchema)
	c.once.Do(func() {
		data, err := dockerSchemas.ReadFile("data/config_schema_v" + version + ".json")
		if err != nil {
			c.err = fmt.Errorf("unsupported Compose file version: %s", version)
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			c.err = err
			return
		}
		compiler := jsonschema.NewCompiler()
		// The same formats, with the same checks, as the docker CLI's.
		compiler.RegisterFormat(&jsonschema.Format{Name: "ports", Validate: portsFormat})
		compiler.RegisterFormat(&jsonschema.Format{Name: "duration", Validate: durationFormat})
		// Embedded, and proven valid against its meta-schema (draft-04) by
		// TestEmbeddedSchemasAreValid: not validated again at every start.
		if err := compiler.AddTrustedResource("schema.json", doc); err != nil {
			c.err = err
			return
		}
		c.schema, c.err = compiler.Compile("schema.json")
	})
	return c.schema, c.err
}

func portsFormat(input any) error {
	switch input.(type) {
	case string, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		_, err := nat.ParsePortSpec(fmt.Sprint(input))
		return err
	default:
		return nil
	}
}

func durationFormat(input any) error {
	s, ok := input.(string)
	if !ok {
		return nil
	}
	_, err := time.ParseDuration(s)
	return err
}

// StackLoad runs the docker CLI's stack loader on dict without its schema
// validation (see StackSchema): interpolation, forbidden options and the
// conversion into typed values.
//
// The loader converts each section's entries in Go's map order and stops
// at the first that fails: where it fails, the error returned is the one
// of the first failing entry in key order, so that the same file always
// gives the same message.
func StackLoad(filename, workingDir string, dict map[string]any, env map[string]string) error {
	return stackLoad(filename, workingDir, dict, env, false)
}

// StackLoadInterpolated is StackLoad given also cfg, dict as
// StackInterpolate interpolated it with env: the loader converts cfg
// instead of interpolating dict again, as it would, with the same
// options. A file whose version comes from a variable is loaded from
// dict, as the loader reads the version before interpolating.
func StackLoadInterpolated(filename, workingDir string, dict, cfg map[string]any, env map[string]string) error {
	if cfg == nil || schema.Version(cfg) != schema.Version(dict) {
		return StackLoad(filename, workingDir, dict, env)
	}
	return stackLoad(filename, workingDir, cfg, env, true)
}

func stackLoad(filename, workingDir string, dict map[string]any, env map[string]string, interpolated bool) error {
	load := func(d map[string]any) error {
		_, err := dockerloader.Load(dockertypes.ConfigDetails{
			WorkingDir:  workingDir,
			ConfigFiles: []dockertypes.ConfigFile{{Filename: filename, Config: d}},
			Environment: env,
		}, func(o *dockerloader.Options) {
			o.SkipValidation = true
			o.SkipInterpolation = interpolated
		})
		return err
	}
	err := load(dict)
	if err == nil {
		return nil
	}
	for _, section := range slices.Sorted(maps.Keys(dict)) {
		entries, ok := dict[section].(map[string]any)
		if !ok || len(entries) < 2 {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(entries)) {
			one := maps.Clone(dict)
			one[section] = map[string]any{name: entries[name]}
			if e := load(one); e != nil {
				return e
			}
		}
	}
	return err
}

func normalizeVersion(v string) string {
	if v == "" || v == "3" {
		return "3.13"
	}
	return v
}

// SchemaError is one violation of the docker CLI's stack schema.
type SchemaError struct {
	// Path is the location in the file: keys and list indexes.
	Path    []string
	Message string
}

func (e SchemaError) Error() string {
	field := strings.Join(e.Path, ".")
	if field == "" {
		field = "(root)"
	}
	return field + ": " + e.Message
}

// StackInterpolate interpolates dict (as dockerloader.ParseYAML returns
// it) with env, the way the docker CLI's loader does, and validates the
// result against the docker CLI's schema for the file's version. It
// returns the interpolated file (a copy: dict is not changed) and every
// violation, where the docker CLI prints only the most specific one;
// where a value matches none of several alternatives (anyOf, oneOf), the
// most specific reason is given, as the docker CLI does. An error that is
// not about the schema (interpolation, unknown version) comes alone.
func StackInterpolate(dict map[string]any, env map[string]string) (map[string]any, []SchemaError, error) {
	interpolate := func(m map[string]any) (map[string]any, error) {
		return interp.Interpolate(m, interp.Options{
			LookupValue:     func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			Substitute:      template.Substitute,
			TypeCastMapping: dockerCasts,
		})
	}
	cfg, err := interpolate(dict)
	if err != nil {
		// Interpolate walks maps in Go's map order and stops at the
		// first error: find the first in key order instead.
		return nil, nil, firstError(dict, func(m map[string]any) map[string]any { return m }, interpolate)
	}
	s, err := stackSchema(normalizeVersion(schema.Version(dict)))
	if err != nil {
		return cfg, nil, err
	}
	// The interpolated maps hold only what the schema library reads
	// (maps, slices, strings, numbers, booleans), and it does not change
	// them: no copy.
	err = s.Validate(cfg)
	if err == nil {
		return cfg, nil, nil
	}
	verr, ok := errors.AsType[*jsonschema.ValidationError](err)
	if !ok {
		return cfg, nil, err
	}
	var out []SchemaError
	seen := map[string]bool{}
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		switch e.ErrorKind.(type) {
		case *kind.Schema, *kind.Group, *kind.Reference:
			for _, c := range e.Causes {
				walk(c)
			}
			return
		case *kind.AnyOf, *kind.OneOf:
			if best := mostSpecific(e); best != nil {
				e = best
			}
		}
		se := SchemaError{Path: e.InstanceLocation, Message: describe(e)}
		if k := se.Error(); !seen[k] {
			seen[k] = true
			out = append(out, se)
		}
	}
	walk(verr)
	slices.SortFunc(out, func(a, b SchemaError) int { return strings.Compare(a.Error(), b.Error()) })
	return cfg, out, nil
}

// firstError finds the error fn gives on m's entries in key order,
// descending into mappings so that the path it reports is the first one.
// wrap rebuilds the path from the root above m.
func firstError(m map[string]any, wrap func(map[string]any) map[string]any, fn func(map[string]any) (map[string]any, error)) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		one := func(v any) map[string]any { return wrap(map[string]any{k: v}) }
		_, err := fn(one(m[k]))
		if err == nil {
			continue
		}
		if sub, ok := m[k].(map[string]any); ok {
			if deeper := firstError(sub, func(x map[string]any) map[string]any { return one(x) }, fn); deeper != nil {
				return deeper
			}
		}
		return err
	}
	return nil
}

// mostSpecific picks, among the reasons a value matches no alternative,
// the deepest one, preferring a wrong value in a matching type over a
// type mismatch (as the docker CLI's schema package does).
func mostSpecific(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	var best *jsonschema.ValidationError
	var leaves func(*jsonschema.ValidationError)
	leaves = func(c *jsonschema.ValidationError) {
		switch c.ErrorKind.(type) {
		case *kind.Schema, *kind.Group, *kind.Reference, *kind.AnyOf, *kind.OneOf:
			if len(c.Causes) > 0 {
				for _, cc := range c.Causes {
					leaves(cc)
				}
				return
			}
		}
		_, isType := c.ErrorKind.(*kind.Type)
		bestType := false
		if best != nil {
			_, bestType = best.ErrorKind.(*kind.Type)
		}
		switch {
		case best == nil, len(c.InstanceLocation) > len(best.InstanceLocation):
			best = c
		case len(c.InstanceLocation) < len(best.InstanceLocation):
		case !isType && bestType:
			best = c
		case isType == bestType && errorText(c) < errorText(best):
			// The schema library lists causes in map order; break the
			// remaining ties by the message, for the same one every run.
			best = c
		}
	}
	for _, c := range e.Causes {
		leaves(c)
	}
	return best
}

func errorText(e *jsonschema.ValidationError) string {
	return SchemaError{Path: e.InstanceLocation, Message: describe(e)}.Error()
}

var printer = message.NewPrinter(language.English)

// describe words a violation as the docker CLI does.
func describe(e *jsonschema.ValidationError) string {
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		want := make([]string, len(k.Want))
		for i, t := range k.Want {
			want[i] = map[string]string{"object": "a mapping", "array": "a list", "integer": "an integer", "null": "null"}[t]
			if want[i] == "" {
				want[i] = "a " + t
			}
		}
		return "must be " + strings.Join(want, " or ")
	case *kind.AdditionalProperties:
		if len(k.Properties) == 1 {
			return fmt.Sprintf("additional property '%s' is not allowed", k.Properties[0])
		}
		// The schema library lists them in map order.
		quoted := make([]string, len(k.Properties))
		for i, p := range slices.Sorted(slices.Values(k.Properties)) {
			quoted[i] = "'" + p + "'"
		}
		return "additional properties " + strings.Join(quoted, ", ") + " are not allowed"
	default:
		return e.ErrorKind.LocalizedString(printer)
	}
}
