// Package sitedoc renders a site's README: what was generated, for which
// nodes, and the order an operator deploys it in.
package sitedoc

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/nuvla/nuvlagen/generator/artifact"
	"github.com/nuvla/nuvlagen/generator/site"
)

// Render writes the site's README.md.
func Render(s *site.Site) ([]byte, error) {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	b.WriteString(artifact.MarkdownHeader(s.File))
	w("# %s\n\n", s.Name)
	switch s.Kind {
	case site.KindHost:
		w("A **host** site: this Swarm runs Nuvla itself, served at https://%s/.\n\n", s.Domain)
	case site.KindTarget:
		w("A **target** site: Nuvla deploys users' containers on this Swarm. Its services are served at https://%s/ and its S3 API at https://%s/.\n\n", s.Domain, s.S3Domain)
	}

	w("## Nodes\n\n| node | address | role | labels |\n|---|---|---|---|\n")
	for _, n := range s.Nodes {
		w("| %s | %s | %s | %s |\n", n.Name, n.Address, n.Role, labels(n.Labels))
	}

	w("\n## Networks\n\n")
	w("- public (Traefik's): `%s`, an overlay network created before the stacks.\n", s.Networks.Public)
	if s.Kind == site.KindHost {
		w("- backend (Nuvla's services and databases): `%s`, an attachable overlay network.\n", s.Networks.Backend)
	}

	w("\n## Deploy order\n\nEach stack lives in `stacks/<stack>/` with its configuration files; deploy them on a manager in this order:\n\n")
	for i, st := range s.Stacks {
		w("%d. `docker stack deploy -c stacks/%s/docker-compose.yml %s`: %s\n", i+1, st.Name, st.Name, purpose[st.Name])
	}

	w("\n## Secrets\n\nDocker secrets the stacks mount (created before deployment; never in this directory):\n\n| secret | kind | purpose |\n|---|---|---|\n")
	for _, sec := range s.Secrets {
		w("| `%s` | %s | %s |\n", sec.Name, sec.Kind, sec.Purpose)
	}
	if len(s.Variables) > 0 {
		w("\nVariables that must be set in the environment of `docker stack deploy` (the compose files refuse to deploy without them):\n\n")
		for _, v := range s.Variables {
			w("- `%s`: %s\n", v.Name, v.Purpose)
		}
	}
	if s.Kind == site.KindTarget {
		w("\n## Registration in Nuvla\n\nOnce deployed, the site is registered in Nuvla with `nuvlagen register` and the documents in `nuvla/`: see [nuvla/README.md](nuvla/README.md).\n")
	}
	return b.Bytes(), nil
}

var purpose = map[string]string{
	"traefik":    "the reverse proxy every route goes through",
	"monitoring": "Prometheus, Grafana and their exporters",
	"db":         "Elasticsearch and Zookeeper",
	"core":       "Nuvla's API, UI and job services",
	"minio":      "S3 over the NFS share",
}

func labels(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("`%s=%s`", k, m[k])
	}
	return strings.Join(parts, " ")
}
