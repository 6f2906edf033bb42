// Package configfile renders the configuration files of a stack (Traefik's
// static and dynamic configuration, Prometheus' scrape configuration,
// Grafana's provisioning) from the site's data.
package configfile

import (
	"fmt"
	"path"

	"github.com/nuvla/nuvlagen/generator/site"
)

// Render prints one file with header. Only YAML files are modelled: every
// tool the stacks configure reads YAML.
func Render(header string, f site.File) ([]byte, error) {
	switch path.Ext(f.Name) {
	case ".yaml", ".yml":
	default:
		return nil, fmt.Errorf("config file %s: only .yaml and .yml files can be rendered", f.Name)
	}
	return append([]byte(header), f.YAML...), nil
}
