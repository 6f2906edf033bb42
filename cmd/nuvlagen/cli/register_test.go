package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// registerSetup generates the example sites and a secrets directory for
// their registration; it returns the documents' directory, the secrets
// directory and the secret values.
func registerSetup(t *testing.T) (docs, dir string, values []string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	var o, e bytes.Buffer
	if code := Main([]string{"generate", "--out", out, "-q"}, &o, &e); code != ExitOK {
		t.Fatalf("generate: %d\n%s", code, e.String())
	}
	dir = t.TempDir()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nuvla"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(k)
	cert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	key := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))
	files := map[string]string{
		"example-host/nuvla-docker-client/ca.pem":   cert,
		"example-host/nuvla-docker-client/cert.pem": cert,
		"example-host/nuvla-docker-client/key.pem":  key,
		"example-host/NUVLA_SUPER_PASSWORD":         "super-password-0123456789",
		"example-target/minio_root_user":            "nuvla-minio-user-0123",
		"example-target/minio_root_password":        "minio-password-0123456789",
	}
	for p, v := range files {
		p = filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		values = append(values, strings.TrimSpace(v))
	}
	return filepath.Join(out, "example-target", "nuvla"), dir, values
}

func TestRegister(t *testing.T) {
	docs, dir, values := registerSetup(t)
	// A Nuvla that refuses every login, as with a wrong password.
	var requests []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests = append(requests, r.Method+" "+r.URL.Path)
		w.WriteHeader(403)
		_, _ = w.Write([]byte(`{"status": 403, "message": "invalid credentials for 'super'"}`))
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"register", "--secrets", dir, "--host", "example-host", "--endpoint", srv.URL, "--cacert", ca}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // a part of it
		stderr string
		sent   int
	}{
		{"dry run", slices.Concat(base, []string{"--dry-run", docs}), ExitOK, "POST " + srv.URL + "/api/credential\n", "", 0},
		{"login refused", slices.Concat(base, []string{docs}), ExitInvalid, "", "nuvlagen register: logging in to " + srv.URL + " as super", 1},
		{"missing flags", []string{"register", docs}, ExitUsage, "", "want --secrets, --host, --endpoint", 0},
		{"plain http", []string{"register", "--secrets", dir, "--host", "example-host", "--endpoint", "http://nuvla.example.org", docs}, ExitUsage, "", "want https://HOST[:PORT]", 0},
		{"no such secret", []string{"register", "--secrets", dir, "--host", "other-host", "--endpoint", srv.URL, docs}, ExitInvalid, "", "other-host/NUVLA_SUPER_PASSWORD", 0},
		{"no documents", slices.Concat(base, []string{t.TempDir()}), ExitInvalid, "", "no documents", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requests = nil
			var o, e bytes.Buffer
			if code := Main(tc.args, &o, &e); code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, o.String(), e.String())
			}
			if !strings.Contains(o.String(), tc.stdout) || !strings.Contains(e.String(), tc.stderr) {
				t.Errorf("stdout:\n%s\nstderr:\n%s\nwant %q and %q", o.String(), e.String(), tc.stdout, tc.stderr)
			}
			if len(requests) != tc.sent {
				t.Errorf("requests %v, want %d", requests, tc.sent)
			}
			for _, v := range values {
				if strings.Contains(o.String()+e.String(), v) {
					t.Errorf("the output holds a secret")
				}
			}
		})
	}
}
