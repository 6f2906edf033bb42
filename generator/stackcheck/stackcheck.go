// Package stackcheck loads a compose file the two ways that matter for a
// Swarm deployment: as compose-go does (the Compose specification's schema
// and consistency rules) and as `docker stack deploy` does (the docker
// CLI's own v3 schema and loader). They disagree in places: the stack
// schema rejects a top-level `name:`, long-form depends_on, deploy keys
// outside its list, host IPs in long-form ports, while compose-go accepts
// them all. A file meant for Swarm has to pass both.
package stackcheck

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	composeschema "github.com/compose-spec/compose-go/v2/schema"
	"github.com/compose-spec/compose-go/v2/types"
	dockerloader "github.com/docker/cli/cli/compose/loader"
	dockertypes "github.com/docker/cli/cli/compose/types"
)

// Check validates one compose file. env holds the variables the file's
// ${VAR} references resolve to, as `docker stack deploy` would see them;
// a required variable missing from env is an error.
//
// The file is parsed once and interpolated once, as the docker CLI does;
// both loaders then run on that, with their schemas compiled once per
// process (see StackInterpolate and ComposeInterpolated): generation
// checks every file it writes, so this is its hot path.
func Check(filename string, data []byte, env map[string]string) error {
	dict, err := dockerloader.ParseYAML(data)
	if err != nil {
		return fmt.Errorf("%s: docker stack: %w", filename, err)
	}
	// The docker CLI refuses forbidden options before anything else.
	if err := forbidden(filename, dict); err != nil {
		return err
	}
	cfg, schemaErrs, err := StackInterpolate(dict, env)
	if err != nil {
		return fmt.Errorf("%s: docker stack: %w", filename, err)
	}
	if len(schemaErrs) > 0 {
		return fmt.Errorf("%s: docker stack: %w", filename, schemaErrs[0])
	}
	if err := StackLoad(filename, filepath.Dir(filename), dict, env); err != nil {
		return stackError(filename, err)
	}
	if err := swarmOnly(filename, dict); err != nil {
		return err
	}
	if err := ComposeInterpolated(filename, cfg, true); err != nil {
		return fmt.Errorf("%s: compose-go: %w", filename, err)
	}
	return nil
}

// Prepare compiles, in the background, the schemas Check validates with:
// the docker CLI's for a file without a version (3.13, what nuvlagen
// writes) and compose-go's own. Each is compiled once per process, on
// first use, and a Check that needs one still being compiled waits for
// it. A command calls Prepare before the work that comes before its first
// Check (compiling the CUE model, loading sites), so that the schemas
// (about 20 ms of CPU) compile beside that work instead of in front of the
// first render.
func Prepare() {
	go stackSchema(normalizeVersion(""))
	// compose-go compiles its schema on its first Validate, and has no
	// other way to ask for it: an empty document is validated in no time.
	go composeschema.Validate(map[string]any{})
}

// Compose loads the file with compose-go.
func Compose(filename string, data []byte, env map[string]string) error {
	_, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(filename),
		ConfigFiles: []types.ConfigFile{{Filename: filename, Content: data}},
		Environment: types.Mapping(env),
	}, func(o *loader.Options) {
		o.SetProjectName("check", true)
		o.ResolvePaths = false
		o.SkipInclude = true
	})
	if err != nil {
		return fmt.Errorf("%s: compose-go: %w", filename, err)
	}
	return nil
}

// ComposeInterpolated loads with compose-go a file already parsed and
// interpolated (by StackInterpolate), without reading anything else from
// the disk (env_file, includes). It skips compose-go's own interpolation,
// which dominates its cost, and with validate false its schema validation
// (see ComposeSchemaError).
func ComposeInterpolated(filename string, dict map[string]any, validate bool) error {
	_, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(filename),
		ConfigFiles: []types.ConfigFile{{Filename: filename, Config: dict}},
	}, func(o *loader.Options) {
		o.SetProjectName("check", true)
		o.ResolvePaths = false
		o.SkipInclude = true
		o.SkipInterpolation = true
		o.SkipResolveEnvironment = true
		o.SkipValidation = !validate
	})
	return err
}

// Stack loads the file with the docker CLI's stack loader, and also refuses
// the service options that loader would silently ignore or deprecate:
// `docker stack deploy` only warns about them, and a generated file must
// not carry options that do nothing.
func Stack(filename string, data []byte, env map[string]string) error {
	dict, err := dockerloader.ParseYAML(data)
	if err != nil {
		return fmt.Errorf("%s: docker stack: %w", filename, err)
	}
	details := dockertypes.ConfigDetails{
		WorkingDir:  filepath.Dir(filename),
		ConfigFiles: []dockertypes.ConfigFile{{Filename: filename, Config: dict}},
		Environment: env,
	}
	if _, err := dockerloader.Load(details); err != nil {
		return stackError(filename, err)
	}
	return swarmOnly(filename, dict)
}

func forbidden(filename string, dict map[string]any) error {
	services, _ := dict["services"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(services)) {
		svc, _ := services[name].(map[string]any)
		for _, key := range slices.Sorted(maps.Keys(svc)) {
			if why, ok := dockertypes.ForbiddenProperties[key]; ok {
				return fmt.Errorf("%s: docker stack: forbids %s: %s", filename, key, why)
			}
		}
	}
	return nil
}

func stackError(filename string, err error) error {
	var forbidden *dockerloader.ForbiddenPropertiesError
	if errors.As(err, &forbidden) {
		// The error's own text names no property; its map does.
		keys := sortedKeys(forbidden.Properties)
		return fmt.Errorf("%s: docker stack: forbids %s: %s", filename, keys[0], forbidden.Properties[keys[0]])
	}
	return fmt.Errorf("%s: docker stack: %w", filename, err)
}

// swarmOnly refuses the options `docker stack deploy` ignores or
// deprecates with only a warning.
func swarmOnly(filename string, dict map[string]any) error {
	if props := dockerloader.GetUnsupportedProperties(dict); len(props) > 0 {
		sort.Strings(props)
		return fmt.Errorf("%s: docker stack: ignores %s in Swarm mode", filename, strings.Join(props, ", "))
	}
	if dep := dockerloader.GetDeprecatedProperties(dict); len(dep) > 0 {
		keys := sortedKeys(dep)
		return fmt.Errorf("%s: docker stack: deprecated %s: %s", filename, keys[0], dep[keys[0]])
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
