package runtimetest

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/internal/dockercli"

	"go.yaml.in/yaml/v3"

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/site"
)

// route is what a client request to the site must reach. The
// expectations are the services' own, from the installation guide and
// the images, not read from the labels under test: the port the
// service listens on and the path it expects.
type route struct {
	// router is the router's name in the labels, for Traefik's API.
	router string
	// service is the compose service that must answer.
	service string
	// s3 routes on the S3 domain, otherwise on the site's domain.
	s3   bool
	path string
	// port and wantPath are where and what the service receives.
	port     int
	wantPath string
	// prefix is the X-Forwarded-Prefix a strip middleware sets.
	prefix string
	// auth: the route asks for the generated basic-auth credentials.
	auth bool
	// real: the service is the real one (Prometheus), which answers
	// with its API, not the stand-in's report; only the status and the
	// API's answer are checked (its path proves the prefix is kept).
	real bool
	// dropHeader is a request header the route's middlewares must
	// remove: the request sends it, the service must not get it.
	dropHeader string
}

// grafanaRoute and prometheusRoute are the monitoring stack's, alike on
// both kinds of site. Grafana serves from its root behind a stripped
// prefix; Prometheus keeps its prefix (--web.route-prefix).
var (
	grafanaRoute    = route{router: "grafana", service: "grafana", path: "/grafana/api/health", port: 3000, wantPath: "/api/health", prefix: "/grafana"}
	prometheusRoute = route{router: "prometheus", service: "prometheus", path: "/prometheus/api/v1/status/buildinfo", port: 9090, wantPath: "/prometheus/api/v1/status/buildinfo", auth: true, real: true}
)

// targetRoutes are the routes of a target site: Minio's console serves
// from its root behind a stripped prefix; S3 owns its domain. The first
// is the one the broken labels are tried on.
var targetRoutes = []route{
	grafanaRoute,
	prometheusRoute,
	{router: "minio-console", service: "minio", path: "/minio/browser/bucket", port: 9001, wantPath: "/browser/bucket", prefix: "/minio"},
	{router: "minio-s3", service: "minio", s3: true, path: "/bucket/object.txt", port: 9000, wantPath: "/bucket/object.txt"},
}

// hostRoutes are the routes of a host site: the api keeps its /api
// prefix, and its router drops the nuvla-authn-info header a client
// could assert an identity with (Nuvla trusts it from its own
// services); the ui takes / and /ui/.
var hostRoutes = []route{
	{router: "api", service: "api", path: "/api/cloud-entry-point", port: 8200, wantPath: "/api/cloud-entry-point", dropHeader: "Nuvla-Authn-Info"},
	{router: "ui", service: "ui", path: "/", port: 80, wantPath: "/"},
	{router: "ui", service: "ui", path: "/ui/index.html", port: 80, wantPath: "/ui/index.html"},
	grafanaRoute,
	prometheusRoute,
}

// routes are the site's routes, by its kind.
func (dp *deployment) routes() []route {
	if dp.site.Kind == site.KindHost {
		return hostRoutes
	}
	return targetRoutes
}

// hosts are the names the site serves: its domain, and a target's S3
// domain.
func (dp *deployment) hosts() []string {
	if dp.site.S3Domain != "" {
		return []string{dp.site.Domain, dp.site.S3Domain}
	}
	return []string{dp.site.Domain}
}

// deployed is a site running on the Swarm, with a client that trusts it.
type deployed struct {
	*deployment
	c *client
	// user and pass are the basic-auth credentials secrets init made.
	user, pass string
	// cert is the certificate Traefik must present.
	cert *x509.Certificate
}

// TestTargetSiteServes renders a target site whose node is this machine,
// deploys it with its own deploy.sh onto the single-node Swarm, and
// checks it serves (checkServes).
func TestTargetSiteServes(t *testing.T) {
	d := requireEngine(t)
	promtool := needPromtool(t)
	checkPortsFree(t)
	traefik := traefikBinary(t)
	deploySite(t, d, testSite{name: "runtime-e2e"}, traefik, promtool).checkServes(t)
}

// TestHostSiteServes does the same for a host site: Nuvla's api and ui
// (stand-ins, as are Elasticsearch and Zookeeper, which deploy.sh
// deploys before them and waits for), and the host's monitoring.
func TestHostSiteServes(t *testing.T) {
	d := requireEngine(t)
	promtool := needPromtool(t)
	checkPortsFree(t)
	traefik := traefikBinary(t)
	deploySite(t, d, testSite{name: "runtime-host", host: true}, traefik, promtool).checkServes(t)
}

// needPromtool returns promtool's path, or skips (fails) t.
func needPromtool(t *testing.T) string {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		missing(t, "promtool (Debian package prometheus): %v", err)
	}
	return promtool
}

// checkServes checks from a client on the published ports that Traefik
// routes, redirects, terminates TLS with the generated certificate,
// guards with the generated credentials and compresses as the generated
// files say; that Prometheus' targets resolve and answer on the
// monitoring network; and that breaking one label of the site's first
// route breaks the route check.
func (dep *deployed) checkServes(t *testing.T) {
	t.Run("routers-enabled", func(t *testing.T) { dep.checkRouters(t, "") })
	t.Run("routes", func(t *testing.T) {
		for _, r := range dep.routes() {
			if err := eventually(60*time.Second, func() error { return dep.checkRoute(r, true) }); err != nil {
				t.Errorf("route %s: %v", r.router, err)
			}
		}
	})
	t.Run("unrouted", func(t *testing.T) {
		// The file provider's catch-all answers what no router takes,
		// with 503, not a stand-in.
		rp, err := dep.c.do(request{url: "https://" + dep.site.Domain + "/no-such-service"})
		if err != nil {
			t.Fatal(err)
		}
		if rp.status != http.StatusServiceUnavailable {
			t.Errorf("a path no router takes: status %d, want 503 from the catch-all; body %.200q", rp.status, rp.body)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		for _, host := range dep.hosts() {
			u := "http://" + host + "/grafana/x?a=1"
			rp, err := dep.c.do(request{url: u})
			if err != nil {
				t.Fatal(err)
			}
			want := "https://" + host + "/grafana/x?a=1"
			if rp.status != http.StatusMovedPermanently && rp.status != http.StatusPermanentRedirect {
				t.Errorf("GET %s: status %d, want a permanent redirect", u, rp.status)
			}
			if got := rp.header.Get("Location"); got != want {
				t.Errorf("GET %s: Location %q, want %q", u, got, want)
			}
		}
	})
	t.Run("certificate", func(t *testing.T) {
		for _, host := range dep.hosts() {
			rp, err := dep.c.do(request{url: "https://" + host + "/no-such-service"})
			if err != nil {
				t.Fatal(err) // includes a certificate the site's CA did not sign
			}
			got := rp.tls.PeerCertificates[0]
			if !got.Equal(dep.cert) {
				t.Errorf("%s: Traefik presents %q (serial %s), not the generated certificate (serial %s)", host, got.Subject, got.SerialNumber, dep.cert.SerialNumber)
			}
			for _, name := range dep.hosts() {
				if !slices.Contains(got.DNSNames, name) {
					t.Errorf("%s: the certificate's SANs %v lack %s", host, got.DNSNames, name)
				}
			}
		}
	})
	t.Run("basic-auth", func(t *testing.T) {
		// The dashboard's router guards /api and /dashboard on 8080. The
		// Traefik built from the module has no web UI (its assets are
		// built with node, outside the module), so /dashboard/ is checked
		// for the challenge only, and the API for 200.
		dashboard := "http://" + dep.site.Domain + ":8080/dashboard/"
		for _, u := range []string{"https://" + dep.site.Domain + "/prometheus/api/v1/status/buildinfo", dashboard, "http://" + dep.site.Domain + ":8080/api/overview"} {
			for _, c := range []struct {
				user, pass string
				want       int
			}{{"", "", http.StatusUnauthorized}, {dep.user, "wrong", http.StatusUnauthorized}, {dep.user, dep.pass, http.StatusOK}} {
				if u == dashboard && c.want == http.StatusOK {
					continue
				}
				rp, err := dep.c.do(request{url: u, user: c.user, pass: c.pass})
				if err != nil {
					t.Fatal(err)
				}
				if rp.status != c.want {
					t.Errorf("GET %s as %q: status %d, want %d", u, c.user, rp.status, c.want)
				}
				if c.want == http.StatusUnauthorized && !strings.HasPrefix(rp.header.Get("WWW-Authenticate"), "Basic") {
					t.Errorf("GET %s as %q: no Basic challenge (WWW-Authenticate %q)", u, c.user, rp.header.Get("WWW-Authenticate"))
				}
			}
		}
		// Unguarded routes answer without credentials: checkRoute with
		// auth false sends none.
		for _, r := range dep.routes() {
			if !r.auth {
				if err := dep.checkRoute(r, false); err != nil {
					t.Errorf("route %s without credentials: %v", r.router, err)
				}
			}
		}
	})
	t.Run("entrypoint-8080", func(t *testing.T) {
		// The traefik entry point serves /metrics open (the firewall
		// limits 8080 to management and Prometheus scrapes it), the
		// dashboard's paths guarded, and nothing else.
		base := "http://" + dep.site.Domain + ":8080"
		for _, c := range []struct {
			path string
			want int
		}{{"/metrics", http.StatusOK}, {"/api/rawdata", http.StatusUnauthorized}, {"/dashboard", http.StatusUnauthorized}, {"/other", http.StatusNotFound}} {
			rp, err := dep.c.do(request{url: base + c.path})
			if err != nil {
				t.Fatal(err)
			}
			if rp.status != c.want {
				t.Errorf("GET %s%s without credentials: status %d, want %d", base, c.path, rp.status, c.want)
			}
			if c.path == "/metrics" && !bytes.Contains(rp.body, []byte("traefik_")) {
				t.Errorf("GET %s/metrics: no Traefik metrics: %.200q", base, rp.body)
			}
		}
	})
	t.Run("compress", func(t *testing.T) {
		u := "https://" + dep.site.Domain + "/grafana/api/health"
		for _, gz := range []bool{true, false} {
			rp, err := dep.c.do(request{url: u, gzip: gz})
			if err != nil {
				t.Fatal(err)
			}
			enc := rp.header.Get("Content-Encoding")
			if gz && enc != "gzip" || !gz && enc != "" {
				t.Errorf("GET %s, gzip accepted %v: Content-Encoding %q", u, gz, enc)
			}
			if _, err := rp.answer(); err != nil {
				t.Errorf("GET %s, gzip accepted %v: %v", u, gz, err)
			}
		}
	})
	t.Run("scrape-targets", func(t *testing.T) { dep.checkScrapeTargets(t) })
	t.Run("broken-label", func(t *testing.T) { dep.checkBrokenLabels(t, dep.routes()[0]) })
}

// TestACMEConfigurationAccepted deploys the target site in ACME mode:
// the real Traefik must start with the generated ACME configuration,
// start its resolver and attach it to every router with TLS. It cannot
// reach Let's Encrypt here, so nothing more is asserted.
func TestACMEConfigurationAccepted(t *testing.T) {
	d := requireEngine(t)
	checkPortsFree(t)
	traefik := traefikBinary(t)
	dep := deploySite(t, d, testSite{name: "runtime-acme", acme: true}, traefik, "")
	var static struct {
		Resolvers map[string]struct {
			ACME map[string]any `yaml:"acme"`
		} `yaml:"certificatesResolvers"`
	}
	stack, _, ok := dep.service("traefik")
	if !ok {
		t.Fatal("no traefik service in the rendered stacks")
	}
	file := path.Join("stacks", stack, "traefik.yaml")
	if err := yaml.Unmarshal(dep.files[file], &static); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(static.Resolvers) != 1 {
		t.Fatalf("%s: want one certificate resolver, got %v", file, slices.Sorted(maps.Keys(static.Resolvers)))
	}
	resolver := slices.Sorted(maps.Keys(static.Resolvers))[0]
	dep.checkRouters(t, resolver)
	t.Run("http-challenge", func(t *testing.T) {
		// Let's Encrypt's HTTP-01 challenge comes to port 80, ahead of
		// the redirect to HTTPS: Traefik's own acme-http router must be
		// enabled on the challenge's entry point, and a challenge path
		// on 80 answered by it (404 for a token it does not hold), not
		// redirected.
		u := "http://" + dep.site.Domain + ":8080/api/http/routers/acme-http@internal"
		err := eventually(30*time.Second, func() error {
			rp, err := dep.c.do(request{url: u, user: dep.user, pass: dep.pass})
			if err != nil {
				return err
			}
			var r struct {
				Status      string
				EntryPoints []string `json:"entryPoints"`
				Error       []string `json:"error"`
			}
			if err := json.Unmarshal(rp.body, &r); err != nil || rp.status != http.StatusOK {
				return fmt.Errorf("GET %s: status %d (%v): %.300q", u, rp.status, err, rp.body)
			}
			if r.Status != "enabled" || len(r.Error) > 0 {
				return fmt.Errorf("Traefik's acme-http router: status %s, entry points %v, errors %v", r.Status, r.EntryPoints, r.Error)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
		challenge := "http://" + dep.site.Domain + "/.well-known/acme-challenge/runtimetest-token"
		rp, err := dep.c.do(request{url: challenge})
		if err != nil {
			t.Fatal(err)
		}
		if rp.status != http.StatusNotFound || rp.header.Get("Location") != "" {
			t.Errorf("GET %s: status %d, Location %q: want 404 from Traefik's ACME challenge handler, not a redirect", challenge, rp.status, rp.header.Get("Location"))
		}
	})
	err := eventually(30*time.Second, func() error {
		logs, err := d.Exec(dockercli.Opts{}, "service", "logs", "--raw", stack+"_traefik")
		if err != nil {
			return err
		}
		if !strings.Contains(logs, "Starting provider *acme.Provider") {
			return fmt.Errorf("Traefik's log does not say it started the ACME provider:\n%s", logs)
		}
		for _, bad := range []string{"Cannot start the provider", "Error while initializing provider", "command traefik error"} {
			if strings.Contains(logs, bad) {
				return fmt.Errorf("Traefik's log says %q:\n%s", bad, logs)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// deploySite renders ts (its name, kind and TLS mode; the rest is
// filled in here), checks its Prometheus configuration with promtool
// (unless promtool is ""; before the deploy, which a configuration
// Prometheus refuses fails too), builds the images, creates the secrets
// and deploys it with deploy.sh, all undone when t ends.
func deploySite(t *testing.T, d *dockercli.CLI, ts testSite, traefik, promtool string) *deployed {
	t.Helper()
	node, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	ts.node, ts.share = node, t.TempDir()
	if ts.host {
		id, err := d.Run("node", "inspect", "self", "--format", "{{.ID}}")
		if err != nil {
			t.Fatal(err)
		}
		id = strings.TrimSpace(id)
		ts.aliases = [2]string{id, id[:12]}
	}
	ts = ts.withLocalImages(t)
	dp := render(t, d, ts)
	images, entrypoints := dp.images()
	for _, img := range images {
		if !isLocal(img) {
			t.Fatalf("the rendered stacks run image %s, not a local one: map it in the test site's images", img)
		}
	}
	if promtool != "" {
		t.Run("promtool", func(t *testing.T) {
			file := dp.prometheusConfig(t)
			out, err := exec.Command(promtool, "check", "config", "--syntax-only", filepath.Join(dp.dir, filepath.FromSlash(file))).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool check config %s: %v\n%s", file, err, out)
			}
			t.Logf("promtool check config %s: %s", file, bytes.TrimSpace(out))
		})
	}
	buildImages(t, d, traefik, images, entrypoints)
	dp.guard(t)
	dp.secretsInit(t)
	dp.deploy(t)

	dep := &deployed{deployment: dp, user: secrets.PrometheusUser}
	dep.pass = string(dp.secret(t, "prometheus_htpasswd.password"))
	roots := x509.NewCertPool()
	if !ts.acme {
		blk, _ := pem.Decode(dp.secret(t, "traefik_tls_crt"))
		if blk == nil {
			t.Fatal("traefik_tls_crt holds no PEM block")
		}
		if dep.cert, err = x509.ParseCertificate(blk.Bytes); err != nil {
			t.Fatal(err)
		}
		// A site outside a deployment has a self-signed certificate: it
		// is its own CA.
		roots.AddCert(dep.cert)
	}
	dep.c = newClient(roots)
	return dep
}

// publicAddresses maps the address of each task on the site's public
// network to its service: a router that reaches a service by another
// network's address is not using the provider's network.
func (dp *deployment) publicAddresses() (map[string]string, error) {
	out, err := dp.d.Run("network", "inspect", "--format", "{{json .Containers}}", dp.site.Networks.Public)
	if err != nil {
		return nil, err
	}
	var containers map[string]struct{ Name, IPv4Address string }
	if err := json.Unmarshal([]byte(out), &containers); err != nil {
		return nil, fmt.Errorf("network %s: %w", dp.site.Networks.Public, err)
	}
	m := map[string]string{}
	for _, c := range containers {
		ip, _, _ := strings.Cut(c.IPv4Address, "/")
		svc, _, _ := strings.Cut(c.Name, ".") // <service>.<slot or node>.<task>
		m[ip] = svc
	}
	return m, nil
}

// checkRoute sends r's request and checks that the right service got it,
// on the right port, with the path it expects, from Traefik.
func (dep *deployed) checkRoute(r route, withAuth bool) error {
	host := dep.site.Domain
	if r.s3 {
		host = dep.site.S3Domain
	}
	req := request{url: "https://" + host + r.path}
	if withAuth && r.auth {
		req.user, req.pass = dep.user, dep.pass
	}
	if r.dropHeader != "" {
		req.header = http.Header{r.dropHeader: {"super group/nuvla-admin"}}
	}
	rp, err := dep.c.do(req)
	if err != nil {
		return err
	}
	if r.auth && !withAuth {
		if rp.status != http.StatusUnauthorized {
			return fmt.Errorf("GET %s without credentials: status %d, want 401", req.url, rp.status)
		}
		return nil
	}
	if rp.status != http.StatusOK {
		return fmt.Errorf("GET %s: status %d, want 200 from the stand-in; body %.200q", req.url, rp.status, rp.body)
	}
	if r.real {
		var api struct{ Status string }
		if err := json.Unmarshal(rp.body, &api); err != nil || api.Status != "success" {
			return fmt.Errorf("GET %s: not an answer of %s's API (%v): %.200q", req.url, r.service, err, rp.body)
		}
		return nil
	}
	a, err := rp.answer()
	if err != nil {
		return fmt.Errorf("GET %s: %w", req.url, err)
	}
	stack, _, ok := dep.service(r.service)
	if !ok {
		return fmt.Errorf("no service %s in the rendered stacks", r.service)
	}
	ip, port, err := net.SplitHostPort(a.Local)
	if err != nil {
		return fmt.Errorf("GET %s: the stand-in's local address %q: %w", req.url, a.Local, err)
	}
	addrs, err := dep.publicAddresses()
	if err != nil {
		return err
	}
	var errs []error
	if got, want := addrs[ip], stack+"_"+r.service; got != want {
		errs = append(errs, fmt.Errorf("answered by %q at %s, want service %s on network %s", got, ip, want, dep.site.Networks.Public))
	}
	if port != strconv.Itoa(r.port) {
		errs = append(errs, fmt.Errorf("reached port %s, want %d", port, r.port))
	}
	if a.Path != r.wantPath {
		errs = append(errs, fmt.Errorf("the service got path %s, want %s", a.Path, r.wantPath))
	}
	if a.Host != host {
		errs = append(errs, fmt.Errorf("the service got Host %s, want %s", a.Host, host))
	}
	if got := a.Header.Get("X-Forwarded-Proto"); got != "https" {
		errs = append(errs, fmt.Errorf("X-Forwarded-Proto %q, want https", got))
	}
	if got := a.Header.Get("X-Forwarded-Prefix"); got != r.prefix {
		errs = append(errs, fmt.Errorf("X-Forwarded-Prefix %q, want %q", got, r.prefix))
	}
	if got := a.Header.Values(r.dropHeader); r.dropHeader != "" && len(got) > 0 {
		errs = append(errs, fmt.Errorf("the service got header %s %q, which the route must drop", r.dropHeader, got))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("GET %s: %w", req.url, err)
	}
	return nil
}

// labelRouters are the routers the compose files' labels declare.
func (dp *deployment) labelRouters() []string {
	var names []string
	for _, p := range dp.projects {
		for _, svc := range p.Services {
			if svc.Deploy == nil {
				continue
			}
			for k := range svc.Deploy.Labels {
				if name, ok := strings.CutPrefix(k, "traefik.http.routers."); ok {
					name, _, _ = strings.Cut(name, ".")
					names = append(names, name)
				}
			}
		}
	}
	return sortedUnique(names)
}

// checkRouters asks Traefik's API, through the dashboard's router, for
// its routers: every router of the labels must be there and enabled,
// without errors; with resolver, every TLS router of the labels must use
// it. It also checks that the test's routes cover the labels' routers.
func (dep *deployed) checkRouters(t *testing.T, resolver string) {
	t.Helper()
	type router struct {
		Name   string
		Status string
		Error  []string `json:"error"`
		TLS    *struct {
			CertResolver string `json:"certResolver"`
		} `json:"tls"`
		Provider string
	}
	want := dep.labelRouters()
	u := "http://" + dep.site.Domain + ":8080/api/http/routers?per_page=100"
	var got map[string]router
	err := eventually(60*time.Second, func() error {
		rp, err := dep.c.do(request{url: u, user: dep.user, pass: dep.pass})
		if err != nil {
			return err
		}
		if rp.status != http.StatusOK {
			return fmt.Errorf("GET %s: status %d", u, rp.status)
		}
		var list []router
		if err := json.Unmarshal(rp.body, &list); err != nil {
			return fmt.Errorf("GET %s: %w", u, err)
		}
		got = map[string]router{}
		for _, r := range list {
			got[r.Name] = r
		}
		for _, name := range want {
			if _, ok := got[name+"@swarm"]; !ok {
				return fmt.Errorf("Traefik has no router %s@swarm (it has %v)", name, slices.Sorted(maps.Keys(got)))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range want {
		r := got[name+"@swarm"]
		if r.Status != "enabled" || len(r.Error) > 0 {
			t.Errorf("router %s: status %s, errors %v", r.Name, r.Status, r.Error)
		}
		if resolver != "" && name != "dashboard" && (r.TLS == nil || r.TLS.CertResolver != resolver) {
			t.Errorf("router %s: TLS %+v, want certificate resolver %s", r.Name, r.TLS, resolver)
		}
		if name != "dashboard" && !slices.ContainsFunc(dep.routes(), func(rt route) bool { return rt.router == name }) {
			t.Errorf("router %s of the labels has no route in the test: add its expectation", name)
		}
	}
}

// prometheusConfig is the path of the generated Prometheus
// configuration: the file the prometheus service's config comes from.
func (dp *deployment) prometheusConfig(t *testing.T) string {
	t.Helper()
	stack, svc, ok := dp.service("prometheus")
	if !ok {
		t.Fatal("no prometheus service in the rendered stacks")
	}
	for _, ref := range svc.Configs {
		c := dp.projects[stack].Configs[ref.Source]
		if ref.Target != "" && strings.HasSuffix(ref.Target, ".yml") {
			rel, err := filepath.Rel(dp.dir, c.File)
			if err != nil || strings.HasPrefix(rel, "..") {
				rel = path.Join("stacks", stack, path.Base(c.File))
			}
			return filepath.ToSlash(rel)
		}
	}
	t.Fatalf("service prometheus mounts no configuration file: %+v", svc.Configs)
	return ""
}

// checkScrapeTargets asks the real Prometheus, through its route, for
// its targets once it has scraped each: every job of the generated
// configuration must have discovered a target (its DNS name resolved on
// Prometheus' networks) on the configured port, and the jobs served by
// real images (Prometheus itself, Traefik) must be up; the stand-ins'
// answers are no metrics, so their jobs are only required to have been
// reached.
func (dep *deployed) checkScrapeTargets(t *testing.T) {
	file := dep.prometheusConfig(t)
	var cfg struct {
		ScrapeConfigs []struct {
			Job           string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
			DNSSD []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(dep.files[file], &cfg); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	promStack, _, _ := dep.service("prometheus")
	type target struct {
		Labels     map[string]string
		ScrapePool string
		Health     string
		LastError  string
	}
	u := "https://" + dep.site.Domain + "/prometheus/api/v1/targets"
	var active []target
	err := eventually(90*time.Second, func() error {
		rp, err := dep.c.do(request{url: u, user: dep.user, pass: dep.pass})
		if err != nil {
			return err
		}
		var api struct {
			Data struct{ ActiveTargets []target }
		}
		if err := json.Unmarshal(rp.body, &api); err != nil {
			return fmt.Errorf("GET %s: status %d: %w", u, rp.status, err)
		}
		active = api.Data.ActiveTargets
		for _, sc := range cfg.ScrapeConfigs {
			i := slices.IndexFunc(active, func(tg target) bool { return tg.ScrapePool == sc.Job })
			if i < 0 {
				return fmt.Errorf("job %s has no target yet (DNS names not resolved?)", sc.Job)
			}
			if active[i].Health == "unknown" {
				return fmt.Errorf("job %s not scraped yet", sc.Job)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Prometheus' targets: %v", err)
	}
	for _, sc := range cfg.ScrapeConfigs {
		// Real: the static target is Prometheus itself; a DNS name is
		// tasks.<service> in Prometheus' stack or tasks.<stack>_<service>.
		real := len(sc.StaticConfigs) > 0
		port := ""
		for _, d := range sc.DNSSD {
			port = strconv.Itoa(d.Port)
			for _, n := range d.Names {
				name := strings.TrimPrefix(n, "tasks.")
				stack, svc, ok := strings.Cut(name, "_")
				if !ok {
					stack, svc = promStack, name
				}
				if p, ok := dep.projects[stack]; ok {
					if img := p.Services[svc].Image; img == traefikImage || img == prometheusImage {
						real = true
					}
				}
			}
		}
		for _, tg := range active {
			if tg.ScrapePool != sc.Job {
				continue
			}
			if port != "" && !strings.HasSuffix(tg.Labels["instance"], ":"+port) {
				t.Errorf("job %s: target %s, want port %s", sc.Job, tg.Labels["instance"], port)
			}
			switch {
			case real && tg.Health != "up":
				t.Errorf("job %s: target %s is %s: %s", sc.Job, tg.Labels["instance"], tg.Health, tg.LastError)
			case real:
				t.Logf("job %s: target %s is up", sc.Job, tg.Labels["instance"])
			case strings.Contains(tg.LastError, `Get "`):
				// Prometheus' HTTP client failed: no connection, or no answer.
				t.Errorf("job %s: target %s not reached: %s", sc.Job, tg.Labels["instance"], tg.LastError)
			default:
				t.Logf("job %s: target %s discovered and reached (a stand-in, no metrics: %s)", sc.Job, tg.Labels["instance"], tg.LastError)
			}
		}
	}
}

// breakage is one change to a copy of a rendered compose file.
type breakage struct {
	what string
	// apply returns the compose file of stack, whose service serves
	// route r, broken, and the line it wrote instead (for the log).
	apply func(dep *deployed, stack string, r route, compose []byte) (broken []byte, line string, err error)
}

// brokenLabel changes the label key of r's service to value.
func brokenLabel(what string, key func(r route) string, value func(dep *deployed, stack string, r route) string) breakage {
	return breakage{what: what, apply: func(dep *deployed, stack string, r route, compose []byte) ([]byte, string, error) {
		k := key(r)
		line, old := labelLine(compose, k)
		if line == "" {
			return nil, "", fmt.Errorf("%s has no label %s", composePath(stack), k)
		}
		v := value(dep, stack, r)
		bad := strings.Replace(line, old, strconv.Quote(v), 1)
		return []byte(strings.Replace(string(compose), line, bad, 1)), strings.TrimSpace(bad), nil
	}}
}

// brokenLabels are what checkBrokenLabels breaks: the port Traefik
// sends to, the network it reaches the service on, and the service's
// attachment to that network.
var brokenLabels = []breakage{
	brokenLabel("the service port",
		func(r route) string { return "traefik.http.services." + r.router + ".loadbalancer.server.port" },
		func(_ *deployed, _ string, r route) string { return strconv.Itoa(r.port + 1) }),
	brokenLabel("the provider network",
		func(route) string { return "traefik.swarm.network" },
		func(dep *deployed, stack string, r route) string {
			// A network of the service other than the public one, by
			// its Swarm name: an external network's own, or
			// <stack>_<key> for the stack's.
			for _, n := range slices.Sorted(maps.Keys(dep.projects[stack].Services[r.service].Networks)) {
				name := n
				if !dep.projects[stack].Networks[n].External {
					name = stack + "_" + n
				}
				if name != dep.site.Networks.Public {
					return name
				}
			}
			return "none"
		}),
	// The router points at a service that is not on the provider's
	// network at all: its labels as rendered, its attachment gone.
	{what: "the service on the provider network", apply: func(dep *deployed, stack string, r route, compose []byte) ([]byte, string, error) {
		bad, ok := withoutNetwork(compose, r.service, dep.site.Networks.Public)
		if !ok {
			return nil, "", fmt.Errorf("%s: service %s has no network %s to leave", composePath(stack), r.service, dep.site.Networks.Public)
		}
		return bad, "service " + r.service + " without network " + dep.site.Networks.Public, nil
	}},
}

// withoutNetwork removes network from service's networks in a compose
// file as the generator writes it (two spaces of indent a level, the
// networks as a list), and the list too when it was the only one (the
// service then joins its stack's default network).
func withoutNetwork(compose []byte, service, network string) ([]byte, bool) {
	lines := strings.SplitAfter(string(compose), "\n")
	in, nets := false, -1
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   "):
			in = strings.TrimSpace(l) == service+":"
			nets = -1
		case in && strings.HasPrefix(l, "    ") && !strings.HasPrefix(l, "     "):
			nets = -1
			if strings.TrimSpace(l) == "networks:" {
				nets = i
			}
		case in && nets >= 0 && strings.TrimSpace(l) == "- "+network:
			from := i
			if i == nets+1 && (i+1 == len(lines) || !strings.HasPrefix(lines[i+1], "      - ")) {
				from = nets
			}
			return []byte(strings.Join(slices.Delete(lines, from, i+1), "")), true
		}
	}
	return nil, false
}

// checkBrokenLabels redeploys the stack of route r from a copy of its
// compose file broken one way at a time (brokenLabels), and wants the
// route check to fail; the original compose file, deployed again, must
// make it pass: the check is what catches the change.
func (dep *deployed) checkBrokenLabels(t *testing.T, r route) {
	stack, _, ok := dep.service(r.service)
	if !ok {
		t.Fatalf("no service %s", r.service)
	}
	for _, b := range brokenLabels {
		t.Run(strings.ReplaceAll(b.what, " ", "-"), func(t *testing.T) {
			// The failure below counts only if the route works first.
			if err := eventually(30*time.Second, func() error { return dep.checkRoute(r, true) }); err != nil {
				t.Fatalf("before any label is broken: %v", err)
			}
			orig := dep.files[composePath(stack)]
			bad, line, err := b.apply(dep, stack, r, orig)
			if err != nil {
				t.Fatal(err)
			}
			dep.redeploy(t, stack, bad)
			err = eventually(60*time.Second, func() error {
				if dep.checkRoute(r, true) == nil {
					return errors.New("the route check still passes")
				}
				return nil
			})
			if err != nil {
				t.Errorf("route %s with %s broken (%s): %v", r.router, b.what, line, err)
			} else {
				t.Logf("as expected, with %s broken (%s) the route check fails: %v", b.what, line, dep.checkRoute(r, true))
			}
			dep.redeploy(t, stack, orig)
			if err := eventually(90*time.Second, func() error { return dep.checkRoute(r, true) }); err != nil {
				t.Fatalf("with the rendered compose file again: %v", err)
			}
		})
	}
}

// labelLine finds the YAML line of label key and its value as written.
func labelLine(compose []byte, key string) (line, value string) {
	for _, l := range strings.Split(string(compose), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), ": "); ok && k == key {
			return l, v
		}
	}
	return "", ""
}

// redeploy deploys stack from data, a version of its compose file
// written beside the original (so its relative config files resolve),
// and waits until its services converge.
func (dp *deployment) redeploy(t *testing.T, stack string, data []byte) {
	t.Helper()
	file := filepath.Join(dp.dir, "stacks", stack, "broken-"+compose.FileName)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(file)
	// The compose files name each secret by a variable deploy.sh sets to
	// its current version, <name>_<digest12> of its file, and read the
	// site's variables, which it loads from their files: set as it does.
	var env []string
	for _, sec := range dp.site.Secrets {
		sum := sha256.Sum256(dp.secret(t, sec.Name))
		env = append(env, compose.SecretVariable(sec.Name)+"="+sec.Name+"_"+hex.EncodeToString(sum[:])[:12])
	}
	for _, v := range dp.site.Variables {
		env = append(env, v.Name+"="+strings.TrimRight(string(dp.secret(t, v.Name)), "\n")) // $(<file) drops the newline
	}
	if _, err := dp.d.Exec(dockercli.Opts{Dir: filepath.Dir(file), Env: env}, "stack", "deploy", "--resolve-image", "never", "-c", filepath.Base(file), stack); err != nil {
		t.Fatalf("docker stack deploy %s: %v", stack, err)
	}
}
