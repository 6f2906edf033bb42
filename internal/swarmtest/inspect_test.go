package swarmtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/internal/golden"
)

// snapshot is what the daemon made of a site: the raw `docker inspect`
// output of its services, networks, secrets and configs, by name.
type snapshot struct {
	services, networks, secrets, configs map[string]map[string]any
	// netNames resolves the network IDs services refer to.
	netNames map[string]string
	// variables are the site's required variables: their values come
	// from the secrets directory, random on every run.
	variables map[string]bool
	// secretOf maps a secret's version to the secret: the version's digest
	// is of a file that is random on every run too.
	secretOf map[string]string
}

// snapshot inspects every object of the deployment.
func (dp *deployment) snapshot() (*snapshot, error) {
	d := dp.d
	var services, networks, configs []string
	networks = append(networks, dp.sharedNetworks()...)
	for _, st := range dp.site.Stacks {
		filter := "label=" + namespaceLabel + "=" + st.Name
		for kind, dst := range map[string]*[]string{"service": &services, "network": &networks, "config": &configs} {
			l, err := d.Lines(kind, "ls", "--filter", filter, "--format", "{{.Name}}")
			if err != nil {
				return nil, err
			}
			*dst = append(*dst, l...)
		}
	}
	var secrets []string
	snap := &snapshot{netNames: map[string]string{}, variables: map[string]bool{}, secretOf: map[string]string{}}
	for _, s := range dp.site.Secrets {
		secrets = append(secrets, dp.versions[s.Name])
		snap.secretOf[dp.versions[s.Name]] = s.Name
	}
	for _, v := range dp.site.Variables {
		snap.variables[v.Name] = true
	}
	for _, o := range []struct {
		kind  string
		names []string
		dst   *map[string]map[string]any
	}{
		{"service", services, &snap.services},
		{"network", networks, &snap.networks},
		{"secret", secrets, &snap.secrets},
		{"config", configs, &snap.configs},
	} {
		*o.dst = map[string]map[string]any{}
		all, err := d.Inspect(o.kind, o.names...)
		if err != nil {
			return nil, err
		}
		for _, v := range all {
			name := str(v, "Name")
			if o.kind != "network" {
				name = str(v, "Spec", "Name")
			}
			(*o.dst)[name] = v
		}
	}
	ids, err := d.Lines("network", "ls", "--no-trunc", "--format", "{{.ID}} {{.Name}}")
	if err != nil {
		return nil, err
	}
	for _, l := range ids {
		id, name, _ := strings.Cut(l, " ")
		snap.netNames[id] = name
	}
	return snap, nil
}

// normalise turns the snapshot into golden files: one JSON file per
// object, by kind and name, plus each config's data as text. Dropped:
// what the daemon assigns and a redeploy changes (IDs, versions,
// timestamps, VIPs, subnets, VXLAN IDs, image digests) and the
// observed state that merely repeats the spec (a service's Endpoint).
// Network IDs in service specs become network names.
func (s *snapshot) normalise() (map[string][]byte, error) {
	out := map[string][]byte{}
	put := func(p string, v any) error {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // Traefik rules hold && and <>
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
		out[p] = []byte(b.String())
		return nil
	}
	for name, v := range s.services {
		spec, err := s.serviceSpec(v)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", name, err)
		}
		if err := put("services/"+name+".json", spec); err != nil {
			return nil, err
		}
	}
	for name, v := range s.networks {
		n := clone(v)
		for _, k := range []string{"Id", "Created", "Containers", "Peers", "Services"} {
			delete(n, k)
		}
		if ipam, ok := n["IPAM"].(map[string]any); ok {
			delete(ipam, "Config") // subnets come from the address pool
			emptyIfNull(ipam, "Options")
		}
		// The node answers with its local copy of a network while a task
		// of its uses it, with the manager's otherwise: they differ in
		// null against empty maps.
		emptyIfNull(n, "Labels")
		emptyIfNull(n, "Options")
		if opts, ok := n["Options"].(map[string]any); ok {
			delete(opts, "com.docker.network.driver.overlay.vxlanid_list")
		}
		if err := put("networks/"+name+".json", n); err != nil {
			return nil, err
		}
	}
	for name, v := range s.secrets {
		spec := clone(v["Spec"].(map[string]any))
		spec["Name"] = s.versionName(name)
		if labels, ok := spec["Labels"].(map[string]any); ok && labels["nuvlagen.sha256"] != nil {
			labels["nuvlagen.sha256"] = "<sha256 of the file>"
		}
		if err := put("secrets/"+s.secretOf[name]+".json", spec); err != nil {
			return nil, err
		}
	}
	for name, v := range s.configs {
		spec := clone(v["Spec"].(map[string]any))
		data, err := configData(v)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", name, err)
		}
		delete(spec, "Data")
		if err := put("configs/"+name+".json", spec); err != nil {
			return nil, err
		}
		out["configs/"+name+".data"] = data
	}
	return out, nil
}

// versionName is a secret version's name with its digest left out.
func (s *snapshot) versionName(version string) string {
	if name, ok := s.secretOf[version]; ok {
		return name + "_<digest12>"
	}
	return version
}

var digest = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)

// serviceSpec is a service's normalised spec.
func (s *snapshot) serviceSpec(v map[string]any) (map[string]any, error) {
	spec := clone(v["Spec"].(map[string]any))
	tt, _ := spec["TaskTemplate"].(map[string]any)
	cs, _ := tt["ContainerSpec"].(map[string]any)
	if img, ok := cs["Image"].(string); ok {
		cs["Image"] = digest.ReplaceAllString(img, "")
	}
	env, _ := cs["Env"].([]any)
	for i, e := range env {
		if k, _, ok := strings.Cut(e.(string), "="); ok && s.variables[k] {
			env[i] = k + "=<from the secrets directory>"
		}
	}
	for _, k := range []string{"Secrets", "Configs"} {
		refs, _ := cs[k].([]any)
		for _, r := range refs {
			m := r.(map[string]any)
			delete(m, "SecretID")
			delete(m, "ConfigID")
			if n, ok := m["SecretName"].(string); ok {
				m["SecretName"] = s.versionName(n)
			}
		}
	}
	nets, _ := tt["Networks"].([]any)
	for _, n := range nets {
		m := n.(map[string]any)
		id, _ := m["Target"].(string)
		name, ok := s.netNames[id]
		if !ok {
			return nil, fmt.Errorf("attached to network %s, which the daemon does not list", id)
		}
		m["Target"] = name
	}
	slices.SortFunc(nets, func(a, b any) int {
		return strings.Compare(a.(map[string]any)["Target"].(string), b.(map[string]any)["Target"].(string))
	})
	return spec, nil
}

// configData decodes the content the daemon stores for a config.
func configData(v map[string]any) ([]byte, error) {
	return base64.StdEncoding.DecodeString(str(v, "Spec", "Data"))
}

// serviceNetworks are the names of the networks a service is attached to.
func (s *snapshot) serviceNetworks(v map[string]any) []string {
	var names []string
	nets, _ := get(v, "Spec", "TaskTemplate", "Networks").([]any)
	for _, n := range nets {
		id, _ := n.(map[string]any)["Target"].(string)
		if name, ok := s.netNames[id]; ok {
			names = append(names, name)
		} else {
			names = append(names, id)
		}
	}
	slices.Sort(names)
	return names
}

// compareGolden compares got with testdata/<name>.txtar, or rewrites it,
// with comment, under UPDATE_GOLDEN=1. A missing, extra or different
// file fails.
func compareGolden(t *testing.T, name, comment string, got map[string][]byte) {
	t.Helper()
	c := golden.Open(t, filepath.Join("testdata", name+".txtar"), golden.All)
	c.Archive.Comment = []byte(comment)
	c.Check(t, golden.Sorted("", got))
}

func emptyIfNull(m map[string]any, key string) {
	if m[key] == nil {
		m[key] = map[string]any{}
	}
}

// get walks nested JSON objects; nil when a key is missing.
func get(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

// clone deep-copies decoded JSON, so normalising never edits the
// snapshot the assertions read.
func clone[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var c T
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		panic(err)
	}
	return c
}
