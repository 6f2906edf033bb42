package secrets

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
)

func embedded(t *testing.T) []*site.Site {
	t.Helper()
	sites := sitetest.Embedded(t)
	return sites
}

func block(t *testing.T, name string, b []byte, typ string) []byte {
	t.Helper()
	p, rest := pem.Decode(b)
	if p == nil || p.Type != typ || len(strings.TrimSpace(string(rest))) > 0 {
		t.Fatalf("%s: want exactly one PEM block %q", name, typ)
	}
	return p.Bytes
}

func TestGenerate(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	alnum := regexp.MustCompile(`^[A-Za-z0-9]+$`)
	for _, s := range embedded(t) {
		files, err := Generate(s, now)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string][]byte{}
		for _, f := range files {
			if _, dup := byName[f.Name]; dup {
				t.Errorf("%s: file %s generated twice", s.Name, f.Name)
			}
			byName[f.Name] = f.Content
		}
		// Every secret and variable the site needs has its file.
		for _, sec := range s.Secrets {
			if _, ok := byName[sec.Name]; !ok {
				t.Errorf("%s: no file for secret %s", s.Name, sec.Name)
			}
		}
		for _, v := range s.Variables {
			val := string(byName[v.Name])
			if len(val) < 32 || !alnum.MatchString(val) {
				t.Errorf("%s: variable %s = %q: want 32 or more letters and digits", s.Name, v.Name, val)
			}
		}
		for _, sec := range s.Secrets {
			c := byName[sec.Name]
			switch sec.Kind {
			case "password":
				if len(c) != passwordLength || !alnum.Match(c) {
					t.Errorf("%s: %s = %q", s.Name, sec.Name, c)
				}
			case "placeholder":
				if string(c) != Placeholder {
					t.Errorf("%s: %s = %q", s.Name, sec.Name, c)
				}
			case "htpasswd":
				user, hash, ok := strings.Cut(strings.TrimSuffix(string(c), "\n"), ":")
				pw := byName[sec.Name+".password"]
				if !ok || user != PrometheusUser || bcrypt.CompareHashAndPassword([]byte(hash), pw) != nil {
					t.Errorf("%s: %s %q does not check against its password", s.Name, sec.Name, c)
				}
			case "tls-cert":
				der := block(t, sec.Name, c, "CERTIFICATE")
				cert, err := x509.ParseCertificate(der)
				if err != nil {
					t.Fatal(err)
				}
				want := []string{s.Domain}
				if s.S3Domain != "" {
					want = append(want, s.S3Domain)
				}
				if !slices.Equal(cert.DNSNames, want) {
					t.Errorf("%s: SANs %v, want %v", s.Name, cert.DNSNames, want)
				}
				if err := cert.VerifyHostname(s.Domain); err != nil {
					t.Errorf("%s: %v", s.Name, err)
				}
				if !cert.NotBefore.Before(now) || !cert.NotAfter.After(now.Add(365*24*time.Hour)) {
					t.Errorf("%s: validity %s to %s", s.Name, cert.NotBefore, cert.NotAfter)
				}
				// Self-signed: it verifies against itself.
				pool := x509.NewCertPool()
				pool.AddCert(cert)
				if _, err := cert.Verify(x509.VerifyOptions{DNSName: s.Domain, Roots: pool, CurrentTime: now}); err != nil {
					t.Errorf("%s: %v", s.Name, err)
				}
				var keyName string
				for _, k := range s.Secrets {
					if k.Kind == "tls-key" {
						keyName = k.Name
					}
				}
				block(t, keyName, byName[keyName], "PRIVATE KEY")
				if _, err := tls.X509KeyPair(c, byName[keyName]); err != nil {
					t.Errorf("%s: certificate and key do not pair: %v", s.Name, err)
				}
			case "rsa-private-key":
				key, err := x509.ParsePKCS8PrivateKey(block(t, sec.Name, c, "PRIVATE KEY"))
				if err != nil {
					t.Fatal(err)
				}
				priv, ok := key.(*rsa.PrivateKey)
				if !ok || priv.N.BitLen() != sessionKeyBits {
					t.Fatalf("%s: %s is not a %d-bit RSA key", s.Name, sec.Name, sessionKeyBits)
				}
				for _, p := range s.Secrets {
					if p.Kind != "rsa-public-key" {
						continue
					}
					pub, err := x509.ParsePKIXPublicKey(block(t, p.Name, byName[p.Name], "PUBLIC KEY"))
					if err != nil {
						t.Fatal(err)
					}
					if !priv.PublicKey.Equal(pub) {
						t.Errorf("%s: %s is not %s's public key", s.Name, p.Name, sec.Name)
					}
				}
			}
		}
	}
}

func TestPasswordsDiffer(t *testing.T) {
	if a, b := Password(32), Password(32); a == b {
		t.Fatal("two passwords are equal")
	}
}

// TestIrreplaceable: the credential key of host sites is marked, so that
// secrets init --force keeps it; nothing else is.
func TestIrreplaceable(t *testing.T) {
	for _, s := range embedded(t) {
		files, err := Generate(s, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var marked []string
		for _, f := range files {
			if f.Irreplaceable != "" {
				marked = append(marked, f.Name)
			}
		}
		want := []string(nil)
		if s.Kind == "host" {
			want = []string{CredentialKey}
		}
		if !slices.Equal(marked, want) {
			t.Errorf("%s: irreplaceable files %v, want %v", s.Name, marked, want)
		}
	}
}
