package diff

import (
	"fmt"
	"path"
	"strings"

	"go.yaml.in/yaml/v4"
)

// yamlDiffer compares YAML configuration files (Traefik, Prometheus,
// Grafana) as data: key order and formatting do not matter, list order
// does (in these files it is meaningful: middleware chains, scrape jobs).
var yamlDiffer = Differ{
	Kind: "yaml",
	Match: func(rel string) bool {
		ext := path.Ext(rel)
		return ext == ".yaml" || ext == ".yml"
	},
	Diff: diffYAML,
}

func parseYAML(data []byte) (any, error) {
	if data == nil {
		return map[string]any{}, nil
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("not valid YAML: %v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return v, nil
}

func diffYAML(rel string, old, new []byte) ([]Change, error) {
	vo, err := parseYAML(old)
	if err != nil {
		return nil, fmt.Errorf("old %s: %w", rel, err)
	}
	vn, err := parseYAML(new)
	if err != nil {
		return nil, fmt.Errorf("new %s: %w", rel, err)
	}
	var out []Change
	for _, d := range deltas(vo, vn, dataOpts...) {
		op := OpChange
		switch {
		case d.added():
			op = OpAdd
		case d.removed():
			op = OpRemove
		}
		c := dataChange("", d.path, d, op)
		if len(d.path) == 0 {
			c.Text = fmt.Sprintf("document: %s → %s", show(d.old), show(d.new))
		}
		out = append(out, c)
	}
	return out, nil
}
