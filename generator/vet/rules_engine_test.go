package vet

import (
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/site/sitetest"
)

// TestSitePortConflicts: with --site, a file's published ports are
// compared with those of the site's other stacks (the example target's
// Traefik publishes 80, 443 and 8080 in host mode), but not with the
// stack the file is, named by its directory.
func TestSitePortConflicts(t *testing.T) {
	s := sitetest.Named(t, "example-target")
	for _, tc := range []struct {
		name, file, src string
		want            []string // messages of swarm-port-conflict, in order
	}{{
		name: "ingress over the site's host-mode port",
		file: "app/docker-compose.yml",
		src:  "services:\n  web:\n    image: nginx:1.27.2\n    ports: [\"443:8443\"]\n",
		want: []string{`service "web" publishes 443/tcp (ingress), which service "traefik" (stack traefik of site example-target) publishes in host mode: the engine refuses the second`},
	}, {
		name: "host mode beside the site's host-mode port",
		file: "app/docker-compose.yml",
		src:  "services:\n  web:\n    image: nginx:1.27.2\n    ports: [{target: 8443, published: 443, mode: host}]\n",
	}, {
		name: "the stack itself",
		file: "out/example-target/stacks/traefik/docker-compose.yml",
		src:  "services:\n  traefik:\n    image: traefik:v3.3.6\n    ports: [\"443:443\"]\n",
	}, {
		name: "another protocol",
		file: "app/docker-compose.yml",
		src:  "services:\n  web:\n    image: nginx:1.27.2\n    ports: [\"443:8443/udp\"]\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, d := range File(tc.file, []byte(tc.src), &Options{Site: s}) {
				if d.Rule == rulePortConflict.ID {
					got = append(got, d.Message)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
