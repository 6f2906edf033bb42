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
}

// targetRoutes are the routes of a target site. Grafana and Minio's
// console serve from their root behind a stripped prefix; Prometheus
// keeps its prefix (--web.route-prefix); S3 owns its domain.
var targetRoutes = []route{
	{router: "grafana", service: "grafana", path: "/grafana/api/health", port: 3000, wantPath: "/api/health", prefix: "/grafana"},
	{router: "prometheus", service: "prometheus", path: "/prometheus/api/v1/status/buildinfo", port: 9090, wantPath: "/prometheus/api/v1/status/buildinfo", auth: true, real: true},
	{router: "minio-console", service: "minio", path: "/minio/browser/bucket", port: 9001, wantPath: "/browser/bucket", prefix: "/minio"},
	{router: "minio-s3", service: "minio", s3: true, path: "/bucket/object.txt", port: 9000, wantPath: "/bucket/object.txt"},
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
// checks from a client on the published ports that Traefik routes,
// redirects, terminates TLS with the generated certificate, guards with
// the generated credentials and compresses as the generated files say;
// that Prometheus' generated configuration passes promtool and its
// targets resolve and answer on the monitoring network; and that
// breaking one label of a router breaks the route check.
func TestTargetSiteServes(t *testing.T) {
	d := requireEngine(t)
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		missing(t, "promtool (Debian package prometheus): %v", err)
	}
	checkPortsFree(t)
	traefik := traefikBinary(t)
	dep := deploySite(t, d, "runtime-e2e", false, traefik)

	t.Run("promtool", func(t *testing.T) {
		file := dep.prometheusConfig(t)
		out, err := exec.Command(promtool, "check", "config", "--syntax-only", filepath.Join(dep.dir, filepath.FromSlash(file))).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool check config %s: %v\n%s", file, err, out)
		}
		t.Logf("promtool check config %s: %s", file, bytes.TrimSpace(out))
	})
	t.Run("routers-enabled", func(t *testing.T) { dep.checkRouters(t, "") })
	t.Run("routes", func(t *testing.T) {
		for _, r := range targetRoutes {
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
		for _, host := range []string{dep.site.Domain, dep.site.S3Domain} {
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
		for _, host := range []string{dep.site.Domain, dep.site.S3Domain} {
			rp, err := dep.c.do(request{url: "https://" + host + "/no-such-service"})
			if err != nil {
				t.Fatal(err) // includes a certificate the site's CA did not sign
			}
			got := rp.tls.PeerCertificates[0]
			if !got.Equal(dep.cert) {
				t.Errorf("%s: Traefik presents %q (serial %s), not the generated certificate (serial %s)", host, got.Subject, got.SerialNumber, dep.cert.SerialNumber)
			}
			for _, name := range []string{dep.site.Domain, dep.site.S3Domain} {
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
		for _, r := range targetRoutes {
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
	t.Run("broken-label", func(t *testing.T) { dep.checkBrokenLabels(t) })
}

// TestACMEConfigurationAccepted deploys the same site in ACME mode: the
// real Traefik must start with the generated ACME configuration, start
// its resolver and attach it to every router with TLS. It cannot reach
// Let's Encrypt here, so nothing more is asserted.
func TestACMEConfigurationAccepted(t *testing.T) {
	d := requireEngine(t)
	checkPortsFree(t)
	traefik := traefikBinary(t)
	dep := deploySite(t, d, "runtime-acme", true, traefik)
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
		t.Fatalf("%s: want one certificate resolver, got %v", file, sortedKeys(static.Resolvers))
	}
	resolver := sortedKeys(static.Resolvers)[0]
	dep.checkRouters(t, resolver)
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

// deploySite renders the test site called name, builds the images,
// creates the secrets and deploys it with deploy.sh, all undone when t
// ends.
func deploySite(t *testing.T, d *dockercli.CLI, name string, acme bool, traefik string) *deployed {
	t.Helper()
	node, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	ts := testSite{name: name, node: node, share: t.TempDir(), acme: acme}
	// Every image of the model maps to a local one: the model's keys,
	// as a site without images: has them.
	ts.images = map[string]string{}
	for k := range load(t, name+".cue", ts.source()).Images {
		ts.images[k] = standinImage
	}
	ts.images["traefik"] = traefikImage
	ts.images["prometheus"] = prometheusImage
	dp := render(t, d, ts)
	images, entrypoints := dp.images()
	for _, img := range images {
		if img != traefikImage && img != standinImage && img != prometheusImage {
			t.Fatalf("the rendered stacks run image %s, not a local one: map it in the test site's images", img)
		}
	}
	buildImages(t, d, traefik, entrypoints)
	dp.guard(t)
	dp.secretsInit(t)
	dp.deploy(t)

	dep := &deployed{deployment: dp, user: secrets.PrometheusUser}
	dep.pass = string(dp.secret(t, "prometheus_htpasswd.password"))
	roots := x509.NewCertPool()
	if !acme {
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
				return fmt.Errorf("Traefik has no router %s@swarm (it has %v)", name, sortedKeys(got))
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
		if name != "dashboard" && !slices.ContainsFunc(targetRoutes, func(rt route) bool { return rt.router == name }) {
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

// breakage is one label changed in a copy of the rendered compose file.
type breakage struct {
	what string
	// label and value: the label of the route's service and its new value.
	label func(router string) string
	value func(dp *deployment, stack string) string
}

// checkBrokenLabels redeploys the stack of Grafana's route from a copy
// of its compose file with one label broken at a time, and wants the
// route check to fail; the original compose file, deployed again, must
// make it pass: the check is what catches the label.
func (dep *deployed) checkBrokenLabels(t *testing.T) {
	r := targetRoutes[0]
	stack, _, ok := dep.service(r.service)
	if !ok {
		t.Fatalf("no service %s", r.service)
	}
	for _, b := range []breakage{
		{what: "the service port",
			label: func(router string) string { return "traefik.http.services." + router + ".loadbalancer.server.port" },
			value: func(*deployment, string) string { return "3001" }},
		{what: "the provider network",
			label: func(string) string { return "traefik.swarm.network" },
			value: func(dp *deployment, stack string) string {
				// A network of the service other than the public one.
				for n := range dp.projects[stack].Services[r.service].Networks {
					if name := dp.projects[stack].Networks[n].Name; name != dp.site.Networks.Public {
						return name
					}
				}
				return "none"
			}},
	} {
		t.Run(strings.ReplaceAll(b.what, " ", "-"), func(t *testing.T) {
			// The failure below counts only if the route works first.
			if err := eventually(30*time.Second, func() error { return dep.checkRoute(r, true) }); err != nil {
				t.Fatalf("before any label is broken: %v", err)
			}
			key := b.label(r.router)
			orig := dep.files[composePath(stack)]
			line, value := labelLine(orig, key)
			if line == "" {
				t.Fatalf("%s has no label %s", composePath(stack), key)
			}
			bad := strings.Replace(string(orig), line, strings.Replace(line, value, strconv.Quote(b.value(dep.deployment, stack)), 1), 1)
			dep.redeploy(t, stack, []byte(bad))
			err := eventually(60*time.Second, func() error {
				if dep.checkRoute(r, true) == nil {
					return errors.New("the route check still passes")
				}
				return nil
			})
			if err != nil {
				t.Errorf("with %s broken (%s), %v", b.what, strings.TrimSpace(strings.Replace(line, value, b.value(dep.deployment, stack), 1)), err)
			} else {
				t.Logf("as expected, with %s broken the route check fails: %v", b.what, dep.checkRoute(r, true))
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
	// its current version, <name>_<digest12> of its file: set as it does.
	var env []string
	for _, sec := range dp.site.Secrets {
		sum := sha256.Sum256(dp.secret(t, sec.Name))
		env = append(env, compose.SecretVariable(sec.Name)+"="+sec.Name+"_"+hex.EncodeToString(sum[:])[:12])
	}
	if _, err := dp.d.Exec(dockercli.Opts{Dir: filepath.Dir(file), Env: env}, "stack", "deploy", "--resolve-image", "never", "-c", filepath.Base(file), stack); err != nil {
		t.Fatalf("docker stack deploy %s: %v", stack, err)
	}
}
