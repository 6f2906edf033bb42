package vet

import (
	"reflect"
	"strings"
	"testing"

	dockerloader "github.com/docker/cli/cli/compose/loader"
	"github.com/docker/cli/cli/compose/schema"
	yaml "go.yaml.in/yaml/v4"

	"github.com/nuvla/nuvlagen/generator/stackcheck"
)

// TestSchemaVerdicts proves the shortcuts vet takes to be fast and stable
// give the loaders' own verdicts, on every file of the tests and corpus:
// the docker CLI's schema compiled once (stackcheck.StackInterpolate)
// against schema.Validate, which compiles it per call; and compose-go's
// schema error chosen with a stable tie-break against compose-go's load.
func TestSchemaVerdicts(t *testing.T) {
	checked := 0
	for _, f := range interpolatedSeeds(t) {
		data, dict, env, cfg, errs := f.data, f.dict, f.env, f.cfg, f.errs
		checked++
		want := schema.Validate(cfg, schema.Version(dict))
		if (want == nil) != (len(errs) == 0) {
			t.Errorf("docker schema says %v, vet says %v, for:\n%s", want, errs, data)
		}
		if len(errs) > 0 {
			continue
		}
		// Each gets its own copy: compose-go changes the maps it loads.
		ours, err := stackcheck.ComposeSchemaError(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _, _ = stackcheck.StackInterpolate(dict, env)
		composeErr := stackcheck.ComposeInterpolated("x.yml", cfg, true)
		isSchema := composeErr != nil && strings.HasPrefix(composeErr.Error(), "validating ")
		if isSchema != (ours != nil) {
			t.Errorf("compose-go says %v, vet says %v, for:\n%s", composeErr, ours, data)
		}
	}
	if checked < 50 {
		t.Fatalf("only %d files compared", checked)
	}
}

// TestStackLoadInterpolated proves that the docker CLI's loader given the
// file StackInterpolate interpolated says what it says interpolating the
// file itself, and leaves the interpolated file as it was: compose-go
// loads it afterwards.
func TestStackLoadInterpolated(t *testing.T) {
	checked := 0
	for _, f := range interpolatedSeeds(t) {
		data, dict, env, cfg := f.data, f.dict, f.env, f.cfg
		if len(f.errs) > 0 {
			continue
		}
		checked++
		before, _, _ := stackcheck.StackInterpolate(dict, env)
		want := stackcheck.StackLoad("x.yml", ".", dict, env)
		got := stackcheck.StackLoadInterpolated("x.yml", ".", dict, cfg, env)
		if (want == nil) != (got == nil) || (want != nil && want.Error() != got.Error()) {
			t.Errorf("the loader interpolating says %v, given the interpolated file %v, for:\n%s", want, got, data)
		}
		if !reflect.DeepEqual(before, cfg) {
			t.Errorf("the loader changed the interpolated file:\n%s", data)
		}
	}
	if checked < 50 {
		t.Fatalf("only %d files compared", checked)
	}
}

// interpolated is a test file as vet's docker-side check sees it: the
// dict the docker CLI parses (forbidden keys out), the environment the
// file's own defaults give, and StackInterpolate's result.
type interpolated struct {
	data []byte
	dict map[string]any
	env  map[string]string
	cfg  map[string]any
	errs []stackcheck.SchemaError
}

// interpolatedSeeds is every test and corpus file that parses and
// interpolates.
func interpolatedSeeds(t *testing.T) []interpolated {
	t.Helper()
	var out []interpolated
	for _, data := range seedFiles(t) {
		dict, err := dockerloader.ParseYAML(data)
		if err != nil {
			continue
		}
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil {
			continue
		}
		env := lookupEnv(&doc)
		dict = withoutForbidden(dict)
		cfg, errs, err := stackcheck.StackInterpolate(dict, env)
		if err != nil {
			continue // interpolation failed: nothing to compare
		}
		out = append(out, interpolated{data, dict, env, cfg, errs})
	}
	return out
}
