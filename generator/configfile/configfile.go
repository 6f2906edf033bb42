// Package configfile renders the configuration files of a stack (Traefik's
// static and dynamic configuration, Prometheus' scrape configuration,
// Grafana's provisioning) from their CUE data.
package configfile

import (
	"fmt"
	"path"

	"cuelang.org/go/cue"
	"cuelang.org/go/encoding/yaml"
)

// Render encodes one file. Only YAML files are modelled: every tool the
// stacks configure reads YAML.
func Render(header, name string, v cue.Value) ([]byte, error) {
	switch path.Ext(name) {
	case ".yaml", ".yml":
	default:
		return nil, fmt.Errorf("config file %s: only .yaml and .yml files can be rendered", name)
	}
	body, err := yaml.Encode(v)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", name, err)
	}
	return append([]byte(header), body...), nil
}
