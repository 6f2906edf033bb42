package scripts

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/site"
)

// VerifyTimeout is how long, in seconds, verify.sh gives each request.
const VerifyTimeout = 10

// esPort is Elasticsearch's HTTP port on the backend network (the
// image's default, which the exporter's --es.uri uses too).
const esPort = 9200

// Expectations of a probe: what answer passes.
const (
	expectJSON   = "json"   // 200 with a JSON body
	expectOK     = "ok"     // 200
	expectRefuse = "refuse" // 401 or 403, or a redirect to a login page
)

// probe is one HTTP check of verify.sh, and the Traefik router the model
// must have for it: verify.sh asks what the model routes, and a route
// that changed in the model fails the render instead of the check.
type probe struct {
	what   string // what verify.sh's line names
	router string // the router's name in the stacks' Traefik labels
	// host is the Host the request carries ("" for the dashboard, which
	// the traefik entry point serves by address), path what it asks for,
	// and prefix what the router's rule must match it by.
	host, path, prefix string
	expect             string
	// auth: the router must have a basic-auth middleware (Traefik asks
	// for the credentials, not the service).
	auth bool
}

// probes lists a site's HTTP checks: Nuvla's API and UI on a host site,
// Minio's S3 health on a target, and on both the monitoring pages, which
// must refuse a request without credentials.
func probes(s *site.Site) []probe {
	var out []probe
	if s.Kind == site.KindHost {
		out = append(out,
			probe{what: "Nuvla's API", router: "api", host: s.Domain, path: "/api/cloud-entry-point", prefix: "PathPrefix(`/api`)", expect: expectJSON},
			probe{what: "Nuvla's UI", router: "ui", host: s.Domain, path: "/ui/", prefix: "PathPrefix(`/ui`)", expect: expectOK},
		)
	}
	if s.Kind == site.KindTarget {
		out = append(out, probe{what: "Minio's S3 API", router: "minio-s3", host: s.S3Domain, path: "/minio/health/live", expect: expectOK})
	}
	return append(out,
		// Grafana asks for its own login: Traefik passes the request on.
		probe{what: "Grafana", router: "grafana", host: s.Domain, path: "/grafana/", prefix: "PathPrefix(`/grafana`)", expect: expectRefuse},
		probe{what: "Prometheus", router: "prometheus", host: s.Domain, path: "/prometheus/", prefix: "PathPrefix(`/prometheus`)", expect: expectRefuse, auth: true},
		probe{what: "Traefik's dashboard", router: "dashboard", path: "/dashboard/", prefix: "PathPrefix(`/dashboard`)", expect: expectRefuse, auth: true},
	)
}

// stackServices are the parts of a compose file verify.sh reads.
type stackServices struct {
	Services map[string]struct {
		Image    string          `json:"image"`
		Networks json.RawMessage `json:"networks"`
		Deploy   struct {
			Labels map[string]string `json:"labels"`
		} `json:"deploy"`
	} `json:"services"`
}

// verifyModel is what verify.sh needs of the site's stacks.
type verifyModel struct {
	services []string          // Swarm names, stacks in deployment order
	labels   map[string]string // every service's Traefik labels
	// esService is, on a host site, the Elasticsearch service's name on
	// the backend network.
	esService string
	// httpsPort and dashboardPort are Traefik's websecure and traefik
	// entry points.
	httpsPort, dashboardPort int
}

func readVerifyModel(s *site.Site) (verifyModel, error) {
	m := verifyModel{labels: map[string]string{}}
	for _, st := range s.Stacks {
		var c stackServices
		if err := json.Unmarshal(st.Compose, &c); err != nil {
			return m, fmt.Errorf("stack %s: %w", st.Name, err)
		}
		for _, name := range slices.Sorted(maps.Keys(c.Services)) {
			svc := c.Services[name]
			m.services = append(m.services, st.Name+"_"+name)
			for k, v := range svc.Deploy.Labels {
				if _, dup := m.labels[k]; dup && strings.HasPrefix(k, "traefik.http.") {
					return m, fmt.Errorf("stack %s, service %s: Traefik label %s is set by another service too", st.Name, name, k)
				}
				m.labels[k] = v
			}
			if s.Kind == site.KindHost && svc.Image == s.Images["elasticsearch"] {
				if m.esService != "" {
					return m, fmt.Errorf("stack %s: two services run Elasticsearch (%s, %s)", st.Name, m.esService, name)
				}
				var nets []string
				if err := json.Unmarshal(svc.Networks, &nets); err != nil || !slices.Contains(nets, s.Networks.Backend) {
					return m, fmt.Errorf("stack %s, service %s: Elasticsearch is not on the backend network %s", st.Name, name, s.Networks.Backend)
				}
				m.esService = name
			}
		}
		for _, f := range st.Files {
			if f.Name != "traefik.yaml" {
				continue
			}
			var conf struct {
				EntryPoints map[string]struct {
					Address string `yaml:"address"`
				} `yaml:"entryPoints"`
			}
			if err := yaml.Unmarshal(f.Data, &conf); err != nil {
				return m, fmt.Errorf("stack %s, %s: %w", st.Name, f.Name, err)
			}
			for ep, port := range map[string]*int{"websecure": &m.httpsPort, "traefik": &m.dashboardPort} {
				p, err := strconv.Atoi(strings.TrimPrefix(conf.EntryPoints[ep].Address, ":"))
				if err != nil || p < 1 || p > 65535 {
					return m, fmt.Errorf("stack %s, %s: entry point %s has no port of its own (address %q)", st.Name, f.Name, ep, conf.EntryPoints[ep].Address)
				}
				*port = p
			}
		}
	}
	if m.httpsPort == 0 {
		return m, fmt.Errorf("no stack has Traefik's traefik.yaml")
	}
	if s.Kind == site.KindHost && m.esService == "" {
		return m, fmt.Errorf("no service runs Elasticsearch (%s)", s.Images["elasticsearch"])
	}
	return m, nil
}

// checkRoute confirms that the model routes the probe as verify.sh asks.
func (m verifyModel) checkRoute(p probe) error {
	r := "traefik.http.routers." + p.router + "."
	rule, ok := m.labels[r+"rule"]
	if !ok {
		return fmt.Errorf("%s: the stacks have no Traefik router %s", p.what, p.router)
	}
	if p.host != "" && !strings.Contains(rule, "Host(`"+p.host+"`)") {
		return fmt.Errorf("%s: router %s's rule %s does not match Host %s", p.what, p.router, rule, p.host)
	}
	if !strings.Contains(rule, p.prefix) {
		return fmt.Errorf("%s: router %s's rule %s does not hold %s", p.what, p.router, rule, p.prefix)
	}
	wantEP := "websecure"
	if p.host == "" {
		wantEP = "traefik"
	}
	if ep := m.labels[r+"entrypoints"]; ep != wantEP {
		return fmt.Errorf("%s: router %s serves entry point %q, not %s", p.what, p.router, ep, wantEP)
	}
	if p.auth {
		basic := false
		for mw := range strings.SplitSeq(m.labels[r+"middlewares"], ",") {
			if m.labels["traefik.http.middlewares."+strings.TrimSpace(mw)+".basicauth.usersfile"] != "" {
				basic = true
			}
		}
		if !basic {
			return fmt.Errorf("%s: router %s has no basic-auth middleware", p.what, p.router)
		}
	}
	return nil
}

// Verify renders verify.sh.
func Verify(s *site.Site) ([]byte, error) {
	m, err := readVerifyModel(s)
	if err != nil {
		return nil, fmt.Errorf("site %s: verify.sh: %w", s.Name, err)
	}
	// A probe the model's routers do not serve as verify.sh would ask
	// (a model that routes otherwise) is left out, and said so when the
	// script runs, rather than failing a check that cannot pass: the
	// examples' verify.sh, golden-tested, holds every probe.
	var ps []probe
	var skipped []string
	for _, p := range probes(s) {
		if err := m.checkRoute(p); err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		ps = append(ps, p)
	}
	edge, ok := s.Node(s.Edge)
	if !ok || !edge.Address.Is4() {
		return nil, fmt.Errorf("site %s: verify.sh: the edge manager %q has no IPv4 address", s.Name, s.Edge)
	}
	w := newScript(s.File)
	w.Comment(`#
# verify.sh checks that site %s is up, and prints one line per check: "ok"
# or "FAIL", and what. It exits 0 only when every check passes. It reads
# and changes nothing: it asks the Swarm whether every service of the
# stacks runs all its tasks, asks Traefik on the edge manager %s for
# the site's pages (the domains resolved to its address by curl, so DNS
# need not point there yet), checks that the monitoring pages refuse a
# request without credentials, and, on a host site, Elasticsearch's
# cluster health.
`, s.Name, s.Edge)
	w.Text(dryRunDoc)
	w.Text("# No -e: a check that fails is reported, and the next one runs.\nset -uo pipefail\n\n")
	w.Text("prog=verify.sh\n")
	w.Assign("site", s.Name)
	w.Assign("kind", s.Kind)
	w.Assign("tls_mode", s.TLS.Mode)
	w.Assign("edge", s.Edge)
	w.Assign("edge_address", edge.Address.String())
	w.Assign("default_https_port", strconv.Itoa(m.httpsPort))
	w.Assign("default_dashboard_port", strconv.Itoa(m.dashboardPort))
	w.Assign("default_timeout", strconv.Itoa(VerifyTimeout))
	w.Assign("ca_file", secrets.CADir+"/"+secrets.CACert)
	w.Assign("backend", s.Networks.Backend)
	if s.Kind == site.KindHost {
		w.Assign("es_service", m.esService)
		w.Assign("es_port", strconv.Itoa(esPort))
		w.Assign("default_probe_image", s.Images["elasticsearch"])
	} else {
		w.Text("# A target site runs no Elasticsearch.\nes_service=\"\"\nes_port=\"\"\ndefault_probe_image=\"\"\n")
	}
	w.Text("dry_run=false\ndry_exists=true\n\n")
	w.Helpers()
	w.Text("\n")
	w.Library(libs, "lib/verify.sh")
	w.Text("\n")
	w.Library(libs, "lib/verify-main.sh")
	w.Text("\n# Every service of the stacks, in deployment order.\n")
	w.Array("services", m.services...)
	w.Text("check_services \"${services[@]}\"\n")
	w.Text("\n# Through Traefik.\n")
	for _, why := range skipped {
		w.Cmd("warn", "not checked: "+why)
	}
	for _, p := range ps {
		if p.host == "" {
			w.Cmd("check_dashboard", p.what, p.path, p.expect)
		} else {
			w.Cmd("check_https", p.what, p.host, p.path, p.expect)
		}
	}
	if s.Kind == site.KindHost {
		w.Text("\ncheck_elasticsearch\n")
	}
	w.Text("\nsummary\n")
	return w.Bytes()
}
