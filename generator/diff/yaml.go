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
var yamlDiffer = differ{
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
	// Parsed into nodes first: the limits are checked there, and the
	// duplicate keys found in linear time before go-yaml decodes without
	// its own, pairwise, check.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := checkLimits(&doc, 0); err != nil {
		return nil, fmt.Errorf("not compared as data: %v", err)
	}
	if err := firstDuplicate(&doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %v", err)
	}
	var v any
	if len(doc.Content) == 0 {
		return v, nil
	}
	if err := doc.Load(&v, yaml.WithV3Defaults(), yaml.WithUniqueKeys(false)); err != nil {
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
