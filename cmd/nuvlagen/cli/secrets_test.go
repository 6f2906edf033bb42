package cli

import (
	"crypto/x509"
	"maps"
	"net/netip"
	"time"

	"github.com/nuvla/nuvlagen/generator/outdir"
	"github.com/nuvla/nuvlagen/generator/pki"
	"github.com/nuvla/nuvlagen/internal/golden"

	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func secretsInit(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(append([]string{"secrets", "init"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// standaloneTarget writes example-target as a site on its own: a target
// without a host, its Nuvla sources written out.
func standaloneTarget(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(golden.Root(t), "cue", "sites", "example-target.cue"))
	if err != nil {
		t.Fatal(err)
	}
	src = bytes.Replace(src, []byte(`host:   "example-host"`), nil, 1)
	src = bytes.Replace(src, []byte(`groups: management: ["198.51.100.0/28"]`), []byte(`groups: {management: ["198.51.100.0/28"], nuvla: ["192.0.2.10/32", "192.0.2.11/32"]}`), 1)
	p := filepath.Join(t.TempDir(), "target.cue")
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// twoSites writes a file of two sites that are not one deployment.
func twoSites(t *testing.T) string {
	t.Helper()
	host, err := os.ReadFile(exampleHost(t))
	if err != nil {
		t.Fatal(err)
	}
	target, err := os.ReadFile(standaloneTarget(t))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "two.cue")
	if err := os.WriteFile(p, append(host, bytes.TrimPrefix(target, []byte("package nuvla"))...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func exampleHost(t *testing.T) string {
	return filepath.Join(golden.Root(t), "cue", "sites", "example-host.cue")
}

// standaloneHost writes example-host alone in a directory: a host whose
// targets are not beside it, so a site on its own.
func standaloneHost(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(exampleHost(t))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "example-host.cue")
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// exampleDeployment copies the example sites' files into a directory of
// their own, one site a file as an operator keeps them, and returns it.
func exampleDeployment(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join(golden.Root(t), "cue", "sites", "*.cue"))
	if err != nil || len(files) < 3 {
		t.Fatalf("example sites: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tree lists every file under dir with its content's digest, to tell
// that a refused run wrote nothing.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(b)
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

func TestSecretsInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	target := standaloneTarget(t)
	code, out, errs := secretsInit(t, dir, "--site", target)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode %04o, want 0700", perm)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"grafana_admin_password", "minio_root_password", "minio_root_user", "prometheus_htpasswd", "prometheus_htpasswd.password", "traefik_tls_crt", "traefik_tls_key"}
	var names []string
	before := map[string][]byte{}
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", e.Name(), perm)
		}
		before[e.Name()], _ = os.ReadFile(filepath.Join(dir, e.Name()))
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("files:\n got %v\nwant %v", names, want)
	}
	if !strings.Contains(out, "created  traefik_tls_crt (self-signed certificate for [target.example.org s3.target.example.org]") {
		t.Errorf("stdout:\n%s", out)
	}

	// Again: nothing is overwritten.
	code, out, errs = secretsInit(t, dir, "--site", target)
	if code != ExitOK || strings.Contains(out, "created") {
		t.Fatalf("second run: exit %d, stdout:\n%s\nstderr: %s", code, out, errs)
	}
	for name, b := range before {
		now, _ := os.ReadFile(filepath.Join(dir, name))
		if !bytes.Equal(now, b) {
			t.Errorf("%s changed without --force", name)
		}
	}

	// A missing file is filled in; a key without its certificate is refused.
	os.Remove(filepath.Join(dir, "grafana_admin_password"))
	os.Remove(filepath.Join(dir, "traefik_tls_crt"))
	code, _, errs = secretsInit(t, dir, "--site", target)
	if code != ExitInvalid || !strings.Contains(errs, "traefik_tls_key exists but traefik_tls_crt does not: they belong together") {
		t.Errorf("half a pair: exit %d, stderr %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "grafana_admin_password")); err == nil {
		t.Errorf("a refused run wrote files")
	}

	// --force replaces everything.
	code, _, errs = secretsInit(t, dir, "--site", target, "--force")
	if code != ExitOK {
		t.Fatalf("--force: exit %d: %s", code, errs)
	}
	for name, b := range before {
		now, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(now, b) {
			t.Errorf("%s not replaced by --force", name)
		}
		info, _ := os.Stat(filepath.Join(dir, name))
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s after --force: mode %04o", name, perm)
		}
	}
}

func TestSecretsInitRefuses(t *testing.T) {
	repo := t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{filepath.Join(repo, "sub", "secrets"), "--site-name", "example-host"}, ExitInvalid, "it is inside the git work tree"},
		{[]string{filepath.Join(t.TempDir(), "out", "example-host", "secrets"), "--site-name", "example-host"}, ExitInvalid, "it is inside an out/ directory"},
		{[]string{open, "--site-name", "example-host"}, ExitInvalid, "is open to other users (mode 0755)"},
		{[]string{filepath.Join(t.TempDir(), "s"), "--site", twoSites(t)}, ExitUsage, "2 sites to choose from (example-host, example-target): pick one with --site-name"},
		{[]string{filepath.Join(t.TempDir(), "s"), "--site-name", "nope"}, ExitUsage, `no site named "nope"`},
		{[]string{}, ExitUsage, "want exactly one directory"},
	} {
		code, _, errs := secretsInit(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("secrets init %q: exit %d, stderr %q; want %d and %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
	// --allow-in-repo lets it through.
	dir := filepath.Join(repo, "secrets")
	if code, _, errs := secretsInit(t, dir, "--site-name", "example-host", "--allow-in-repo"); code != ExitOK {
		t.Errorf("--allow-in-repo: exit %d: %s", code, errs)
	}
}

// TestSecretsInitCredentialKey: --force never replaces the key Nuvla
// encrypts stored credentials with; only --regenerate-credential-key
// does, warning what it destroys and keeping the old key.
func TestSecretsInitCredentialKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	key := filepath.Join(dir, "CREDENTIAL_ENCRYPTION_KEY")
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	host := standaloneHost(t)
	if code, _, errs := secretsInit(t, dir, "--site", host); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	first, password := read(key), read(filepath.Join(dir, "NUVLA_SUPER_PASSWORD"))

	code, out, errs := secretsInit(t, dir, "--site", host, "--force")
	if code != ExitOK {
		t.Fatalf("--force: exit %d: %s", code, errs)
	}
	if read(key) != first {
		t.Error("--force replaced CREDENTIAL_ENCRYPTION_KEY")
	}
	if read(filepath.Join(dir, "NUVLA_SUPER_PASSWORD")) == password {
		t.Error("--force kept NUVLA_SUPER_PASSWORD")
	}
	if !strings.Contains(out, "kept     CREDENTIAL_ENCRYPTION_KEY (--force does not replace it: Nuvla encrypts") || !strings.Contains(out, "--regenerate-credential-key does)") {
		t.Errorf("--force does not say why it kept the key:\n%s", out)
	}

	code, out, errs = secretsInit(t, dir, "--site", host, "--regenerate-credential-key")
	if code != ExitOK {
		t.Fatalf("--regenerate-credential-key: exit %d: %s", code, errs)
	}
	if read(key) == first {
		t.Error("--regenerate-credential-key kept the key")
	}
	if read(key+".previous") != first {
		t.Error("the old key is not in CREDENTIAL_ENCRYPTION_KEY.previous")
	}
	if info, _ := os.Stat(key + ".previous"); info == nil || info.Mode().Perm() != 0o600 {
		t.Errorf("CREDENTIAL_ENCRYPTION_KEY.previous: %v, want mode 0600", info)
	}
	if !strings.Contains(errs, "warning: CREDENTIAL_ENCRYPTION_KEY regenerated. Nuvla encrypts the secrets of the credentials it stores with this key: with a new one, no credential stored with the old key can be decrypted") {
		t.Errorf("no warning on stderr: %q", errs)
	}
	if !strings.Contains(out, "kept     NUVLA_SUPER_PASSWORD") {
		t.Errorf("--regenerate-credential-key alone replaced other files:\n%s", out)
	}

	// Twice would lose the only copy of the first key: refused.
	second := read(key)
	code, _, errs = secretsInit(t, dir, "--site", host, "--regenerate-credential-key", "--force")
	if code != ExitInvalid || !strings.Contains(errs, "CREDENTIAL_ENCRYPTION_KEY.previous exists: move it away") {
		t.Errorf("regenerating with a .previous there: exit %d, stderr %q", code, errs)
	}
	if read(key) != second || read(key+".previous") != first {
		t.Error("a refused run changed the keys")
	}

	code, _, errs = secretsInit(t, filepath.Join(t.TempDir(), "t"), "--site", standaloneTarget(t), "--regenerate-credential-key")
	if code != ExitUsage || !strings.Contains(errs, "site example-target has no CREDENTIAL_ENCRYPTION_KEY") {
		t.Errorf("target site: exit %d, stderr %q", code, errs)
	}
}

// TestSecretsInitRefusesOutput: whatever the output directory is called,
// secrets init refuses any directory inside it, told by the manifests or
// by the generated headers, and through symbolic links.
func TestSecretsInitRefusesOutput(t *testing.T) {
	work := t.TempDir()
	deploy := filepath.Join(work, "deploy")
	var out, errOut bytes.Buffer
	if code := Main([]string{"generate", "--out", deploy, "-q"}, &out, &errOut); code != ExitOK {
		t.Fatalf("generate: exit %d: %s", code, errOut.String())
	}
	old := filepath.Join(work, "old")
	if err := os.MkdirAll(old, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(deploy, "example-target"), filepath.Join(old, "example-target")); err != nil {
		t.Fatal(err)
	}
	// An older nuvlagen's output: no manifest, only headers.
	if err := os.Remove(filepath.Join(old, "example-target", outdir.ManifestName)); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(work, "link")
	if err := os.Symlink(filepath.Join(deploy, "example-host"), link); err != nil {
		t.Fatal(err)
	}
	// A link whose target is named out.
	outLink := filepath.Join(work, "y")
	if err := os.MkdirAll(filepath.Join(work, "x", "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(work, "x", "out"), outLink); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, want string }{
		{filepath.Join(deploy, "example-host", "secrets"), "it is inside the site directory " + filepath.Join(deploy, "example-host") + ", which nuvlagen generate writes and replaces (--allow-in-repo overrides)"},
		{filepath.Join(deploy, "example-host", "stacks", "nuvla", "s"), "it is inside the site directory " + filepath.Join(deploy, "example-host") + ","},
		{filepath.Join(deploy, "secrets"), "it is inside the output directory " + deploy + " of nuvlagen generate (it holds the site example-host)"},
		{filepath.Join(old, "example-target", "secrets"), "it is inside the site directory " + filepath.Join(old, "example-target") + ","},
		{filepath.Join(link, "secrets"), "it is inside the site directory " + link + ","},
		{filepath.Join(outLink, "secrets"), "it is inside an out/ directory (" + filepath.Join(work, "x", "out") + ")"},
	} {
		code, _, errs := secretsInit(t, tc.dir, "--site-name", "example-host")
		if code != ExitInvalid || !strings.Contains(errs, tc.want) {
			t.Errorf("secrets init %s: exit %d, stderr %q; want %d and %q", tc.dir, code, errs, ExitInvalid, tc.want)
		}
		if _, err := os.Lstat(tc.dir); err == nil {
			t.Errorf("a refused secrets init created %s", tc.dir)
		}
	}
	// Next to the output directory is fine.
	if code, _, errs := secretsInit(t, filepath.Join(work, "secrets"), "--site-name", "example-target"); code != ExitOK {
		t.Errorf("secrets init next to the output: exit %d: %s", code, errs)
	}
}

// TestSecretsInitDeployment: the example sites are one deployment, so
// one run creates the CA and every site's directory; every certificate
// chains to the CA with the names the sites connect by, and a second run
// keeps the CA (what it signed stays valid), also with --force.
func TestSecretsInitDeployment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	code, out, errs := secretsInit(t, dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, s := range []string{"example-host", "example-target", "example-target-2"} {
		if want := "deploy with: deploy.sh --secrets " + filepath.Join("secrets", s) + "\n"; !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	read := func(rel string) []byte {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", rel, perm)
		}
		b, _ := os.ReadFile(p)
		return b
	}
	caPEM := read("ca/ca.pem")
	ca, err := pki.ParseCA(caPEM, read("ca/ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, c := range []struct {
		cert  string
		usage x509.ExtKeyUsage
		name  string
	}{
		{"example-target/docker-tls/target-manager-1/cert.pem", x509.ExtKeyUsageServerAuth, "203.0.113.10"},
		{"example-target/docker-tls/target-manager-1/cert.pem", x509.ExtKeyUsageServerAuth, "target-manager-1"},
		{"example-target-2/docker-tls/target2-manager-1/cert.pem", x509.ExtKeyUsageServerAuth, "203.0.113.20"},
		{"example-host/nuvla-docker-client/cert.pem", x509.ExtKeyUsageClientAuth, ""},
		{"example-target/traefik_tls_crt", x509.ExtKeyUsageServerAuth, "s3.target.example.org"},
		{"example-host/traefik_tls_crt", x509.ExtKeyUsageServerAuth, "nuvla.example.org"},
	} {
		if err := pki.Verify(ca.Cert, read(c.cert), c.usage, c.name, now); err != nil {
			t.Errorf("%s for %q: %v", c.cert, c.name, err)
		}
	}
	for _, d := range []string{"example-target/docker-tls/target-manager-1", "example-host/nuvla-docker-client"} {
		if !bytes.Equal(read(d+"/ca.pem"), caPEM) {
			t.Errorf("%s/ca.pem is not the deployment CA", d)
		}
		if _, err := pki.ParseLeaf(read(d+"/cert.pem"), read(d+"/key.pem")); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	if len(read("example-host/nuvla_truststore")) == 0 {
		t.Error("empty truststore")
	}
	if _, err := os.Stat(filepath.Join(dir, "example-host", "docker-tls")); err == nil {
		t.Error("the host has Docker API server certificates: only target managers are driven by Nuvla")
	}

	server := read("example-target/docker-tls/target-manager-1/cert.pem")
	if code, out, errs := secretsInit(t, dir); code != ExitOK || strings.Contains(out, "created") {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs := secretsInit(t, dir, "--force"); code != ExitOK {
		t.Fatalf("--force: exit %d: %s", code, errs)
	}
	if !bytes.Equal(read("ca/ca.pem"), caPEM) {
		t.Error("--force replaced the CA")
	}
	again := read("example-target/docker-tls/target-manager-1/cert.pem")
	if bytes.Equal(again, server) {
		t.Error("--force kept the server certificate")
	}
	if err := pki.Verify(ca.Cert, again, x509.ExtKeyUsageServerAuth, "203.0.113.10", now); err != nil {
		t.Errorf("after --force: %v", err)
	}

	// secrets check: every certificate listed; one of another CA, about
	// to expire, is two findings.
	var out2, errb bytes.Buffer
	if code := Main([]string{"secrets", "check", dir}, &out2, &errb); code != ExitOK || !strings.Contains(out2.String(), "example-target/docker-tls/target-manager-1/cert.pem: expires ") {
		t.Fatalf("secrets check: exit %d\n%s%s", code, out2.String(), errb.String())
	}
	other, err := pki.NewCA("other", now.Add(-815*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	old, err := other.Server("target-manager-1", nil, []netip.Addr{netip.MustParseAddr("203.0.113.10")}, now.Add(-815*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "example-target", "docker-tls", "target-manager-1", "cert.pem"), old.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	out2.Reset()
	errb.Reset()
	code = Main([]string{"secrets", "check", dir}, &out2, &errb)
	if code != ExitInvalid || !strings.Contains(out2.String(), "renew it") || !strings.Contains(out2.String(), "NOT signed by the deployment CA") {
		t.Errorf("secrets check of a due, foreign certificate: exit %d\n%s%s", code, out2.String(), errb.String())
	}

	// Half a CA is for the operator to resolve, never replaced.
	os.Remove(filepath.Join(dir, "ca", "ca.pem"))
	if code, _, errs := secretsInit(t, dir, "--force"); code != ExitInvalid || !strings.Contains(errs, "restore the certificate") {
		t.Errorf("half a CA: exit %d, stderr %q", code, errs)
	}
}

// TestSecretsInitSiteOfDeployment: --site with any one site file of a
// deployment makes the whole deployment's directory, its other sites
// found beside it as generate finds them; a re-run from any of its files
// keeps everything; a directory that cannot take the deployment as it is
// (no CA for the secrets it holds, certificates of another CA, a site on
// its own's files) is refused, naming what to do, with nothing written.
func TestSecretsInitSiteOfDeployment(t *testing.T) {
	sites := exampleDeployment(t)
	host, target := filepath.Join(sites, "example-host.cue"), filepath.Join(sites, "example-target.cue")
	dir := filepath.Join(t.TempDir(), "secrets")
	code, out, errs := secretsInit(t, dir, "--site", host)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, s := range []string{"example-host", "example-target", "example-target-2"} {
		if want := "; deploy with: deploy.sh --secrets "; !strings.Contains(out, "secrets of site "+s+" are in ") || !strings.Contains(out, want) {
			t.Errorf("stdout does not say where site %s's secrets are:\n%s", s, out)
		}
	}
	for _, p := range []string{"ca/ca.pem", "example-host/CREDENTIAL_ENCRYPTION_KEY", "example-target/docker-tls/target-manager-1/cert.pem", "example-target-2/traefik_tls_crt"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("--site %s: %v", filepath.Base(host), err)
		}
	}
	first := tree(t, dir)

	// The cases below start from copies of this directory.
	copyOf := func(t *testing.T) string {
		t.Helper()
		c := filepath.Join(t.TempDir(), "secrets")
		for rel, content := range first {
			p := filepath.Join(c, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}

	// Idempotent, from whichever site's file.
	code, out, errs = secretsInit(t, dir, "--site", target)
	if code != ExitOK || strings.Contains(out, "created") || !maps.Equal(first, tree(t, dir)) {
		t.Errorf("again with --site %s: exit %d\n%s%s", filepath.Base(target), code, out, errs)
	}

	// A target added later: only its files are new, signed by the CA.
	added := copyOf(t)
	if err := os.RemoveAll(filepath.Join(added, "example-target-2")); err != nil {
		t.Fatal(err)
	}
	code, out, errs = secretsInit(t, added, "--site", host)
	if code != ExitOK {
		t.Fatalf("a new target: exit %d: %s", code, errs)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, "created") && !strings.HasPrefix(line, "created  example-target-2/") {
			t.Errorf("a new target: %s", line)
		}
	}
	var check, checkErr bytes.Buffer
	if code := Main([]string{"secrets", "check", added}, &check, &checkErr); code != ExitOK {
		t.Errorf("secrets check after a new target: exit %d\n%s%s", code, check.String(), checkErr.String())
	}

	now := time.Now()
	other, err := pki.NewCA("other", now)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Server("target.example.org", []string{"target.example.org"}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(t.TempDir(), "alone")
	if code, _, errs := secretsInit(t, alone, "--site", standaloneHost(t)); code != ExitOK {
		t.Fatalf("a site on its own: exit %d: %s", code, errs)
	}
	refused := []struct {
		name string
		dir  func(t *testing.T) string
		site string
		want string
	}{
		{"no CA", func(t *testing.T) string {
			d := copyOf(t)
			os.RemoveAll(filepath.Join(d, "ca"))
			return d
		}, target, "holds secrets of example-host, example-target, example-target-2 but no CA (ca/ca.pem and ca/ca-key.pem): the CA that signed their certificates is gone"},
		{"another CA's certificates", func(t *testing.T) string {
			d := copyOf(t)
			os.WriteFile(filepath.Join(d, "example-target", "traefik_tls_crt"), foreign.CertPEM, 0o600)
			os.WriteFile(filepath.Join(d, "example-target", "traefik_tls_key"), foreign.KeyPEM, 0o600)
			return d
		}, host, "example-target/traefik_tls_crt not signed by the deployment CA in ca/"},
		{"a site on its own's directory", func(t *testing.T) string { return alone }, target,
			"at its top, as the directory of a site on its own does"},
		{"a deployment's directory for a site on its own", copyOf, standaloneHost(t),
			"is a deployment's secrets directory (it holds ca/), and site example-host is a site on its own here"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			d := c.dir(t)
			before := tree(t, d)
			code, out, errs := secretsInit(t, d, "--site", c.site)
			if code != ExitInvalid || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, stderr %q, want 1 and %q", code, errs, c.want)
			}
			if out != "" || !maps.Equal(before, tree(t, d)) {
				t.Errorf("a refused run wrote something:\n%s", out)
			}
		})
	}

	// --force starts a new CA over secrets whose CA is gone, and every
	// certificate is then the new CA's.
	if err := os.RemoveAll(filepath.Join(dir, "ca")); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := secretsInit(t, dir, "--site", host, "--force"); code != ExitOK {
		t.Fatalf("--force without a CA: exit %d: %s", code, errs)
	}
	check.Reset()
	checkErr.Reset()
	if code := Main([]string{"secrets", "check", dir}, &check, &checkErr); code != ExitOK {
		t.Errorf("secrets check after --force: exit %d\n%s%s", code, check.String(), checkErr.String())
	}
}

// TestSecretsInitRenewCertificates: --renew-certificates re-issues every
// certificate of a deployment with its key, signed by the CA there, and
// leaves every other file as it was: the CA, passwords, variables, the
// session keys, the truststore.
func TestSecretsInitRenewCertificates(t *testing.T) {
	host := filepath.Join(exampleDeployment(t), "example-host.cue")
	dir := filepath.Join(t.TempDir(), "secrets")
	if code, _, errs := secretsInit(t, dir, "--site", host); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	before := tree(t, dir)
	code, out, errs := secretsInit(t, dir, "--site", host, "--renew-certificates")
	if code != ExitOK {
		t.Fatalf("--renew-certificates: exit %d: %s", code, errs)
	}
	after := tree(t, dir)
	caPEM := before["ca/ca.pem"]
	ca, err := pki.ParseCA([]byte(caPEM), []byte(before["ca/ca-key.pem"]))
	if err != nil {
		t.Fatal(err)
	}
	renewed := 0
	for name, old := range before {
		now := after[name]
		isCert := strings.HasPrefix(old, "-----BEGIN CERTIFICATE-----") && old != caPEM
		isKey := strings.HasSuffix(name, "key.pem") && !strings.HasPrefix(name, "ca/") || strings.HasSuffix(name, "traefik_tls_key")
		switch {
		case isCert:
			renewed++
			if now == old {
				t.Errorf("%s: not renewed", name)
			} else if !pki.IssuedBy(ca.Cert, []byte(now)) {
				t.Errorf("%s: renewed, but not by the deployment CA", name)
			}
		case isKey:
			if now == old {
				t.Errorf("%s: the key of a renewed certificate is kept", name)
			}
		case now != old:
			t.Errorf("%s: changed, but it is no certificate", name)
		}
	}
	if renewed < 5 || len(after) != len(before) {
		t.Errorf("renewed %d certificates; %d files before, %d after\n%s", renewed, len(before), len(after), out)
	}
	var check, checkErr bytes.Buffer
	if code := Main([]string{"secrets", "check", dir}, &check, &checkErr); code != ExitOK {
		t.Errorf("secrets check after renewing: exit %d\n%s%s", code, check.String(), checkErr.String())
	}
	if code, _, errs := secretsInit(t, dir, "--site", host, "--renew-certificates", "--force"); code != ExitUsage || !strings.Contains(errs, "not with --force") {
		t.Errorf("--renew-certificates --force: exit %d, stderr %q", code, errs)
	}
}
