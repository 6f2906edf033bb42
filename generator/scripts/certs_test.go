package scripts_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/generator/pki"
	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/secretsdir"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
)

// The tests' certificates are the deployment's kind, from package pki.

func newTestCA(t *testing.T, cn string) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA(cn, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// serverLeaf is a node's Docker API certificate, for its name and
// address, issued at now.
func serverLeaf(t *testing.T, ca *pki.CA, host, addr string, now time.Time) *pki.Leaf {
	t.Helper()
	l, err := ca.Server(host, []string{host}, []netip.Addr{netip.MustParseAddr(addr)}, now)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func clientLeaf(t *testing.T, ca *pki.CA, cn string) *pki.Leaf {
	t.Helper()
	l, err := ca.Client(cn, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// dockerTLSDir writes the secrets directory's docker-tls/<node> layout:
// ca.pem, cert.pem and key.pem (0600).
func dockerTLSDir(t *testing.T, ca *pki.CA, server *pki.Leaf) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range map[string][]byte{"ca.pem": ca.CertPEM(), "cert.pem": server.CertPEM, "key.pem": server.KeyPEM} {
		mode := os.FileMode(0o644)
		if name == "key.pem" {
			mode = 0o600
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// deploymentSecrets writes the embedded examples' deployment secrets
// directory, as nuvlagen secrets init does (package secrets' files,
// package secretsdir's writer), with ca as its CA, and returns the
// directory of it a manager's prepare script takes (docker-tls/<node> of
// its site) and the host Nuvla's client pair.
func deploymentSecrets(t *testing.T, ca *pki.CA, target, node string) (string, *pki.Leaf) {
	t.Helper()
	deps, err := site.LinkDeployments(sitetest.Embedded(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps {
		for _, tg := range d.Targets {
			if tg.Name != target {
				continue
			}
			files, err := secrets.Deployment(d, ca, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "secrets")
			if _, err := secretsdir.Write(dir, files, false, false); err != nil {
				t.Fatal(err)
			}
			client := filepath.Join(dir, d.Host.Name, secrets.ClientTLS)
			cert, err := os.ReadFile(filepath.Join(client, "cert.pem"))
			if err != nil {
				t.Fatal(err)
			}
			key, err := os.ReadFile(filepath.Join(client, "key.pem"))
			if err != nil {
				t.Fatal(err)
			}
			leaf, err := pki.ParseLeaf(cert, key)
			if err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, target, secrets.DockerTLS, node), leaf
		}
	}
	t.Fatalf("no deployment has target %s", target)
	return "", nil
}
