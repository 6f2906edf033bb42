package pipeline

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
	"github.com/nuvla/nuvlagen/internal/shellcheck"
)

// minioSite is a target site with extra input (the site file's last lines).
func minioSite(extra string) string {
	return `kind: "target"
name: "t"
domain: "t.example.org"
nodes: "a": {address: "203.0.113.10", role: "manager", nfsServer: true}
groups: {management: ["198.51.100.0/28"], nuvla: ["192.0.2.10/32"]}
` + extra
}

// composeService is the part of a compose service these tests read.
type composeService struct {
	Image      string   `yaml:"image"`
	Entrypoint []string `yaml:"entrypoint"`
	Command    []string `yaml:"command"`
	Ports      []any    `yaml:"ports"`
	Deploy     struct {
		Labels map[string]string `yaml:"labels"`
	} `yaml:"deploy"`
}

func services(t *testing.T, data []byte) map[string]composeService {
	t.Helper()
	var f struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f.Services
}

// TestMinioStorage: the storage mode picks Minio's release and how it
// starts, an FS share refuses a release without the backend, and the xl
// mode warns on every generation that the data feature does not work.
func TestMinioStorage(t *testing.T) {
	l := newLoader(t)
	for _, c := range []struct {
		name, extra string
		image       string // "" when loading must fail
		fsInit      bool   // the entry point writes the FS format.json
		warn        bool
		err         string
	}{
		{name: "default fs", image: "minio/minio:RELEASE.2022-10-24T18-35-07Z", fsInit: true},
		{name: "xl", extra: `minio: storage: "xl"`, image: "minio/minio:RELEASE.2025-04-22T22-12-26Z", warn: true},
		{name: "fs older release", extra: `images: minio: "minio/minio:RELEASE.2022-05-26T05-48-41Z"`, image: "minio/minio:RELEASE.2022-05-26T05-48-41Z", fsInit: true},
		{name: "fs by digest", extra: `images: minio: "registry.local:5000/minio@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"`, image: "registry.local:5000/minio@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", fsInit: true},
		{name: "xl pinned", extra: "minio: storage: \"xl\"\nimages: minio: \"minio/minio:RELEASE.2024-01-31T20-20-33Z\"", image: "minio/minio:RELEASE.2024-01-31T20-20-33Z", warn: true},
		{name: "fs first release without it", extra: `images: minio: "minio/minio:RELEASE.2022-10-29T06-21-33Z"`, err: `needs a Minio release up to RELEASE.2022-10-24T18-35-07Z`},
		{name: "fs later month", extra: `images: minio: "minio/minio:RELEASE.2022-11-08T05-27-07Z"`, err: `needs a Minio release up to`},
		{name: "fs later year", extra: `images: minio: "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z"`, err: `needs a Minio release up to`},
		{name: "unknown mode", extra: `minio: storage: "nas"`, err: `storage`},
	} {
		t.Run(c.name, func(t *testing.T) {
			sites, err := l.Load("t.cue", []byte(minioSite(c.extra)))
			if c.err != "" {
				if err == nil {
					t.Fatalf("loaded; want an error containing %q", c.err)
				}
				if msg := strings.Join(diag.Lines(err, ""), "\n"); !strings.Contains(msg, c.err) || !strings.HasPrefix(msg, "t.cue:") {
					t.Fatalf("error %q: want one positioned in t.cue containing %q", msg, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("load: %s", strings.Join(diag.Lines(err, ""), "\n"))
			}
			s := sites[0]
			want := site.StorageFS
			if c.warn {
				want = site.StorageXL
			}
			if s.MinioStorage != want {
				t.Errorf("MinioStorage %q, want %q", s.MinioStorage, want)
			}
			r, err := renderRooted(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := services(t, r.Files["t/stacks/minio/docker-compose.yml"])["minio"]
			if m.Image != c.image {
				t.Errorf("image %q, want %q", m.Image, c.image)
			}
			script := strings.Join(m.Entrypoint, " ")
			if got := strings.Contains(script, `"format":"fs"`); got != c.fsInit {
				t.Errorf("entrypoint %q: writes the FS format.json %v, want %v", script, got, c.fsInit)
			}
			if c.fsInit && (!strings.Contains(script, "[ -e /data/.minio.sys/format.json ] ||") || !strings.HasSuffix(script, "exec /usr/bin/docker-entrypoint.sh minio server /data --console-address :9001")) {
				t.Errorf("entrypoint %q: want the format.json written only when missing, then Minio started", script)
			}
			if !c.fsInit && strings.Join(m.Command, " ") != "server /data --console-address :9001" {
				t.Errorf("command %q", m.Command)
			}
			var warned []string
			for _, w := range r.Warnings {
				if msg := w.Error(); strings.Contains(msg, "minio.storage") {
					warned = append(warned, msg)
				}
			}
			if got := len(warned) == 1 && strings.Contains(warned[0], "data feature does not work"); got != c.warn {
				t.Errorf("storage warnings %q, want one: %v", warned, c.warn)
			}
		})
	}
}

// TestS3NotPlainHTTP: on the embedded sites and targets of each TLS mode
// and storage mode, the S3 API and Minio's console are served over HTTPS only. Traefik's
// HTTP entry point only redirects; every router names its entry points
// (a router without any is on all of them, :80 and :8080 included) and
// none is on web; Minio's routers are TLS routers; Minio publishes no port
// of its own, so 9000 and 9001 are reached through Traefik alone.
func TestS3NotPlainHTTP(t *testing.T) {
	l := newLoader(t)
	sites := sitetest.Embedded(t)
	for _, in := range []string{minioSite(""), minioSite(`tls: {mode: "acme", email: "ops@example.org"}`), minioSite(`minio: storage: "xl"`)} {
		ss, err := l.Load("t.cue", []byte(in))
		if err != nil {
			t.Fatalf("load: %s", strings.Join(diag.Lines(err, ""), "\n"))
		}
		sites = append(sites, ss...)
	}
	for i, s := range sites {
		r, err := renderRooted(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("%d-%s-%s", i, s.Name, s.TLS.Mode), func(t *testing.T) {
			checkHTTPSOnly(t, s, r.Files)
		})
	}
}

func checkHTTPSOnly(t *testing.T, s *site.Site, files Files) {
	root := s.Name + "/stacks/"
	var static struct {
		EntryPoints map[string]struct {
			Address string `yaml:"address"`
			HTTP    struct {
				Redirections struct {
					EntryPoint struct {
						To     string `yaml:"to"`
						Scheme string `yaml:"scheme"`
					} `yaml:"entryPoint"`
				} `yaml:"redirections"`
			} `yaml:"http"`
		} `yaml:"entryPoints"`
	}
	if err := yaml.Unmarshal(files[root+"traefik/traefik.yaml"], &static); err != nil {
		t.Fatal(err)
	}
	// web is the only entry point on :80, and it redirects to websecure.
	var web string
	for name, ep := range static.EntryPoints {
		if ep.Address == ":80" {
			if web != "" {
				t.Errorf("entry points %s and %s both on :80", web, name)
			}
			web = name
		}
	}
	if ep := static.EntryPoints[web]; web == "" || ep.HTTP.Redirections.EntryPoint.To != "websecure" || ep.HTTP.Redirections.EntryPoint.Scheme != "https" {
		t.Errorf("entry point on :80 %q: %+v, want a redirection to websecure over https", web, ep)
	}
	if static.EntryPoints["websecure"].Address != ":443" {
		t.Errorf("websecure on %q, want :443", static.EntryPoints["websecure"].Address)
	}

	// No file-provider router on web, and none without entry points.
	var dynamic struct {
		HTTP struct {
			Routers map[string]struct {
				EntryPoints []string `yaml:"entryPoints"`
			} `yaml:"routers"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal(files[root+"traefik/dynamic.yaml"], &dynamic); err != nil {
		t.Fatal(err)
	}
	for name, r := range dynamic.HTTP.Routers {
		if len(r.EntryPoints) == 0 || slices.Contains(r.EntryPoints, web) {
			t.Errorf("dynamic.yaml router %s on entry points %q: want named ones, never %s", name, r.EntryPoints, web)
		}
	}

	// Every label router of every stack.
	s3 := false
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if !strings.HasPrefix(p, root) || !strings.HasSuffix(p, "/docker-compose.yml") {
			continue
		}
		stack := strings.TrimSuffix(strings.TrimPrefix(p, root), "/docker-compose.yml")
		for svcName, svc := range services(t, files[p]) {
			labels := svc.Deploy.Labels
			for k, rule := range labels {
				name, ok := strings.CutSuffix(strings.TrimPrefix(k, "traefik.http.routers."), ".rule")
				if !ok || !strings.HasPrefix(k, "traefik.http.routers.") {
					continue
				}
				eps := strings.Split(labels["traefik.http.routers."+name+".entrypoints"], ",")
				if eps[0] == "" || slices.Contains(eps, web) {
					t.Errorf("%s: router %s (%s) on entry points %q: want named ones, never %s", p, name, rule, eps, web)
				}
				if stack != "minio" {
					continue
				}
				if strings.Join(eps, ",") != "websecure" {
					t.Errorf("%s: Minio router %s on %q, want websecure only", p, name, eps)
				}
				if labels["traefik.http.routers."+name+".tls"] != "true" && labels["traefik.http.routers."+name+".tls.certresolver"] == "" {
					t.Errorf("%s: Minio router %s is not a TLS router", p, name)
				}
				if rule == "Host(`"+s.S3Domain+"`)" {
					s3 = true
				}
			}
			if stack == "minio" && len(svc.Ports) > 0 {
				t.Errorf("%s: service %s publishes ports %v: Minio's 9000 and 9001 must be reached through Traefik only", p, svcName, svc.Ports)
			}
		}
	}
	if s.Kind == site.KindTarget && !s3 {
		t.Errorf("no Minio router for the S3 domain %s", s.S3Domain)
	}
}

// TestMinioFSInit runs the FS mode's entry point script (with a
// temporary directory for /data and echo for Minio): on a share Minio has
// not formatted it writes the FS format.json, on a formatted one (FS or
// xl) it changes nothing, and Minio's own directory is closed to others
// either way; then it starts Minio with the server's arguments.
func TestMinioFSInit(t *testing.T) {
	ss, err := newLoader(t).Load("t.cue", []byte(minioSite("")))
	if err != nil {
		t.Fatal(err)
	}
	r, err := renderRooted(ss[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	ep := services(t, r.Files["t/stacks/minio/docker-compose.yml"])["minio"].Entrypoint
	if len(ep) != 3 || ep[0] != "/bin/sh" || ep[1] != "-c" {
		t.Fatalf("entrypoint %q: want /bin/sh -c SCRIPT", ep)
	}
	script := ep[2]
	lint := filepath.Join(t.TempDir(), "minio-fs-init.sh")
	if err := os.WriteFile(lint, []byte(script+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shellcheck.Files(t, lint)

	const fsFormat = `{"version":"1","format":"fs","fs":{"version":"2"}}` + "\n"
	for _, c := range []struct {
		name   string
		before map[string]string // files under /data
		want   string            // format.json after
	}{
		{"fresh", nil, fsFormat},
		{"guide's share with files", map[string]string{"bucket/object.txt": "data"}, fsFormat},
		{"FS share", map[string]string{".minio.sys/format.json": `{"version":"1","format":"fs","id":"x","fs":{"version":"2"}}`}, `{"version":"1","format":"fs","id":"x","fs":{"version":"2"}}`},
		{"xl share", map[string]string{".minio.sys/format.json": `{"version":"1","format":"xl-single","id":"y"}`}, `{"version":"1","format":"xl-single","id":"y"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			if err := os.MkdirAll(data, 0o755); err != nil {
				t.Fatal(err)
			}
			for p, content := range c.before {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(data, p)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(data, p), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			run := strings.ReplaceAll(script, "/data", data)
			run = strings.Replace(run, "exec /usr/bin/docker-entrypoint.sh ", "exec echo ", 1)
			out, err := exec.Command("sh", "-c", run).CombinedOutput()
			if err != nil {
				t.Fatalf("script: %v\n%s", err, out)
			}
			if got, want := string(out), "minio server "+data+" --console-address :9001\n"; got != want {
				t.Errorf("started %q, want %q", got, want)
			}
			got, err := os.ReadFile(filepath.Join(data, ".minio.sys", "format.json"))
			if err != nil || string(got) != c.want {
				t.Errorf("format.json %q (%v), want %q", got, err, c.want)
			}
			if fi, err := os.Stat(filepath.Join(data, ".minio.sys")); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf(".minio.sys: %v, %v; want mode 0700", fi.Mode(), err)
			}
			for p, content := range c.before {
				if b, _ := os.ReadFile(filepath.Join(data, p)); p != ".minio.sys/format.json" && string(b) != content {
					t.Errorf("%s changed: %q", p, b)
				}
			}
		})
	}
}

// minioBinaryVar names a Minio RELEASE.2022-10-24T18-35-07Z server binary
// (built from the tag's source, or copied out of the image) for
// TestMinioFSServer; without it the test skips.
const minioBinaryVar = "NUVLAGEN_MINIO_FS_BINARY"

// TestMinioFSServer starts the FS release through the FS entry point on an
// empty share and uploads an object over S3: the object must be a plain
// file under the share, readable by others (NFS clients read as "other"),
// and .minio.sys closed to them. Without the entry point's format.json the
// same release would format the share as xl-single.
func TestMinioFSServer(t *testing.T) {
	bin := os.Getenv(minioBinaryVar)
	if bin == "" {
		t.Skipf("set %s to a Minio RELEASE.2022-10-24T18-35-07Z binary to run this test", minioBinaryVar)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl (7.75 or later, for --aws-sigv4) is not installed")
	}
	ss, err := newLoader(t).Load("t.cue", []byte(minioSite("")))
	if err != nil {
		t.Fatal(err)
	}
	r, err := renderRooted(ss[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	script := services(t, r.Files["t/stacks/minio/docker-compose.yml"])["minio"].Entrypoint[2]
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	const addr = "127.0.0.1:19000"
	run := strings.ReplaceAll(script, "/data", data)
	run = strings.Replace(run, "exec /usr/bin/docker-entrypoint.sh minio server", "exec "+bin+" server --address "+addr, 1)
	run = strings.Replace(run, "--console-address :9001", "--console-address 127.0.0.1:19001", 1)
	cmd := exec.Command("sh", "-c", run)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER=nuvlagen-test", "MINIO_ROOT_PASSWORD=nuvlagen-test-secret")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	curl := func(args ...string) (string, error) {
		base := []string{"-s", "-S", "-f", "--retry", "20", "--retry-connrefused", "--retry-delay", "1", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "nuvlagen-test:nuvlagen-test-secret"}
		out, err := exec.Command("curl", append(base, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := curl("-X", "PUT", "http://"+addr+"/bucket/"); err != nil {
		t.Fatalf("make bucket: %v\n%s\nminio:\n%s", err, out, log.String())
	}
	obj := filepath.Join(dir, "obj.txt")
	if err := os.WriteFile(obj, []byte("hello over NFS"), 0o600); err != nil {
		t.Fatal(err)
	}
	// curl signs the body's digest only when given it.
	sum, err := exec.Command("sha256sum", obj).Output()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := curl("-H", "x-amz-content-sha256: "+strings.Fields(string(sum))[0], "-T", obj, "http://"+addr+"/bucket/dir/obj.txt"); err != nil {
		t.Fatalf("put object: %v\n%s\nminio:\n%s", err, out, log.String())
	}
	plain := filepath.Join(data, "bucket", "dir", "obj.txt")
	if b, err := os.ReadFile(plain); err != nil || string(b) != "hello over NFS" {
		t.Fatalf("the object is not the plain file %s: %q, %v", plain, b, err)
	}
	for p, want := range map[string]os.FileMode{plain: 0o004, filepath.Dir(plain): 0o005, filepath.Join(data, "bucket"): 0o005} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm()&want != want {
			t.Errorf("%s: %v, %v; others must read it", p, fi.Mode(), err)
		}
	}
	if fi, err := os.Stat(filepath.Join(data, ".minio.sys")); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf(".minio.sys: %v, %v; want it closed to others", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(filepath.Join(data, ".minio.sys", "format.json")); !strings.Contains(string(b), `"format":"fs"`) || !strings.Contains(string(b), `"id":`) {
		t.Errorf("format.json %q: want Minio's FS format with the deployment id it adds", b)
	}
}
