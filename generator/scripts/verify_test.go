package scripts_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/secretsdir"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
)

// answer is what the fake Traefik says to one request.
type answer struct {
	code     int
	ctype    string
	location string
	body     string
}

// fakeTraefik plays Traefik on 127.0.0.1: an HTTPS server with the site's
// certificate from the deployment's secrets directory, answering
// by Host and path as the site's routes would, and the dashboard's plain
// HTTP entry point. A test changes one answer at a time (set).
type fakeTraefik struct {
	https, dashboard *httptest.Server
	mu               sync.Mutex
	answers          map[string]answer // by "host path"; the dashboard's host is ""
}

func (f *fakeTraefik) set(host, path string, a answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[host+" "+path] = a
}

func (f *fakeTraefik) serve(dashboard bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host := ""
		if !dashboard {
			// Traefik matches Host() without the port.
			host, _, _ = net.SplitHostPort(r.Host)
		}
		f.mu.Lock()
		a, ok := f.answers[host+" "+r.URL.Path]
		f.mu.Unlock()
		if !ok {
			// Traefik's answer when no router matches.
			http.NotFound(w, r)
			return
		}
		if a.ctype != "" {
			w.Header().Set("Content-Type", a.ctype)
		}
		if a.location != "" {
			w.Header().Set("Location", a.location)
		}
		w.WriteHeader(a.code)
		fmt.Fprint(w, a.body)
	}
}

// siteAnswers are a healthy site's answers, as Traefik passes them on.
func siteAnswers(s *site.Site) map[string]answer {
	a := map[string]answer{
		s.Domain + " /grafana/":    {code: 302, location: "/grafana/login"},
		s.Domain + " /prometheus/": {code: 401, body: "401 Unauthorized\n"},
		" /dashboard/":             {code: 401, body: "401 Unauthorized\n"},
	}
	if s.Kind == site.KindHost {
		a[s.Domain+" /api/cloud-entry-point"] = answer{code: 200, ctype: "application/json", body: `{"id":"cloud-entry-point","resourceURI":"http://sixsq.com/slipstream/1/CloudEntryPoint"}`}
		a[s.Domain+" /ui/"] = answer{code: 200, ctype: "text/html", body: "<!doctype html><title>Nuvla</title>"}
	}
	if s.Kind == site.KindTarget {
		a[s.S3Domain+" /minio/health/live"] = answer{code: 200}
	}
	return a
}

// deploymentSecretsDirs writes the embedded examples' deployment secrets
// directories, as nuvlagen secrets init does, and returns them by the
// names of their sites.
func deploymentSecretsDirs(t *testing.T) map[string]string {
	t.Helper()
	deps, err := site.LinkDeployments(sitetest.Embedded(t))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range deps {
		files, err := secrets.Deployment(d, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "secrets")
		if _, err := secretsdir.Write(dir, files, false, false); err != nil {
			t.Fatal(err)
		}
		for _, s := range append([]*site.Site{d.Host}, d.Targets...) {
			out[s.Name] = dir
		}
	}
	return out
}

// startFakeTraefik serves the site's Traefik certificate from the
// deployment's secrets directory dir and copies the deployment CA into
// caDir, the file verify.sh's --cacert names.
func startFakeTraefik(t *testing.T, s *site.Site, dir, caDir string) *fakeTraefik {
	t.Helper()
	read := func(p ...string) []byte {
		b, err := os.ReadFile(filepath.Join(append([]string{dir}, p...)...))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if err := os.WriteFile(filepath.Join(caDir, "ca.pem"), read(secrets.CADir, secrets.CACert), 0o644); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(read(s.Name, "traefik_tls_crt"), read(s.Name, "traefik_tls_key"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeTraefik{answers: siteAnswers(s)}
	f.https = httptest.NewUnstartedServer(f.serve(false))
	f.https.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	f.https.StartTLS()
	t.Cleanup(f.https.Close)
	f.dashboard = httptest.NewServer(f.serve(true))
	t.Cleanup(f.dashboard.Close)
	return f
}

// swarmServices lists the Swarm names of the site's services, with the
// replicas a converged Swarm shows: global ones on each of its nodes.
func swarmServices(t *testing.T, s *site.Site) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, st := range s.Stacks {
		var c struct {
			Services map[string]struct {
				Deploy struct {
					Mode     string `json:"mode"`
					Replicas *int   `json:"replicas"`
				} `json:"deploy"`
			} `json:"services"`
		}
		if err := json.Unmarshal(st.Compose, &c); err != nil {
			t.Fatal(err)
		}
		for name, svc := range c.Services {
			n := 1
			switch {
			case svc.Deploy.Mode == "global":
				n = len(s.Nodes)
			case svc.Deploy.Replicas != nil:
				n = *svc.Deploy.Replicas
			}
			out[st.Name+"_"+name] = fmt.Sprintf("%d/%d", n, n)
		}
	}
	return out
}

func writeServices(t *testing.T, state string, services map[string]string) {
	t.Helper()
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(services)) {
		fmt.Fprintf(&b, "%s %s\n", name, services[name])
	}
	if err := os.WriteFile(filepath.Join(state, "services"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// verifyCase breaks one thing of a healthy site and names the one FAIL
// line verify.sh must print for it (ports as {https} and {dashboard}).
type verifyCase struct {
	name  string
	kind  string // the kind of site it applies to; "" both
	setup func(t *testing.T, e *verifyEnv)
	args  []string
	fails []string
}

// verifyEnv is one site's fake endpoints and Swarm.
type verifyEnv struct {
	s        *site.Site
	traefik  *fakeTraefik
	swarm    *fakeSwarm
	services map[string]string
	caDir    string
}

// service returns the Swarm name of the service the model calls name,
// whichever stack holds it.
func (e *verifyEnv) service(t *testing.T, name string) string {
	t.Helper()
	for full := range swarmServices(t, e.s) {
		if strings.HasSuffix(full, "_"+name) {
			return full
		}
	}
	t.Fatalf("no service %s", name)
	return ""
}

func (e *verifyEnv) esHealth(t *testing.T, status string) {
	t.Helper()
	body := `{"cluster_name":"elasticsearch","status":"` + status + `","number_of_nodes":1}`
	if err := os.WriteFile(filepath.Join(e.swarm.state, "es-health"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyAgainstFakeEndpoints runs the real verify.sh of a host and a
// target site against a fake Traefik (TLS servers on 127.0.0.1, with the
// certificate nuvlagen secrets init made for the site, checked against
// its deployment CA) and the fake docker: a healthy
// site passes every check and exits 0; then each case breaks one thing,
// and verify.sh exits 1 with exactly that check's FAIL line.
func TestVerifyAgainstFakeEndpoints(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (apt-get install curl)")
	}
	all := rendered(t)
	secretsDirs := deploymentSecretsDirs(t) // once: it makes RSA keys
	sites := map[string]*site.Site{}
	for _, s := range sitetest.Embedded(t) {
		sites[s.Name] = s
	}
	apiURL := "https://nuvla.example.org:{https}/api/cloud-entry-point"
	cases := []verifyCase{
		{name: "a service short of tasks", setup: func(t *testing.T, e *verifyEnv) {
			e.services[e.service(t, "traefik")] = "0/1"
		}, fails: []string{"service {traefik}: 0/1 tasks running"}},
		{name: "a global service short of a node", setup: func(t *testing.T, e *verifyEnv) {
			e.services[e.service(t, "node-exporter")] = fmt.Sprintf("%d/%d", len(e.s.Nodes)-1, len(e.s.Nodes))
		}, fails: []string{"service {node-exporter}: {nodes-1}/{nodes} tasks running"}},
		{name: "a service not deployed", setup: func(t *testing.T, e *verifyEnv) {
			delete(e.services, e.service(t, "grafana"))
		}, fails: []string{"service {grafana}: not deployed"}},
		{name: "the daemon down", setup: func(t *testing.T, e *verifyEnv) {
			e.swarm.env = []string{"FAKE_DAEMON_DOWN=1"}
		}, fails: []string{"services: cannot list them: Cannot connect to the Docker daemon at unix:///var/run/docker.sock"}},
		{name: "the API down", kind: site.KindHost, setup: func(t *testing.T, e *verifyEnv) {
			e.traefik.set(e.s.Domain, "/api/cloud-entry-point", answer{code: 503, body: "Service Unavailable"})
		}, fails: []string{"Nuvla's API: " + apiURL + " answers 503, not 200"}},
		{name: "the API not JSON", kind: site.KindHost, setup: func(t *testing.T, e *verifyEnv) {
			e.traefik.set(e.s.Domain, "/api/cloud-entry-point", answer{code: 200, ctype: "text/html", body: "<html>"})
		}, fails: []string{"Nuvla's API: " + apiURL + " answers 200 but not with JSON (text/html)"}},
		{name: "the UI missing", kind: site.KindHost, setup: func(t *testing.T, e *verifyEnv) {
			delete(e.traefik.answers, e.s.Domain+" /ui/")
		}, fails: []string{"Nuvla's UI: https://nuvla.example.org:{https}/ui/ answers 404, not 200"}},
		{name: "Grafana open", setup: func(t *testing.T, e *verifyEnv) {
			e.traefik.set(e.s.Domain, "/grafana/", answer{code: 200, ctype: "text/html"})
		}, fails: []string{"Grafana: https://{domain}:{https}/grafana/ answers 200 to a request without credentials"}},
		{name: "Grafana redirecting past its login", setup: func(t *testing.T, e *verifyEnv) {
			e.traefik.set(e.s.Domain, "/grafana/", answer{code: 302, location: "/grafana/d/home"})
		}, fails: []string{"Grafana: https://{domain}:{https}/grafana/ answers 302 to https://{domain}:{https}/grafana/d/home, not to a login page"}},
		{name: "Prometheus open", setup: func(t *testing.T, e *verifyEnv) {
			e.traefik.set(e.s.Domain, "/prometheus/", answer{code: 200, ctype: "text/html"})
		}, fails: []string{"Prometheus: https://{domain}:{https}/prometheus/ answers 200 to a request without credentials"}},
		{name: "the dashboard open", setup: func(t *testing.T, e *verifyEnv) {
			e.traefik.set("", "/dashboard/", answer{code: 200, ctype: "text/html"})
		}, fails: []string{"Traefik's dashboard: http://127.0.0.1:{dashboard}/dashboard/ answers 200 to a request without credentials"}},
		{name: "the dashboard unreachable", setup: func(t *testing.T, e *verifyEnv) {
			e.traefik.dashboard.Close()
		}, fails: []string{"Traefik's dashboard: http://127.0.0.1:{dashboard}/dashboard/: no answer: curl: (7) Failed to connect to 127.0.0.1 port {dashboard}"}},
		{name: "Elasticsearch red", kind: site.KindHost, setup: func(t *testing.T, e *verifyEnv) {
			e.esHealth(t, "red")
		}, fails: []string{"Elasticsearch (es on nuvla-backend): cluster health red"}},
		{name: "Elasticsearch unreachable", kind: site.KindHost, setup: func(t *testing.T, e *verifyEnv) {
			os.Remove(filepath.Join(e.swarm.state, "es-health"))
		}, fails: []string{"Elasticsearch (es on nuvla-backend): no cluster health: curl: (6) Could not resolve host: es"}},
		{name: "Minio not live", kind: site.KindTarget, setup: func(t *testing.T, e *verifyEnv) {
			e.traefik.set(e.s.S3Domain, "/minio/health/live", answer{code: 503})
		}, fails: []string{"Minio's S3 API: https://{s3}:{https}/minio/health/live answers 503, not 200"}},
		{name: "another CA", setup: func(t *testing.T, e *verifyEnv) {
			other := newTestCA(t, "another CA")
			if err := os.WriteFile(filepath.Join(e.caDir, "ca.pem"), other.CertPEM(), 0o644); err != nil {
				t.Fatal(err)
			}
		}, fails: []string{"{every https}: no answer: curl: (60) SSL certificate problem: unable to get local issuer certificate"}},
	}

	for _, name := range []string{"example-host", "example-target"} {
		s := sites[name]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeSite(t, dir, all[name])
			setup := func(t *testing.T) *verifyEnv {
				e := &verifyEnv{s: s, caDir: t.TempDir(), services: swarmServices(t, s)}
				e.traefik = startFakeTraefik(t, s, secretsDirs[name], e.caDir)
				e.swarm = &fakeSwarm{t: t, dir: dir, bin: t.TempDir(), state: t.TempDir()}
				if err := os.WriteFile(filepath.Join(e.swarm.bin, "docker"), []byte(fakeDocker), 0o755); err != nil {
					t.Fatal(err)
				}
				// The fake's PATH is its own bin and the system's: curl is
				// the real one.
				if s.Kind == site.KindHost {
					e.esHealth(t, "green")
				}
				return e
			}
			run := func(t *testing.T, e *verifyEnv, extra ...string) (int, []string, string) {
				writeServices(t, e.swarm.state, e.services)
				args := append([]string{
					"--address", "127.0.0.1",
					"--https-port", port(t, e.traefik.https),
					"--dashboard-port", port(t, e.traefik.dashboard),
					"--cacert", filepath.Join(e.caDir, "ca.pem"),
					"--timeout", "5",
				}, extra...)
				code, stdout, stderr := e.swarm.run("verify.sh", args...)
				return code, strings.Split(strings.TrimSuffix(stdout, "\n"), "\n"), stderr
			}
			expand := func(t *testing.T, e *verifyEnv, line string) string {
				return strings.NewReplacer(
					"{https}", port(t, e.traefik.https), "{dashboard}", port(t, e.traefik.dashboard),
					"{domain}", s.Domain, "{s3}", s.S3Domain,
					"{nodes-1}", fmt.Sprint(len(s.Nodes)-1), "{nodes}", fmt.Sprint(len(s.Nodes)),
					"{traefik}", e.service(t, "traefik"), "{node-exporter}", e.service(t, "node-exporter"),
					"{grafana}", e.service(t, "grafana"),
				).Replace(line)
			}

			// Healthy: every check passes.
			e := setup(t)
			code, lines, stderr := run(t, e)
			want := len(e.services) + len(siteAnswers(s))
			if s.Kind == site.KindHost {
				want++ // Elasticsearch
			}
			t.Logf("healthy site:\n%s", strings.Join(lines, "\n"))
			var oks []string
			for _, l := range lines {
				if strings.HasPrefix(l, "ok   ") {
					oks = append(oks, l)
				} else if !strings.HasPrefix(l, "# ") {
					t.Errorf("healthy site: unexpected line %q", l)
				}
			}
			if code != 0 || len(oks) != want || stderr != "" {
				t.Errorf("healthy site: exit %d, %d ok lines, want 0 and %d; stderr:\n%s\nstdout:\n%s", code, len(oks), want, stderr, strings.Join(lines, "\n"))
			}
			for _, l := range []string{
				"ok   Grafana: https://" + s.Domain + ":" + port(t, e.traefik.https) + "/grafana/ sends a request without credentials to its login page (302)",
				"ok   Traefik's dashboard: http://127.0.0.1:" + port(t, e.traefik.dashboard) + "/dashboard/ refuses a request without credentials (401)",
				"# site " + s.Name + ": all " + fmt.Sprint(want) + " checks passed",
			} {
				if !slices.Contains(lines, l) {
					t.Errorf("healthy site: no line %q in:\n%s", l, strings.Join(lines, "\n"))
				}
			}
			if s.Kind == site.KindHost {
				if !slices.Contains(lines, "ok   Nuvla's API: https://nuvla.example.org:"+port(t, e.traefik.https)+"/api/cloud-entry-point answers 200 with JSON") ||
					!slices.Contains(lines, "ok   Elasticsearch (es on nuvla-backend): cluster health green") {
					t.Errorf("healthy host: API or Elasticsearch line missing:\n%s", strings.Join(lines, "\n"))
				}
				// The one-off container is on the backend network, with
				// the site's Elasticsearch image.
				ran, _ := os.ReadFile(filepath.Join(e.swarm.state, "run.log"))
				if w := "run --rm --network nuvla-backend --entrypoint curl " + s.Images["elasticsearch"] + " "; !strings.HasPrefix(string(ran), w) {
					t.Errorf("one-off container: %q, want it to start with %q", ran, w)
				}
			}

			for _, tc := range cases {
				if tc.kind != "" && tc.kind != s.Kind {
					continue
				}
				t.Run(tc.name, func(t *testing.T) {
					e := setup(t)
					tc.setup(t, e)
					code, lines, _ := run(t, e, tc.args...)
					t.Logf("exit %d:\n%s", code, strings.Join(lines, "\n"))
					var fails, wantFails []string
					for _, l := range lines {
						if f, ok := strings.CutPrefix(l, "FAIL "); ok {
							fails = append(fails, f)
						}
					}
					for _, f := range tc.fails {
						if rest, ok := strings.CutPrefix(f, "{every https}"); ok {
							for _, what := range httpsChecks(s, port(t, e.traefik.https)) {
								wantFails = append(wantFails, what+rest)
							}
							continue
						}
						wantFails = append(wantFails, expand(t, e, f))
					}
					if code != 1 || !prefixesMatch(fails, wantFails) {
						t.Errorf("exit %d, FAIL lines:\n%s\nwant exit 1 and:\n%s", code, strings.Join(fails, "\n"), strings.Join(wantFails, "\n"))
					}
					if last := lines[len(lines)-1]; !strings.HasPrefix(last, fmt.Sprintf("# site %s: %d of ", s.Name, len(wantFails))) {
						t.Errorf("last line %q", last)
					}
				})
			}
		})
	}
}

// httpsChecks names a site's HTTPS checks with their URLs, in verify.sh's
// order, as its FAIL lines start.
func httpsChecks(s *site.Site, p string) []string {
	var out []string
	if s.Kind == site.KindHost {
		out = append(out,
			"Nuvla's API: https://"+s.Domain+":"+p+"/api/cloud-entry-point",
			"Nuvla's UI: https://"+s.Domain+":"+p+"/ui/")
	} else {
		out = append(out, "Minio's S3 API: https://"+s.S3Domain+":"+p+"/minio/health/live")
	}
	return append(out,
		"Grafana: https://"+s.Domain+":"+p+"/grafana/",
		"Prometheus: https://"+s.Domain+":"+p+"/prometheus/")
}

// prefixesMatch reports whether each line starts with its wanted text
// (curl's messages go on after what the test pins down).
func prefixesMatch(lines, want []string) bool {
	if len(lines) != len(want) {
		return false
	}
	for i := range lines {
		if !strings.HasPrefix(lines[i], want[i]) {
			return false
		}
	}
	return true
}

func port(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	_, p, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestVerifyUsage: the arguments verify.sh refuses, with exit status 2.
func TestVerifyUsage(t *testing.T) {
	all := rendered(t)
	for _, tc := range []struct {
		site   string
		args   []string
		code   int
		stderr string
	}{
		{"example-host", nil, 2, "verify.sh: site example-host's certificate is not from a public CA: give the CA that signed it with --cacert FILE (ca/ca.pem of the deployment's secrets directory)"},
		{"example-host", []string{"--cacert"}, 2, "verify.sh: --cacert needs a value"},
		{"example-host", []string{"--cacert", "/x", "--https-port", "70000"}, 2, "verify.sh: not a port: 70000"},
		{"example-host", []string{"--cacert", "/x", "--timeout", "soon"}, 2, "verify.sh: --timeout wants a number of seconds, not soon"},
		{"example-host", []string{"--cacert", "/x", "--address", "edge.example.org"}, 2, "verify.sh: --address wants an IPv4 address, or an IPv6 one in brackets, not edge.example.org"},
		{"example-host", []string{"--cacert", "/nonexistent/ca.pem"}, 1, "verify.sh: cannot read /nonexistent/ca.pem"},
		{"example-target", []string{"--cacert", "/x", "--probe-image", "curlimages/curl:8.10.1"}, 2, "verify.sh: --probe-image is for a host site's Elasticsearch, and site example-target is a target site"},
		{"example-target", []string{"--bogus"}, 2, "verify.sh: unknown argument: --bogus"},
		{"example-host", []string{"--help"}, 0, ""},
	} {
		dir := t.TempDir()
		writeSite(t, dir, all[tc.site])
		bin := t.TempDir()
		fakeBin(t, bin, "docker")
		cmd := exec.Command(filepath.Join(dir, "verify.sh"), tc.args...)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "TRIPWIRE_LOG=" + filepath.Join(t.TempDir(), "log")}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(stderr.String(), "\n")
		if code != tc.code || first != tc.stderr {
			t.Errorf("%s verify.sh %q: exit %d, stderr %q; want %d, %q", tc.site, tc.args, code, first, tc.code, tc.stderr)
		}
	}
}
