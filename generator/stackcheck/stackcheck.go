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
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	dockerloader "github.com/docker/cli/cli/compose/loader"
	dockertypes "github.com/docker/cli/cli/compose/types"
)

// Check validates one compose file. env holds the variables the file's
// ${VAR} references resolve to, as `docker stack deploy` would see them;
// a required variable missing from env is an error.
func Check(filename string, data []byte, env map[string]string) error {
	if err := Compose(filename, data, env); err != nil {
		return err
	}
	return Stack(filename, data, env)
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
		var forbidden *dockerloader.ForbiddenPropertiesError
		if errors.As(err, &forbidden) {
			// The error's own text names no property; its map does.
			keys := sortedKeys(forbidden.Properties)
			return fmt.Errorf("%s: docker stack: forbids %s: %s", filename, keys[0], forbidden.Properties[keys[0]])
		}
		return fmt.Errorf("%s: docker stack: %w", filename, err)
	}
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
