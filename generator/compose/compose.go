// Package compose renders a stack of the model as the docker-compose file
// `docker stack deploy` reads, through compose-go's typed project.
package compose

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"

	"github.com/nuvla/nuvlagen/generator/artifact"
)

// FileName is the compose file's name inside a stack directory.
const FileName = "docker-compose.yml"

// Header is the first line of every generated file (artifact.Header).
func Header(source string) string { return artifact.Header(source) }

// Project loads compose data (JSON or YAML) into compose-go's typed model
// without interpolating: the ${VAR:?...} references must survive into the
// output, to be resolved by `docker stack deploy` on the operator's machine.
func Project(stack string, data []byte) (*types.Project, error) {
	return load(stack, data, false)
}

// load reads compose data; fast skips the schema and consistency checks,
// for input whose output is checked in full afterwards anyway.
func load(stack string, data []byte, fast bool) (*types.Project, error) {
	file := types.ConfigFile{Filename: FileName, Content: data}
	if fast {
		// Rendering passes JSON from CUE: decoded here, compose-go skips
		// its YAML decoding and the !reset/!override processing that only
		// YAML can ask for, most of its cost.
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var dict map[string]any
		if err := dec.Decode(&dict); err != nil {
			return nil, err
		}
		file = types.ConfigFile{Filename: FileName, Config: yamlNumbers(dict).(map[string]any)}
	}
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		// WorkingDir is never read: paths are kept relative (ResolvePaths is
		// off), so output does not depend on where nuvlagen runs.
		WorkingDir:  "/",
		ConfigFiles: []types.ConfigFile{file},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SkipInterpolation = true
		o.SkipNormalization = true
		o.SkipResolveEnvironment = true
		o.ResolvePaths = false
		o.SkipInclude = true
		o.SkipExtends = true
		o.SetProjectName(stack, true)
		o.SkipValidation = fast
		o.SkipConsistencyCheck = fast
	})
}

// yamlNumbers turns JSON numbers into what a YAML decoder yields (int for
// integers), the types compose-go's decoding expects.
func yamlNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = yamlNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = yamlNumbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// Render turns one stack's compose data into the bytes of its compose file.
// files are the configuration files rendered beside it: every `file:`
// config must be one of them, and its Swarm name carries a hash of the
// content, because Swarm configs are immutable and a changed file must
// become a new config for `docker stack deploy` to roll it out.
//
// The input is not validated here: the caller validates the output, the
// file that matters, in full (see package stackcheck).
func Render(source, stack string, data []byte, files map[string][]byte) ([]byte, *types.Project, error) {
	p, err := load(stack, data, true)
	if err != nil {
		return nil, nil, fmt.Errorf("stack %s: %w", stack, err)
	}
	for key, c := range p.Configs {
		if c.File == "" {
			continue
		}
		content, ok := files[path.Clean(c.File)]
		if !ok {
			return nil, nil, fmt.Errorf("stack %s: config %s: file %s is not generated", stack, key, c.File)
		}
		sum := sha256.Sum256(content)
		c.Name = fmt.Sprintf("%s_%s-%s", stack, key, hex.EncodeToString(sum[:])[:12])
		p.Configs[key] = c
	}
	// Swarm secrets are immutable too, but their content is the
	// operator's, unknown here: deploy.sh names each version by its
	// file's digest and passes the name in a variable.
	vars := map[string]string{}
	for key, sc := range p.Secrets {
		if !sc.External {
			continue
		}
		v := SecretVariable(key)
		if other, dup := vars[v]; dup {
			return nil, nil, fmt.Errorf("stack %s: secrets %s and %s would both be named by $%s", stack, other, key, v)
		}
		vars[v] = key
		sc.Name = "${" + v + ":?" + SecretVariableHint + "}"
		p.Secrets[key] = sc
	}
	out, err := p.MarshalYAML()
	if err != nil {
		return nil, nil, fmt.Errorf("stack %s: %w", stack, err)
	}
	out, err = ForSwarm(out)
	if err != nil {
		return nil, nil, fmt.Errorf("stack %s: %w", stack, err)
	}
	return append([]byte(Header(source)), out...), p, nil
}

// SecretVariableHint is the message `docker stack deploy` stops with when
// a compose file is deployed without deploy.sh, which sets the variables
// naming the secrets.
const SecretVariableHint = "set by deploy.sh to the Swarm name of the current version of this secret"

// SecretVariable is the deploy-time variable that holds the Swarm name of
// secret name's current version (<name>_<digest12>, created by deploy.sh):
// the name upper-cased, "." and "-" as "_", and "_SECRET".
func SecretVariable(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '.' || r == '-':
			return '_'
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, name) + "_SECRET"
}

// ForSwarm rewrites compose-go's YAML where it differs from what the docker
// CLI's stack loader accepts or what a reviewer expects to read:
//   - no top-level `name:` (the stack schema rejects it; the stack name is
//     given to `docker stack deploy`);
//   - `published` ports as integers (compose-go writes strings, the stack
//     schema wants integers);
//   - byte sizes as the units they were written in ("128M", not "134217728");
//   - networks attached as a list when none has options;
//   - no empty `bind: {}` or `volume: {}` maps on mounts;
//   - service keys in reading order: what runs (image, command) first,
//     how Swarm places it (deploy) last.
func ForSwarm(in []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(in, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("compose YAML is not a mapping")
	}
	root := doc.Content[0]
	deleteKey(root, "name")
	if services := get(root, "services"); services != nil {
		for i := 1; i < len(services.Content); i += 2 {
			fixService(services.Content[i])
		}
	}
	// No line wrapping: a folded ${VAR:?message} reads as two values.
	return yaml.Dump(&doc, yaml.WithV3Defaults(), yaml.WithIndent(2), yaml.WithLineWidth(-1))
}

func fixService(svc *yaml.Node) {
	orderKeys(svc)
	if ports := get(svc, "ports"); ports != nil {
		for _, p := range ports.Content {
			if pub := get(p, "published"); pub != nil && pub.Kind == yaml.ScalarNode {
				pub.Tag, pub.Style = "!!int", 0
			}
		}
	}
	if res := getPath(svc, "deploy", "resources"); res != nil {
		for _, k := range []string{"limits", "reservations"} {
			if mem := getPath(res, k, "memory"); mem != nil {
				mem.Value, mem.Tag, mem.Style = humanBytes(mem.Value), "!!str", 0
			}
		}
	}
	if nets := get(svc, "networks"); nets != nil && nets.Kind == yaml.MappingNode {
		list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := 0; i < len(nets.Content); i += 2 {
			if v := nets.Content[i+1]; v.Tag != "!!null" {
				list = nil
				break
			}
			list.Content = append(list.Content, nets.Content[i])
		}
		if list != nil {
			sort.SliceStable(list.Content, func(a, b int) bool { return list.Content[a].Value < list.Content[b].Value })
			*nets = *list
		}
	}
	if vols := get(svc, "volumes"); vols != nil {
		for _, v := range vols.Content {
			for _, k := range []string{"bind", "volume", "tmpfs", "image"} {
				if n := get(v, k); n != nil && n.Kind == yaml.MappingNode && len(n.Content) == 0 {
					deleteKey(v, k)
				}
			}
		}
	}
}

// humanBytes writes a byte count in the largest binary unit that divides it,
// with Docker's unit letters (k, M, G: powers of 1024).
func humanBytes(s string) string {
	var n int64
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != s {
		return s
	}
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"G", 1 << 30}, {"M", 1 << 20}, {"k", 1 << 10}} {
		if n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.suffix)
		}
	}
	return s
}

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func getPath(m *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		m = get(m, k)
	}
	return m
}

func deleteKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// serviceKeyOrder ranks the service keys reviewers look for first.
var serviceKeyOrder = map[string]int{
	"image": 1, "entrypoint": 2, "command": 3, "environment": 4,
	"secrets": 5, "configs": 6, "volumes": 7, "ports": 8, "networks": 9,
}

// orderKeys sorts a service's keys by serviceKeyOrder, keeping unranked
// keys (deploy among them) after the ranked ones in their original order.
func orderKeys(m *yaml.Node) {
	if m.Kind != yaml.MappingNode {
		return
	}
	type pair struct{ k, v *yaml.Node }
	pairs := make([]pair, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		pairs = append(pairs, pair{m.Content[i], m.Content[i+1]})
	}
	rank := func(k string) int {
		if r, ok := serviceKeyOrder[k]; ok {
			return r
		}
		return len(serviceKeyOrder) + 1
	}
	sort.SliceStable(pairs, func(a, b int) bool { return rank(pairs[a].k.Value) < rank(pairs[b].k.Value) })
	m.Content = m.Content[:0]
	for _, p := range pairs {
		m.Content = append(m.Content, p.k, p.v)
	}
}
