package pipeline

import (
	"fmt"
	"math/rand/v2"
	"path"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/encoding/yaml"

	"github.com/nuvla/nuvlagen/generator/compose"
)

// TestRenameNetworks is a property test: for sites whose shared networks
// get random valid names, the default names appear in no generated file,
// and every reference to a network (service attachments, the top-level
// declarations, Traefik's labels and its provider configuration) names
// one the site defines.
func TestRenameNetworks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11)) // fixed: a failure must reproduce
	l := newLoader(t)
	for i := range 30 {
		public, backend := randomNetworkName(rng), randomNetworkName(rng)
		for backend == public {
			backend = randomNetworkName(rng)
		}
		kind := []string{"host", "target"}[i%2]
		src := renameSite(kind, public, backend)
		sites, err := l.Load("rename.cue", []byte(src))
		if err != nil {
			t.Fatalf("public=%q backend=%q: %v", public, backend, err)
		}
		files, err := render(sites)
		if err != nil {
			t.Fatalf("public=%q backend=%q: %v", public, backend, err)
		}
		for _, p := range files.Paths() {
			for _, def := range []string{"traefik-public", "nuvla-backend"} {
				if strings.Contains(string(files[p]), def) {
					t.Errorf("public=%q backend=%q: %s still mentions %s", public, backend, p, def)
				}
			}
		}
		checkNetworkReferences(t, files, public, backend)
	}
}

func checkNetworkReferences(t *testing.T, files Files, public, backend string) {
	t.Helper()
	shared := map[string]bool{public: true, backend: true}
	for _, p := range files.Paths() {
		stack := path.Base(path.Dir(p))
		switch path.Base(p) {
		case compose.FileName:
			proj, err := compose.Project(stack, files[p])
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			for name, n := range proj.Networks {
				if bool(n.External) && !shared[name] {
					t.Errorf("%s: external network %q is not one the site creates", p, name)
				}
			}
			for _, svc := range proj.Services {
				for n := range svc.Networks {
					if _, ok := proj.Networks[n]; !ok {
						t.Errorf("%s: service %s attaches to undeclared network %q", p, svc.Name, n)
					}
				}
				if svc.Deploy == nil || svc.Deploy.Labels["traefik.enable"] != "true" {
					continue
				}
				if got := svc.Deploy.Labels["traefik.swarm.network"]; got != public {
					t.Errorf("%s: service %s routes through %q, want the public network %q", p, svc.Name, got, public)
				}
				if _, ok := svc.Networks[public]; !ok {
					t.Errorf("%s: routed service %s is not on the public network %q", p, svc.Name, public)
				}
			}
		case "traefik.yaml":
			f, err := yaml.Extract(p, files[p])
			if err != nil {
				t.Fatal(err)
			}
			v := cuecontext.New().BuildFile(f)
			got, _ := v.LookupPath(cue.ParsePath("providers.swarm.network")).String()
			if got != public {
				t.Errorf("%s: Traefik's provider network is %q, want %q", p, got, public)
			}
		}
	}
}

// randomNetworkName draws a name swarmkit accepts (letters and digits,
// "-" and "_" only between them, 63 at most), avoiding the reserved ones
// and any that contains a default name, which the "default never appears"
// property could not tell apart.
func randomNetworkName(rng *rand.Rand) string {
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	const all = alnum + "_-"
	for {
		n := 1 + rng.IntN(63)
		var b strings.Builder
		for i := range n {
			if i == 0 || i == n-1 {
				b.WriteByte(alnum[rng.IntN(len(alnum))])
			} else {
				b.WriteByte(all[rng.IntN(len(all))])
			}
		}
		name := b.String()
		switch {
		case strings.Contains(name, "traefik-public"), strings.Contains(name, "nuvla-backend"):
		case reserved[name]:
		default:
			return name
		}
	}
}

var reserved = map[string]bool{"ingress": true, "bridge": true, "host": true, "none": true, "docker_gwbridge": true, "net": true, "prometheus_net": true}

func renameSite(kind, public, backend string) string {
	nodes := `
		"a": {address: "192.0.2.1", role: "manager", labels: type: "frontend"}
		"b": {address: "192.0.2.2", role: "worker", labels: type: "worker-job"}
		"c": {address: "192.0.2.3", role: "worker", labels: type: "worker-db"}`
	groups := `management: ["198.51.100.0/28"]`
	if kind == "target" {
		nodes = `
		"a": {address: "203.0.113.1", role: "manager", nfsServer: true}`
		groups = `{management: ["198.51.100.0/28"], nuvla: ["192.0.2.10/32"]}`
	}
	return fmt.Sprintf(`sites: "r": {
	kind: %q
	domain: "r.example.org"
	nodes: {%s
	}
	groups: %s
	networks: {public: %q, backend: %q}
}
`, kind, nodes, groups, public, backend)
}
