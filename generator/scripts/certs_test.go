package scripts_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/generator/pki"
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
