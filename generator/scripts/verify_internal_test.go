package scripts

import (
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
)

// TestVerifyFollowsTheRoutes: verify.sh asks what the model routes, so a
// model whose routes drift from its probes fails the render, naming the
// probe, instead of a check on a live site.
func TestVerifyFollowsTheRoutes(t *testing.T) {
	var host *site.Site
	for _, s := range sitetest.Embedded(t) {
		if s.Kind == site.KindHost {
			host = s
		}
	}
	m, err := readVerifyModel(host)
	if err != nil {
		t.Fatal(err)
	}
	if m.httpsPort != 443 || m.dashboardPort != 8080 || m.esService != "es" {
		t.Errorf("read ports %d and %d, Elasticsearch %q; want 443, 8080, es", m.httpsPort, m.dashboardPort, m.esService)
	}
	for _, tc := range []struct {
		name   string
		change func(labels map[string]string)
		want   string
	}{
		{"as the model has it", func(map[string]string) {}, ""},
		{"a router gone", func(l map[string]string) { delete(l, "traefik.http.routers.ui.rule") }, "Nuvla's UI: the stacks have no Traefik router ui"},
		{"another host", func(l map[string]string) {
			l["traefik.http.routers.api.rule"] = "Host(`api.example.org`) && PathPrefix(`/api`)"
		}, "Nuvla's API: router api's rule Host(`api.example.org`) && PathPrefix(`/api`) does not match Host nuvla.example.org"},
		{"another path", func(l map[string]string) {
			l["traefik.http.routers.grafana.rule"] = "Host(`nuvla.example.org`) && PathPrefix(`/monitoring`)"
		}, "Grafana: router grafana's rule Host(`nuvla.example.org`) && PathPrefix(`/monitoring`) does not hold PathPrefix(`/grafana`)"},
		{"Prometheus without basic auth", func(l map[string]string) {
			delete(l, "traefik.http.routers.prometheus.middlewares")
		}, "Prometheus: router prometheus has no basic-auth middleware"},
		{"the dashboard's middleware not basic auth", func(l map[string]string) {
			delete(l, "traefik.http.middlewares.dashboard-auth.basicauth.usersfile")
		}, "Traefik's dashboard: router dashboard has no basic-auth middleware"},
		{"the dashboard on the public entry point", func(l map[string]string) {
			l["traefik.http.routers.dashboard.entrypoints"] = "websecure"
		}, `Traefik's dashboard: router dashboard serves entry point "websecure", not traefik`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := verifyModel{labels: map[string]string{}}
			for k, v := range m.labels {
				c.labels[k] = v
			}
			tc.change(c.labels)
			var errs []string
			for _, p := range probes(host) {
				if err := c.checkRoute(p); err != nil {
					errs = append(errs, err.Error())
				}
			}
			if got := strings.Join(errs, "\n"); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
