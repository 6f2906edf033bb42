package vet

import (
	"fmt"
	"strings"
	"testing"
	"time"

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

// TestPortRanges: a range is checked port by port but reported once, at
// its first conflicting port; large ranges cost linear time (each port
// would otherwise be compared with every port before it), and vet
// expands at most maxPorts of a file.
func TestPortRanges(t *testing.T) {
	src := "services:\n  a:\n    image: nginx:1.27.2\n    ports:\n" + strings.Repeat("      - \"1-30000:1-30000\"\n", 2) +
		"  b:\n    image: nginx:1.27.2\n    ports: [\"8000-8010:80-90\"]\n"
	var got []string
	for _, d := range File("ranges.yml", []byte(src), nil) {
		if d.Rule == rulePortConflict.ID {
			got = append(got, fmt.Sprintf("%d: %s", d.Line, d.Message))
		}
	}
	want := []string{
		`6: service "a" publishes 1/tcp twice (also at line 5): duplicate published ports provided`,
		`9: service "b" publishes 8000/tcp (ingress), which service "a" (line 5) publishes in ingress mode: the engine refuses the second`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Past maxPorts, nothing more is expanded: the check alone (the
	// loaders expand ranges themselves) takes well under a second, where
	// comparing every port with every other took minutes.
	src = "services:\n  a:\n    image: nginx:1.27.2\n    ports:\n" + strings.Repeat("      - \"1-65535:1-65535\"\n", 3000)
	f := &file{name: "huge.yml", data: []byte(src), opts: &Options{}}
	if !f.parse() {
		t.Fatal("huge.yml does not parse")
	}
	start := time.Now()
	checkPortConflicts(f)
	checkEndpointMode(f)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("3000 whole-range entries took %v", d)
	}
}
